-- an outbox row numbering more records than it holds
UPDATE outbox_batches SET last = 9 WHERE first = 5;
