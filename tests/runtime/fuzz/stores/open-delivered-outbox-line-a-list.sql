-- a delivered outbox line (not read on open) that is a list
UPDATE meta SET v = '4' WHERE k = 'delivered';
UPDATE outbox_batches SET records = CAST('[]
[]
[]
[]
' AS BLOB) WHERE first = 1;
