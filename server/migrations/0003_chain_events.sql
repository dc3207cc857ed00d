-- Chain-event ingestion, version 3. Portable SQL as in 0001.

-- Every ingested chain event; streams created or changed by them are derived from these rows
-- (a reorg deletes the orphaned ones and re-derives the streams they touched).
CREATE TABLE chain_events (
    event_id TEXT PRIMARY KEY,
    ledger BIGINT NOT NULL,
    ledger_hash TEXT NOT NULL,
    seq BIGINT NOT NULL,
    stream_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    ingested_at BIGINT NOT NULL
);

CREATE INDEX chain_events_by_ledger ON chain_events (ledger);
CREATE INDEX chain_events_by_stream ON chain_events (stream_id, ledger, seq);

-- The hash each ingested ledger had: a different hash for a known ledger is a reorg.
CREATE TABLE chain_ledgers (
    ledger BIGINT PRIMARY KEY,
    ledger_hash TEXT NOT NULL,
    seen_at BIGINT NOT NULL
);

-- One row: freshness and the latched flags (0 / 1).
CREATE TABLE indexer_state (
    id TEXT PRIMARY KEY,
    last_batch_at BIGINT NOT NULL,
    last_ledger BIGINT NOT NULL,
    reorg_detected BIGINT NOT NULL,
    last_reorg_ledger BIGINT NOT NULL,
    last_reorg_at BIGINT NOT NULL,
    stall_latched BIGINT NOT NULL
);

INSERT INTO indexer_state (id, last_batch_at, last_ledger, reorg_detected, last_reorg_ledger, last_reorg_at, stall_latched)
VALUES ('main', 0, 0, 0, 0, 0, 0);
