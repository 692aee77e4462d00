-- a customer_log row whose states are a JSON list, not {customer: [instances, caps]}
UPDATE customer_log SET states = CAST('[["c0", {}]]' AS BLOB) WHERE n = 2;
