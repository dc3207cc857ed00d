-- Delivery claims per endpoint, version 10. Portable SQL as in 0001.

-- A claim takes, per endpoint, its earliest due pending rows: a walk of this index from the
-- endpoint's first entry, in due order, that stops at the endpoint's limit. It replaces the
-- one walk over every endpoint's pending rows (0009), which PostgreSQL's planner could not
-- estimate for one endpoint among several and then ran as a sort of the whole backlog.
CREATE INDEX webhook_outbox_pending_by_endpoint ON webhook_outbox (endpoint_id, next_attempt_at) WHERE status = 'pending';
DROP INDEX webhook_outbox_pending;
