-- our tables but no meta: not a store this version wrote
DROP TABLE meta;
