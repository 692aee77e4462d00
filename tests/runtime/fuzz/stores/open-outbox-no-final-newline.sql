-- an outbox row whose last line is cut off
UPDATE outbox_batches SET records = CAST(substr(CAST(records AS TEXT), 1, length(records) - 1) AS BLOB) WHERE first = 5;
