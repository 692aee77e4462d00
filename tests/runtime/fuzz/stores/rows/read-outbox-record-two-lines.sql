-- a printed record (not read to run) of two lines
UPDATE outbox SET record = CAST('{}
{}' AS BLOB) WHERE seq = 1;
