-- a table of the layout missing
DROP TABLE outbox;
