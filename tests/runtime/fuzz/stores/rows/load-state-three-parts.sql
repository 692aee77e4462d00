-- a customer state of three parts
UPDATE customers SET state = CAST('[{},{},{}]' AS BLOB) WHERE id = 'c1';
