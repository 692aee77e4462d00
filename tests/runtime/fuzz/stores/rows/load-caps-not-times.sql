-- cap counts that are not lists of send times
UPDATE customers SET state = CAST('[{},{"j|push":"often"}]' AS BLOB) WHERE id = 'c0';
