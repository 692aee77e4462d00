-- a customer state that is not JSON
UPDATE customers SET state = CAST('[{' AS BLOB) WHERE id = 'c1';
