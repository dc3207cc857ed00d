-- The audit trail of admin actions: who (a key's non-secret fingerprint), what, on what, when.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    details TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at, id);
