-- Historical contract events (the archive an indexer loads) and the contract events replayed
-- from them in batches; one replay at a time, its progress in the singleton row 'main'.
CREATE TABLE historical_events (
    event_id TEXT PRIMARY KEY,
    contract_id TEXT NOT NULL,
    ledger BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX historical_events_by_range ON historical_events (contract_id, ledger, event_id);
CREATE TABLE contract_events (
    event_id TEXT PRIMARY KEY,
    contract_id TEXT NOT NULL,
    ledger BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    replayed_at BIGINT NOT NULL
);
CREATE INDEX contract_events_by_range ON contract_events (contract_id, ledger);
CREATE TABLE indexer_replay (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    replay_id TEXT,
    contract_id TEXT,
    from_ledger BIGINT,
    to_ledger BIGINT,
    batch_size BIGINT,
    total_rows BIGINT NOT NULL DEFAULT 0,
    rows_replayed BIGINT NOT NULL DEFAULT 0,
    rows_inserted BIGINT NOT NULL DEFAULT 0,
    cursor_ledger BIGINT,
    cursor_event TEXT,
    started_at BIGINT,
    updated_at BIGINT,
    finished_at BIGINT,
    error TEXT
);
INSERT INTO indexer_replay (id, status) VALUES ('main', 'idle');
