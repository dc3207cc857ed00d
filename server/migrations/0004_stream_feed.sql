-- The WebSocket feed across instances, version 4. Every stream event is also written here in
-- the transaction of its change; each instance tails the table (PostgreSQL) and fans the
-- events out to its own WebSocket clients. Rows are purged after an hour.
CREATE TABLE stream_feed (
    event_id TEXT PRIMARY KEY,
    stream_id TEXT NOT NULL,
    stream_version BIGINT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX stream_feed_by_time ON stream_feed (created_at, event_id);
