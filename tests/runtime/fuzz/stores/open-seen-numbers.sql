-- seen event ids that are numbers
UPDATE seen_batches SET ids = CAST('[1,2]' AS BLOB) WHERE n = 2;
