-- a plan that is a list
UPDATE plans SET plan = CAST('[]' AS BLOB);
