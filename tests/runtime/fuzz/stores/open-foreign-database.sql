-- a database of something else altogether
DROP TABLE meta; DROP TABLE customer_log; DROP TABLE plans; DROP TABLE seen_batches;
DROP TABLE outbox_batches; DROP TABLE transition_batches;
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO users (name) VALUES ('Ada');
