-- a clock that is infinite
UPDATE meta SET v = 'inf' WHERE k = 'clock';
