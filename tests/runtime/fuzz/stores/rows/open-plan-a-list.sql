-- a plan that is not an object
UPDATE plans SET plan = CAST('[]' AS BLOB);
