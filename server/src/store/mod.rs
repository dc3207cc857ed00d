//! Data access: one module per table group, all SQL portable between SQLite and PostgreSQL.

pub mod api_keys;
pub mod audit;
pub mod chain;
pub mod endpoints;
pub mod history;
pub mod idempotency;
pub mod outbox;
pub mod replay;
pub mod streams;

/// How long delivered outbox rows and their attempts are kept: 7 days.
pub const DELIVERED_RETENTION_SECONDS: i64 = 7 * 86_400;

/// Replay rows removed per statement. Each statement is its own short transaction, so the
/// receiver's batches never wait behind one delete of millions of rows.
const PURGE_CHUNK: u64 = 5_000;

/// Deletes the rows of a replay table expired before `now_seconds`, chunk by chunk in
/// expiry order over the expiry index.
async fn purge_replay_table(
    db: &crate::db::Db,
    table: &str,
    now_seconds: i64,
) -> Result<u64, sqlx::Error> {
    // Each engine names the rows by their physical address, so the delete finds each row
    // directly instead of through the key's index first: one random index search less per
    // row, on tables of millions whose keys (delivery ids) are in no order. SQLite's rowid;
    // PostgreSQL's ctid, re-checked against the expiry in case a row was taken over since.
    // Each chunk starts at the last one's latest expiry ($2): PostgreSQL keeps the index
    // entries of deleted rows until a vacuum, and a scan from the start would walk every
    // one of the run's earlier chunks again.
    let chunk_rows = |address: &str| {
        format!(
            "SELECT {address} FROM {table} \
             WHERE expires_at_seconds >= $2 AND expires_at_seconds < $1 \
             ORDER BY expires_at_seconds LIMIT {PURGE_CHUNK}"
        )
    };
    let sql = match db.backend {
        crate::db::Backend::Sqlite => format!(
            "DELETE FROM {table} WHERE rowid IN ({}) RETURNING expires_at_seconds",
            chunk_rows("rowid")
        ),
        crate::db::Backend::Postgres => format!(
            "DELETE FROM {table} WHERE ctid = ANY(ARRAY({})) AND expires_at_seconds < $1 \
             RETURNING expires_at_seconds",
            chunk_rows("ctid")
        ),
    };
    let (mut removed, mut from) = (0, i64::MIN);
    loop {
        let expiries: Vec<i64> = {
            // On SQLite, in turn with the receiver's and the worker's writes.
            let _turn = db.write_turn().await;
            sqlx::query_scalar(&sql)
                .bind(now_seconds)
                .bind(from)
                .fetch_all(&db.pool)
                .await?
        };
        let chunk = expiries.len() as u64;
        removed += chunk;
        // Rows of this latest expiry past the chunk's limit are still ahead of it.
        from = expiries.into_iter().max().unwrap_or(from);
        if chunk < PURGE_CHUNK {
            return Ok(removed);
        }
        tokio::task::yield_now().await;
    }
}

/// Deletes replay entries expired at `replay_now_seconds` (the receiver's clock), delivered
/// outbox rows older than [`DELIVERED_RETENTION_SECONDS`], WebSocket feed rows older than an
/// hour and idempotency records older than `idempotency_ttl_ms`.
pub async fn purge_expired(
    db: &crate::db::Db,
    replay_now_seconds: i64,
    now_seconds: i64,
    idempotency_ttl_ms: i64,
) -> Result<u64, sqlx::Error> {
    let mut removed = 0;
    removed += purge_replay_table(db, "webhook_seen_deliveries", replay_now_seconds).await?;
    removed += purge_replay_table(db, "webhook_seen_signatures", replay_now_seconds).await?;
    // Delivered outbox rows (and their attempts) are kept for a week; pending rows and dead
    // letters stay until delivered, replayed or their endpoint is deleted.
    let delivered_before = now_seconds
        .saturating_sub(DELIVERED_RETENTION_SECONDS)
        .saturating_mul(1000);
    removed += sqlx::query(
        "DELETE FROM webhook_attempts WHERE delivery_id IN \
         (SELECT id FROM webhook_outbox WHERE status = 'delivered' AND delivered_at < $1)",
    )
    .bind(delivered_before)
    .execute(&db.pool)
    .await?
    .rows_affected();
    removed +=
        sqlx::query("DELETE FROM webhook_outbox WHERE status = 'delivered' AND delivered_at < $1")
            .bind(delivered_before)
            .execute(&db.pool)
            .await?
            .rows_affected();
    removed += sqlx::query("DELETE FROM stream_feed WHERE created_at < $1")
        .bind(now_seconds.saturating_sub(3600).saturating_mul(1000))
        .execute(&db.pool)
        .await?
        .rows_affected();
    removed += sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(
            now_seconds
                .saturating_mul(1000)
                .saturating_sub(idempotency_ttl_ms),
        )
        .execute(&db.pool)
        .await?
        .rows_affected();
    Ok(removed)
}
