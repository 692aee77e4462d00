-- a customer whose instances are a list
UPDATE customer_log SET states = CAST('{"c0":[[],{}]}' AS BLOB) WHERE n = 2;
