-- the one-row-per-item layout, with an outbox record spread over two lines
DROP TABLE customer_log; DROP TABLE plans; DROP TABLE seen_batches; DROP TABLE outbox_batches;
DROP TABLE transition_batches;
CREATE TABLE outbox (seq INTEGER PRIMARY KEY, record BLOB NOT NULL);
INSERT INTO outbox VALUES (1, CAST('{"kind":
"enter"}' AS BLOB));
