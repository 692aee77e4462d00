-- a delivered mark past the last record
UPDATE meta SET v = '7' WHERE k = 'delivered';
