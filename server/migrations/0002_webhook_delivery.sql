-- Outbound webhook delivery, version 2. Portable SQL as in 0001 (TEXT and BIGINT only; times
-- in Unix milliseconds).

-- Every stream change bumps its version; outbox rows carry it, so deliveries of one stream to
-- one endpoint go out in version order.
ALTER TABLE streams ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Receivers of outbound webhooks. `secret` signs every attempt (the sender needs it in clear).
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    description TEXT,
    secret TEXT NOT NULL,
    secret_rotated_at BIGINT,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The transactional outbox: one row per (event, enabled endpoint), written in the transaction
-- of the stream change. `id` is the delivery id (stable across attempts). status: pending,
-- delivered, dead. A claimed row carries a lease (`locked_until`); a crashed worker's lease
-- runs out and the row is due again (at least once).
CREATE TABLE webhook_outbox (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    stream_version BIGINT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    lock_owner TEXT,
    last_status_code BIGINT,
    last_error TEXT,
    dead_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    delivered_at BIGINT
);

CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt_at);
CREATE INDEX webhook_outbox_order ON webhook_outbox (endpoint_id, stream_id, status, stream_version);
CREATE INDEX webhook_outbox_by_creation ON webhook_outbox (created_at, id);

-- Every attempt, as recorded by the worker that made it.
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    attempted_at BIGINT NOT NULL,
    status_code BIGINT,
    outcome TEXT NOT NULL,
    error TEXT,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, attempt, attempted_at)
);
