-- Delivery at scale, version 9. Portable SQL as in 0001 (partial indexes exist on both).

-- The claim walks pending rows in due order and stops at its LIMIT: an index over pending
-- rows only, ordered by due time, so delivered and dead rows (the bulk of the table over
-- time) never enter the walk and no claim sorts the backlog.
CREATE INDEX webhook_outbox_pending ON webhook_outbox (next_attempt_at) WHERE status = 'pending';
DROP INDEX webhook_outbox_due;

-- A stream's next version looks up the highest version already announced for it.
CREATE INDEX webhook_outbox_by_stream ON webhook_outbox (stream_id, stream_version);
