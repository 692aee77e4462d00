-- a delivered outbox line (read on open to convert the store) that is a list
UPDATE meta SET v = '4' WHERE k = 'delivered';
UPDATE outbox_batches SET records = CAST('[]
[]
[]
[]
' AS BLOB) WHERE first = 1;
