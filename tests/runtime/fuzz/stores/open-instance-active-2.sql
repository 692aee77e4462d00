-- an instance whose active flag is 2
UPDATE customer_log SET states = CAST('{"c0":[{"j":["j",1,null,1,2,1,1767261600.0,null,2,null,null,null,null,1767261600.0]},{}]}' AS BLOB) WHERE n = 2;
