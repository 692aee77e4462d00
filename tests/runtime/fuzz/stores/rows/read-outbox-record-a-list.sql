-- a printed record (not read to run) that is a list
UPDATE outbox SET record = CAST('[]' AS BLOB) WHERE seq = 2;
