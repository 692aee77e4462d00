-- transitions that are not rows of 8
UPDATE transition_batches SET rows = CAST('[["j",1]]' AS BLOB) WHERE n = 2;
