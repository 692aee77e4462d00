-- a pending timer that is text (the timer heap compares timers with numbers)
UPDATE customer_log SET states = CAST('{"c0":[{"j":["j",1,null,1,1,1,1767261600.0,"soon",2,null,null,null,null,1767261600.0]},{}]}' AS BLOB) WHERE n = 2;
