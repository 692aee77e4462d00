-- an instance whose current event is a list
UPDATE customer_log SET states = CAST('{"c0":[{"j":["j",1,null,1,1,1,1767261600.0,null,2,[1],null,null,null,1767261600.0]},{}]}' AS BLOB) WHERE n = 2;
