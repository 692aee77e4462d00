-- a delivered mark that is not a record number
UPDATE meta SET v = '-1' WHERE k = 'delivered';
