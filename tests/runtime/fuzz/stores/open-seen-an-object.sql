-- seen event ids that are an object
UPDATE seen_batches SET ids = CAST('{"e3":true}' AS BLOB) WHERE n = 2;
