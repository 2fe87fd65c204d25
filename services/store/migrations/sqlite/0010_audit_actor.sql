-- Trust: the audit log names the proven holder that read requester
-- identity (an operator's certificate for an unmask), beside the unit it
-- acted for. Rows from before carry ''.
ALTER TABLE audit_log ADD COLUMN actor TEXT NOT NULL DEFAULT '';
