-- a plan whose version is text
UPDATE plans SET version = 'one';
