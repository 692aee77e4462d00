-- a due time that is text
UPDATE customers SET due = 'soon' WHERE id = 'c2';
