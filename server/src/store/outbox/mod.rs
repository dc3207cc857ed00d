//! The transactional outbox of outbound webhooks: rows written with the stream change that
//! caused them, claimed by delivery workers under a lease, and every attempt recorded.

//!
//! The queue is here; [`admin`] is the admin API's read model of it and [`feed`] the
//! WebSocket feed's query.

pub mod admin;
pub mod feed;

use serde_json::json;
use sqlx::{Any, Row, Transaction};

use crate::db::{Backend, Db};
use crate::store::streams::Stream;
use crate::util::{random_hex, rfc3339_from_millis};

/// One stream change to announce.
#[derive(Debug)]
pub struct StreamEvent<'a> {
    /// `stream.created`, `stream.updated`, `stream.completed`, `stream.cancelled`.
    pub event_type: &'static str,
    /// The stream as it is after the change.
    pub stream: &'a Stream,
    /// The stream's version after the change (orders its deliveries).
    pub version: i64,
    /// When the change happened.
    pub at_ms: i64,
}

/// An event as announced to webhooks and the WebSocket feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// `evt_` + 24 hex digits.
    pub id: String,
    /// The JSON body: `{ id, event, createdAt, data }`.
    pub payload: String,
    /// The stream's version after this event; strictly increasing per stream (reorgs included).
    pub stream_version: i64,
}

/// Builds the event and writes it to the WebSocket feed table and one pending outbox row per
/// enabled endpoint, inside `tx`.
pub async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    event: &StreamEvent<'_>,
) -> Result<EventRecord, sqlx::Error> {
    let endpoints: Vec<String> =
        sqlx::query("SELECT id FROM webhook_endpoints WHERE status = 'enabled' ORDER BY id")
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
    let event_id = format!("evt_{}", random_hex(12));
    let payload = json!({
        "id": event_id,
        "event": event.event_type,
        "createdAt": rfc3339_from_millis(event.at_ms),
        "data": event.stream,
    })
    .to_string();
    // Stamped by the database's clock: instances tailing the feed compare these times.
    let insert_feed = format!(
        "INSERT INTO stream_feed (event_id, stream_id, stream_version, payload, created_at) VALUES ($1, $2, $3, $4, {})",
        Backend::of(tx).now_millis_sql()
    );
    sqlx::query(&insert_feed)
        .bind(event_id.as_str())
        .bind(event.stream.id.as_str())
        .bind(event.version)
        .bind(payload.as_str())
        .execute(&mut **tx)
        .await?;
    for endpoint in &endpoints {
        sqlx::query(
            "INSERT INTO webhook_outbox (id, endpoint_id, event_id, event_type, stream_id, stream_version, payload, status, attempts, next_attempt_at, locked_until, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, 0, $8, $8)",
        )
        .bind(fluxora_webhooks_facade::new_delivery_id())
        .bind(endpoint.as_str())
        .bind(event_id.as_str())
        .bind(event.event_type)
        .bind(event.stream.id.as_str())
        .bind(event.version)
        .bind(payload.as_str())
        .bind(event.at_ms)
        .execute(&mut **tx)
        .await?;
    }
    Ok(EventRecord {
        id: event_id,
        payload,
        stream_version: event.version,
    })
}

/// A row claimed for one attempt.
#[derive(Clone, Debug)]
pub struct Claimed {
    /// The delivery id.
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event name.
    pub event_type: String,
    /// The exact body to send.
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// Claims up to `limit` due rows for `owner` until `lease_until_ms`.
///
/// A row is due when pending, its next attempt time has come, no live lease holds it, its
/// endpoint is enabled, and no earlier version of its stream is still pending for the same
/// endpoint (per-stream order). On PostgreSQL rows locked by another instance's claim are
/// skipped (`FOR UPDATE SKIP LOCKED`), so instances never claim the same row at once.
pub async fn claim(
    db: &Db,
    owner: &str,
    now_ms: i64,
    lease_until_ms: i64,
    limit: u32,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let lock = match db.backend {
        Backend::Postgres => " FOR UPDATE OF o SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE webhook_outbox SET locked_until = $1, lock_owner = $2 WHERE id IN (\
            SELECT o.id FROM webhook_outbox o \
            WHERE o.status = 'pending' AND o.next_attempt_at <= $3 AND o.locked_until <= $3 \
            AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = o.endpoint_id AND e.status = 'enabled') \
            AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.endpoint_id = o.endpoint_id \
                AND p.stream_id = o.stream_id AND p.status = 'pending' AND p.stream_version < o.stream_version) \
            ORDER BY o.next_attempt_at, o.created_at, o.id LIMIT {limit}{lock}) \
         AND status = 'pending' \
         RETURNING id, endpoint_id, event_type, payload, attempts"
    );
    let rows = sqlx::query(&sql)
        .bind(lease_until_ms)
        .bind(owner)
        .bind(now_ms)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Claimed {
                id: row.try_get("id")?,
                endpoint_id: row.try_get("endpoint_id")?,
                event_type: row.try_get("event_type")?,
                payload: row.try_get("payload")?,
                attempts: row.try_get("attempts")?,
            })
        })
        .collect()
}

/// Drops every lease (SQLite at start: a single instance, so any lease is a dead one's).
pub async fn release_all_leases(db: &Db) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE webhook_outbox SET locked_until = 0, lock_owner = NULL WHERE status = 'pending' AND locked_until > 0",
    )
    .execute(&db.pool)
    .await?
    .rows_affected())
}

/// Gives a claimed row back without an attempt, due again at `next_attempt_ms`.
pub async fn release(db: &Db, id: &str, next_attempt_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_outbox SET locked_until = 0, lock_owner = NULL, next_attempt_at = $1 WHERE id = $2 AND status = 'pending'",
    )
    .bind(next_attempt_ms)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    /// Accepted (2xx, or 409 `duplicate_delivery`).
    Delivered,
    /// Failed; due again at the time given.
    Retry(i64),
    /// Failed for good, with the dead-letter reason code.
    Dead(&'static str),
}

/// One recorded attempt.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// The delivery id.
    pub id: &'a str,
    /// 1-based attempt number.
    pub number: i64,
    /// When it started.
    pub at_ms: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// HTTP status, when an answer came.
    pub status_code: Option<u16>,
    /// `delivered`, `duplicate_delivery`, `retryable_status`, `permanent_status`, `network_error`, `timeout`.
    pub outcome: &'static str,
    /// Short error class (never the URL or the payload).
    pub error: Option<&'static str>,
    /// What happens next.
    pub result: AttemptResult,
}

/// Records an attempt and moves the row on, in one transaction.
pub async fn record(db: &Db, attempt: &Attempt<'_>) -> Result<(), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let status_code = attempt.status_code.map(i64::from);
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, outcome, error, duration_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(attempt.id)
    .bind(attempt.number)
    .bind(attempt.at_ms)
    .bind(status_code)
    .bind(attempt.outcome)
    .bind(attempt.error)
    .bind(attempt.duration_ms)
    .execute(&mut *tx)
    .await?;
    let now = attempt.at_ms + attempt.duration_ms;
    let (status, next, dead_reason, delivered_at) = match &attempt.result {
        AttemptResult::Delivered => ("delivered", now, None, Some(now)),
        AttemptResult::Retry(at) => ("pending", *at, None, None),
        AttemptResult::Dead(reason) => ("dead", now, Some(*reason), None),
    };
    sqlx::query(
        "UPDATE webhook_outbox SET status = $1, attempts = $2, next_attempt_at = $3, locked_until = 0, lock_owner = NULL, \
         last_status_code = $4, last_error = $5, dead_reason = $6, delivered_at = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(status)
    .bind(attempt.number)
    .bind(next)
    .bind(status_code)
    .bind(attempt.error.or(Some(attempt.outcome)).filter(|_| attempt.result != AttemptResult::Delivered))
    .bind(dead_reason)
    .bind(delivered_at)
    .bind(now)
    .bind(attempt.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

pub use admin::{AttemptRecord, Delivery, DeliveryFilter, Replay, get, list, replay};
pub use feed::{FeedRow, feed_since};
