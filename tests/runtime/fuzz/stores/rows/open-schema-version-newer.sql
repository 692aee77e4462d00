-- a schema version this journeydsl does not know (written by a newer one)
UPDATE meta SET v = '99' WHERE k = 'schema_version';
