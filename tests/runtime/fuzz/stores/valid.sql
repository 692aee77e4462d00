-- A valid journeydsl store in the layout of runtime/store_sqlite.py: three customers over two commits of the
-- customer log (c0's newer state has 13 slots, as written before `since` existed), records 1-6 of which 1-3
-- are delivered, two commits of seen ids and transitions. Every other .sql file here is run on top of this one
-- and damages one thing in it (test_runtime_store_fuzz.py).
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE customer_log (
  n INTEGER PRIMARY KEY, full INTEGER NOT NULL, states BLOB NOT NULL, profiles BLOB NOT NULL);
CREATE TABLE plans (journey TEXT NOT NULL, version INTEGER NOT NULL, plan BLOB NOT NULL,
  PRIMARY KEY (journey, version));
CREATE TABLE seen_batches (n INTEGER PRIMARY KEY, ids BLOB NOT NULL);
CREATE TABLE outbox_batches (first INTEGER PRIMARY KEY, last INTEGER NOT NULL, records BLOB NOT NULL);
CREATE TABLE transition_batches (n INTEGER PRIMARY KEY, rows BLOB NOT NULL);

INSERT INTO meta VALUES ('delivered', '3'), ('clock', '1767348000.0');
INSERT INTO customer_log VALUES (1, 1,
  CAST('{"c0":[{"j":["j",1,null,1,1,1,1767261600.0,1767434400.0,2,{"id":"e0","type":"start","at":1767261600.0},null,null,null,1767261600.0]},{"j|push":[1767261600.0]}],"c1":[{"j":["j",1,null,1,1,1,1767261600.0,1767434400.0,2,{"id":"e1","type":"start","at":1767261600.0},"a",{"copy":"a"},["signed"],1767261600.0]},{}]}' AS BLOB),
  CAST('{"c0":{"email":"c0@x"},"c1":{"email":"c1@x","consent_email":true}}' AS BLOB));
INSERT INTO customer_log VALUES (2, 0,
  CAST('{"c0":[{"j":["j",1,null,1,0,3,1767261600.0,null,3,null,null,null,null]},{"j|push":[1767261600.0]}],"c2":[{"j|k9":["j",1,"k9",1,1,1,1767261600,1767434400,2,null,null,null,null,1767261600]},{}]}' AS BLOB),
  CAST('{"c2":{}}' AS BLOB));
INSERT INTO plans VALUES ('j', 1, CAST('{"journey":"j","version":1,"steps":[]}' AS BLOB));
INSERT INTO seen_batches VALUES (1, CAST('["e0","e1","e2"]' AS BLOB)), (2, CAST('["e3"]' AS BLOB));
INSERT INTO outbox_batches VALUES (1, 4, CAST('{"kind":"enter","journey":"j","customer_id":"c0","key":"c0/j/1:hello:0"}
{"kind":"send","journey":"j","customer_id":"c0","key":"c0/j/1:hello:1","channel":"push","status":"sent"}
{"kind":"enter","journey":"j","customer_id":"c1","key":"c1/j/1:hello:0"}
{"kind":"send","journey":"j","customer_id":"c1","key":"c1/j/1:hello:1","channel":"push","status":"sent"}
' AS BLOB));
INSERT INTO outbox_batches VALUES (5, 6, CAST('{"kind":"end","journey":"j","customer_id":"c0","key":"c0/j/1:fin:2","outcome":"ok"}
{"kind":"enter","journey":"j","customer_id":"c2","key":"c2/j/k9/1:hello:0"}
' AS BLOB));
INSERT INTO transition_batches VALUES
  (1, CAST('[["j",1,"c0","c0/j/1",null,"hello",1767261600.0,"start"],["j",1,"c0","c0/j/1","hello","waiting",1767261600.0,null]]' AS BLOB)),
  (2, CAST('[["j",1,"c0","c0/j/1","waiting","fin",1767348000,"done"]]' AS BLOB));
