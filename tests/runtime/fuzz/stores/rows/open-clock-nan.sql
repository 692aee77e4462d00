-- a clock that is not a time
UPDATE meta SET v = 'nan' WHERE k = 'clock';
