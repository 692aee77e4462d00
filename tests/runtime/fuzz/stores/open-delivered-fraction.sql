-- a delivered mark that is not a whole number
UPDATE meta SET v = '2.5' WHERE k = 'delivered';
