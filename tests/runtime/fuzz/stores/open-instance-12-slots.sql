-- an instance of 12 slots (state.py has 14; 13 is read as written before `since`)
UPDATE customer_log SET states = CAST('{"c0":[{"j":["j",1,null,1,0,3,1767261600.0,null,3,null,null,null]},{}]}' AS BLOB) WHERE n = 2;
