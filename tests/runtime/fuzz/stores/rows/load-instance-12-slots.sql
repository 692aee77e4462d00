-- an instance of 12 slots
UPDATE customers SET state = CAST('[{"j":["j",1,null,1,1,1,1767261600.0,1767434400.0,2,null,null,null]},{}]' AS BLOB) WHERE id = 'c1';
