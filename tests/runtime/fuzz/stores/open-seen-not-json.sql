-- seen event ids that are not JSON
UPDATE seen_batches SET ids = CAST('e3,e4' AS BLOB) WHERE n = 2;
