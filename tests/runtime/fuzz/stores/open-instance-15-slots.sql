-- an instance of 15 slots
UPDATE customer_log SET states = CAST('{"c0":[{"j":["j",1,null,1,0,3,1767261600.0,null,3,null,null,null,null,1767261600.0,0]},{}]}' AS BLOB) WHERE n = 2;
