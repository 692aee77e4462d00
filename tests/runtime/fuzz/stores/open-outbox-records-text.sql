-- an outbox row stored as TEXT, not BLOB
UPDATE outbox_batches SET records = CAST(records AS TEXT) WHERE first = 5;
