-- profiles that are a list
UPDATE customer_log SET profiles = CAST('[]' AS BLOB) WHERE n = 1;
