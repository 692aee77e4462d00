-- cap counts that are not lists of send times
UPDATE customer_log SET states = CAST('{"c0":[{},{"j|push":"often"}]}' AS BLOB) WHERE n = 2;
