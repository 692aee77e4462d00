-- an instance whose active flag is a JSON boolean
UPDATE customer_log SET states = CAST('{"c0":[{"j":["j",1,null,1,true,1,1767261600.0,null,2,null,null,null,null,1767261600.0]},{}]}' AS BLOB) WHERE n = 2;
