-- an outbox row whose last record comes before its first
UPDATE outbox_batches SET last = 4 WHERE first = 5;
