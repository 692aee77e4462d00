-- the one-row-per-item layout, with a customer state that is [1]
DROP TABLE customer_log; DROP TABLE plans; DROP TABLE seen_batches; DROP TABLE outbox_batches;
DROP TABLE transition_batches;
CREATE TABLE customers (id TEXT PRIMARY KEY, state BLOB NOT NULL);
INSERT INTO customers VALUES ('c0', CAST('[1]' AS BLOB));
