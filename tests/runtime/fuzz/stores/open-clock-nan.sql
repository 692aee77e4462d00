-- a clock that is not a number
UPDATE meta SET v = 'nan' WHERE k = 'clock';
