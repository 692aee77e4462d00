-- an event of the history that is a list
UPDATE event_batches SET events = CAST('[1, 2]
' AS BLOB);
