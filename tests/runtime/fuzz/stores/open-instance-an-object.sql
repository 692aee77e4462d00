-- an instance that is an object
UPDATE customer_log SET states = CAST('{"c0":[{"j":{"journey":"j"}},{}]}' AS BLOB) WHERE n = 2;
