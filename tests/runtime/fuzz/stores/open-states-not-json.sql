-- states cut short
UPDATE customer_log SET states = CAST('{"c0":[{"j":' AS BLOB) WHERE n = 2;
