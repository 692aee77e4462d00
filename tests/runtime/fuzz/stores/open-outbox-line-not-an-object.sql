-- an outbox line that is not an action record
UPDATE outbox_batches SET last = 5, records = CAST('[1]
' AS BLOB) WHERE first = 5;
