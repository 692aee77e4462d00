-- A valid journeydsl store in the current layout of runtime/store_sqlite.py (schema version 3): three customers
-- (c0 ended, its state in 13 slots as written before `since` existed; c1 and c2 waiting on timers), four seen
-- ids, records 1-6 of which `run` printed 1-3 and a worker delivered 4, two commits of transitions, one of
-- events. Every other .sql file here is run on top of this one and damages one thing in it.
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE customers (id TEXT PRIMARY KEY, state BLOB NOT NULL, profile BLOB NOT NULL, due REAL);
CREATE INDEX customers_due ON customers (due, id) WHERE due IS NOT NULL;
CREATE TABLE seen (id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX seen_at ON seen (at);
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY, key TEXT, record BLOB NOT NULL, delivered INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, not_before REAL, claimed_until REAL, error TEXT);
CREATE INDEX outbox_undelivered ON outbox (seq) WHERE delivered = 0;
CREATE TABLE dead_deliveries (
  seq INTEGER PRIMARY KEY, record BLOB NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE plans (journey TEXT NOT NULL, version INTEGER NOT NULL, plan BLOB NOT NULL,
  PRIMARY KEY (journey, version));
CREATE TABLE transition_batches (n INTEGER PRIMARY KEY, rows BLOB NOT NULL);
CREATE TABLE event_batches (n INTEGER PRIMARY KEY, events BLOB NOT NULL);

INSERT INTO meta VALUES ('schema_version', '3'), ('delivered', '3'), ('clock', '1767348000.0');
INSERT INTO customers VALUES
  ('c0', CAST('[{"j":["j",1,null,1,0,1,1767261600.0,null,3,null,null,null,null]},{"j|push":[1767261600.0]}]' AS BLOB),
   CAST('{"email":"c0@x"}' AS BLOB), NULL),
  ('c1', CAST('[{"j":["j",1,null,1,1,1,1767261600.0,1767434400.0,2,{"id":"e1","type":"start","at":1767261600.0},"a",{"copy":"a"},["signed"],1767261600.0]},{}]' AS BLOB),
   CAST('{"email":"c1@x","consent_email":true}' AS BLOB), 1767434400.0),
  ('c2', CAST('[{"j|k9":["j",1,"k9",1,1,1,1767261600,1767434400,2,null,null,null,null,1767261600]},{}]' AS BLOB),
   CAST('{}' AS BLOB), 1767434400.0);
INSERT INTO plans VALUES ('j', 1, CAST('{"journey":"j","version":1,"steps":[]}' AS BLOB));
INSERT INTO seen VALUES ('e0', 1767261600.0), ('e1', 1767261600.0), ('e2', 1767261600.0), ('e3', 1767348000.0);
INSERT INTO outbox (seq, key, record, delivered) VALUES
  (1, 'c0/j/1:hello:0', CAST('{"kind":"enter","journey":"j","customer_id":"c0","key":"c0/j/1:hello:0"}' AS BLOB), 0),
  (2, 'c0/j/1:hello:1', CAST('{"kind":"send","journey":"j","customer_id":"c0","key":"c0/j/1:hello:1","channel":"push","status":"sent"}' AS BLOB), 0),
  (3, 'c1/j/1:hello:0', CAST('{"kind":"enter","journey":"j","customer_id":"c1","key":"c1/j/1:hello:0"}' AS BLOB), 0),
  (4, 'c1/j/1:hello:1', CAST('{"kind":"send","journey":"j","customer_id":"c1","key":"c1/j/1:hello:1","channel":"push","status":"sent"}' AS BLOB), 1),
  (5, 'c0/j/1:fin:2', CAST('{"kind":"end","journey":"j","customer_id":"c0","key":"c0/j/1:fin:2","outcome":"ok"}' AS BLOB), 0),
  (6, 'c2/j/k9/1:hello:0', CAST('{"kind":"enter","journey":"j","customer_id":"c2","key":"c2/j/k9/1:hello:0"}' AS BLOB), 0);
INSERT INTO transition_batches VALUES
  (1, CAST('[["j",1,"c0","c0/j/1",null,"hello",1767261600.0,"start"],["j",1,"c0","c0/j/1","hello","waiting",1767261600.0,null]]' AS BLOB)),
  (2, CAST('[["j",1,"c0","c0/j/1","waiting","fin",1767348000,"done"]]' AS BLOB));
INSERT INTO event_batches VALUES (1, CAST('{"id":"e0","type":"start","customer_id":"c0","at":"2026-01-01T10:00:00Z"}
{"id":"e3","type":"done","customer_id":"c0","at":"2026-01-02T10:00:00Z"}
' AS BLOB));
