-- an outbox row whose records are an SQL integer
UPDATE outbox_batches SET records = 7 WHERE first = 5;
