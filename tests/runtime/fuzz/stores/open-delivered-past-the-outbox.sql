-- a delivered mark past the last record (new records would never be delivered)
UPDATE meta SET v = '99' WHERE k = 'delivered';
