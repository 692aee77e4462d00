-- one profile that is a list
UPDATE customer_log SET profiles = CAST('{"c2":["email"]}' AS BLOB) WHERE n = 2;
