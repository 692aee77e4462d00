-- a schema version that is not a number
UPDATE meta SET v = 'three' WHERE k = 'schema_version';
