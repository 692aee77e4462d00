-- outbox rows that skip numbers 5 and 6
UPDATE outbox_batches SET first = 7, last = 8 WHERE first = 5;
