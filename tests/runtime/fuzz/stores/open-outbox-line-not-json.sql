-- an outbox line that is not JSON
UPDATE outbox_batches SET last = 5, records = CAST('{"kind":
' AS BLOB) WHERE first = 5;
