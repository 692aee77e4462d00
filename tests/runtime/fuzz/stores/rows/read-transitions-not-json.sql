-- transitions that are not JSON
UPDATE transition_batches SET rows = CAST('[[' AS BLOB) WHERE n = 1;
