-- a table named like one of the one-row-per-item layout, with other columns
DROP TABLE customer_log;
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO customers (name) VALUES ('Ada');
