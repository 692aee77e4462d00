-- a customer whose state is an object (the older {"i": ..., "c": ...} form never went into the log)
UPDATE customer_log SET states = CAST('{"c0":{"i":{},"c":{}}}' AS BLOB) WHERE n = 2;
