-- a clock that is not a time
UPDATE meta SET v = 'soon' WHERE k = 'clock';
