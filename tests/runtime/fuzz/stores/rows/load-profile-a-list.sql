-- a profile that is a list
UPDATE customers SET profile = CAST('[]' AS BLOB) WHERE id = 'c2';
