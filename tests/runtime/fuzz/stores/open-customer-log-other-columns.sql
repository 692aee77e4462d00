-- a customer_log table with other columns
DROP TABLE customer_log;
CREATE TABLE customer_log (n INTEGER PRIMARY KEY, data BLOB);
INSERT INTO customer_log VALUES (1, CAST('{}' AS BLOB));
