-- cap counts holding a time that is text
UPDATE customer_log SET states = CAST('{"c0":[{},{"j|push":[1767261600.0,"later"]}]}' AS BLOB) WHERE n = 2;
