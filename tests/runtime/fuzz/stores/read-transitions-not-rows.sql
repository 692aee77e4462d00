-- transitions that are not rows of 8 (refused when read, by report and render --overlay)
UPDATE transition_batches SET rows = CAST('[["j",1]]' AS BLOB) WHERE n = 2;
