-- a customer state that is an object, not [instances, cap counts]
UPDATE customers SET state = CAST('{"i":{},"c":{}}' AS BLOB) WHERE id = 'c2';
