-- a profile column that holds a number, not JSON
UPDATE customers SET profile = 7 WHERE id = 'c0';
