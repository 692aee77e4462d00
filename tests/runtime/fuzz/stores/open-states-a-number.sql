-- states that are an SQL integer, not JSON
UPDATE customer_log SET states = 42 WHERE n = 2;
