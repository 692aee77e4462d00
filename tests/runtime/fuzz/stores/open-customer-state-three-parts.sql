-- [instances, caps] with a third part
UPDATE customer_log SET states = CAST('{"c0":[{},{},{}]}' AS BLOB) WHERE n = 2;
