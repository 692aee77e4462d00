-- an instance whose version is text (counted in SQL on open: named by the check of its row)
UPDATE customers SET state = CAST('[{"j":["j","1",null,1,1,1,1767261600.0,1767434400.0,2,null,null,null,null,1767261600.0]},{}]' AS BLOB) WHERE id = 'c1';
