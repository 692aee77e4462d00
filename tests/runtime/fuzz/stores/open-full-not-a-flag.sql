-- a full-copy flag that is text
UPDATE customer_log SET full = 'yes' WHERE n = 1;
