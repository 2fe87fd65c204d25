-- Trust (items 7 and 8). A request-id record keeps the fingerprint of the
-- request it answered (NULL: recorded before requests were bound). A
-- requester credential is random, kept only as its SHA-256, bound to one
-- order, expiring and revocable.
ALTER TABLE idempotency ADD COLUMN fingerprint BLOB;
CREATE TABLE requester_tokens (
    token_hash TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    revoked_us BIGINT
);
CREATE INDEX requester_tokens_order ON requester_tokens (order_id);
