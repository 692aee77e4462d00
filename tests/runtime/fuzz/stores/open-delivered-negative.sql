-- a delivered mark below zero
UPDATE meta SET v = '-1' WHERE k = 'delivered';
