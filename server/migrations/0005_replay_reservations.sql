-- Two-phase replay: a delivery id is reserved (reservation_token set, expires_at_seconds the
-- lease's end) while the application handles it, then committed (token NULL, kept for the
-- retention) or released (row deleted). A (timestamp, signature) pair of an attempt that never
-- committed stays usable by its own delivery id only (committed = 0).
ALTER TABLE webhook_seen_deliveries ADD COLUMN reservation_token TEXT;
ALTER TABLE webhook_seen_signatures ADD COLUMN committed INTEGER NOT NULL DEFAULT 1;
