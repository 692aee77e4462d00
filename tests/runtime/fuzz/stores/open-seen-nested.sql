-- seen event ids holding a list (unhashable)
UPDATE seen_batches SET ids = CAST('["e3",["e4"]]' AS BLOB) WHERE n = 2;
