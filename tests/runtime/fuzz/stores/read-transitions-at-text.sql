-- a transition whose time is text
UPDATE transition_batches SET rows = CAST('[["j",1,"c0","c0/j/1","waiting","fin","noon","done"]]' AS BLOB) WHERE n = 2;
