//! The transactional outbox of outbound webhooks: rows written with the stream change that
//! caused them, claimed by delivery workers under a lease, and every attempt recorded.

use serde::Serialize;
use serde_json::json;
use sqlx::any::AnyRow;
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

/// A delivery as answered by the admin API (without its payload).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The delivery id (`x-fluxora-delivery-id`).
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event id (the same for every endpoint).
    pub event_id: String,
    /// The event name.
    pub event_type: String,
    /// The stream.
    pub stream_id: String,
    /// The stream version the event announces.
    pub stream_version: i64,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// Next attempt, RFC 3339 (pending only).
    pub next_attempt_at: Option<String>,
    /// Status of the last answer.
    pub last_status_code: Option<i64>,
    /// Class of the last failure.
    pub last_error: Option<String>,
    /// Why it is a dead letter.
    pub dead_reason: Option<String>,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
    /// When it was delivered, RFC 3339.
    pub delivered_at: Option<String>,
}

const DELIVERY_COLUMNS: &str = "id, endpoint_id, event_id, event_type, stream_id, stream_version, status, attempts, next_attempt_at, last_status_code, last_error, dead_reason, created_at, updated_at, delivered_at";

fn delivery_from_row(row: &AnyRow) -> Result<Delivery, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let next: i64 = row.try_get("next_attempt_at")?;
    let delivered: Option<i64> = row.try_get("delivered_at")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        endpoint_id: row.try_get("endpoint_id")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        stream_id: row.try_get("stream_id")?,
        stream_version: row.try_get("stream_version")?,
        next_attempt_at: (status == "pending").then(|| rfc3339_from_millis(next)),
        status,
        attempts: row.try_get("attempts")?,
        last_status_code: row.try_get("last_status_code")?,
        last_error: outcome_class(row.try_get("last_error")?),
        dead_reason: row.try_get("dead_reason")?,
        created_at: rfc3339_from_millis(row.try_get("created_at")?),
        updated_at: rfc3339_from_millis(row.try_get("updated_at")?),
        delivered_at: delivered.map(rfc3339_from_millis),
    })
}

/// Filters of a delivery listing.
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this endpoint.
    pub endpoint_id: Option<String>,
    /// Only this stream.
    pub stream_id: Option<String>,
}

/// Up to `limit` deliveries, newest first.
pub async fn list(
    db: &Db,
    filter: &DeliveryFilter,
    limit: u32,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let mut sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE 1 = 1");
    let mut binds = Vec::new();
    for (column, value) in [
        ("status", &filter.status),
        ("endpoint_id", &filter.endpoint_id),
        ("stream_id", &filter.stream_id),
    ] {
        if let Some(value) = value {
            binds.push(value.as_str());
            sql.push_str(&format!(" AND {column} = ${}", binds.len()));
        }
    }
    sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT {limit}"));
    let mut query = sqlx::query(&sql);
    for value in binds {
        query = query.bind(value);
    }
    let rows = query.fetch_all(&db.pool).await?;
    rows.iter().map(delivery_from_row).collect()
}

/// One recorded attempt, as answered.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRecord {
    /// 1-based attempt number (restarts after a replay).
    pub attempt: i64,
    /// When it started, RFC 3339.
    pub attempted_at: String,
    /// Status of the answer, if one came.
    pub status_code: Option<i64>,
    /// What it came to.
    pub outcome: String,
    /// Failure class.
    pub error: Option<String>,
}

/// What the admin API shows of an attempt's failure: its class only. Which transport error
/// it was (refused, timed out, reset) and how long it took stay in the logs, so the API
/// cannot serve as a scanner of what the server can reach.
fn outcome_class(value: Option<String>) -> Option<String> {
    value.map(|value| match value.as_str() {
        "timeout" | "connect_error" | "request_error" => "network_error".to_owned(),
        _ => value,
    })
}

/// The delivery `id` and its attempts, oldest first.
pub async fn get(db: &Db, id: &str) -> Result<Option<(Delivery, Vec<AttemptRecord>)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(delivery) = row.as_ref().map(delivery_from_row).transpose()? else {
        return Ok(None);
    };
    let attempts = sqlx::query(
        "SELECT attempt, attempted_at, status_code, outcome, error, duration_ms FROM webhook_attempts \
         WHERE delivery_id = $1 ORDER BY attempted_at, attempt",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|row| {
        Ok(AttemptRecord {
            attempt: row.try_get("attempt")?,
            attempted_at: rfc3339_from_millis(row.try_get("attempted_at")?),
            status_code: row.try_get("status_code")?,
            outcome: outcome_class(Some(row.try_get("outcome")?)).unwrap_or_default(),
            error: outcome_class(row.try_get("error")?),
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some((delivery, attempts)))
}

/// What replaying a dead letter came to.
#[derive(Debug)]
pub enum Replay {
    /// Pending again, due now, with a fresh attempt budget.
    Queued(Box<Delivery>),
    /// No such delivery.
    NotFound,
    /// Not a dead letter (its status).
    NotDead(String),
}

/// Puts dead letter `id` back in the outbox.
pub async fn replay(db: &Db, id: &str, now_ms: i64) -> Result<Replay, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE webhook_outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_until = 0, \
         lock_owner = NULL, dead_reason = NULL, updated_at = $1 WHERE id = $2 AND status = 'dead'",
    )
    .bind(now_ms)
    .bind(id)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(match get(db, id).await? {
        None => Replay::NotFound,
        Some((delivery, _)) if changed == 1 => Replay::Queued(Box::new(delivery)),
        Some((delivery, _)) => Replay::NotDead(delivery.status),
    })
}

/// Feed events written since `since_ms` (inclusive), in version order per stream: (event id,
/// stream id, payload, written at). Two changes of one stream commit in version order (the
/// second waits for the first's row lock), so a poll that sees a version sees its
/// predecessors too.
pub async fn feed_since(db: &Db, since_ms: i64) -> Result<Vec<FeedRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT event_id, stream_id, payload, stream_version, created_at FROM stream_feed \
         WHERE created_at >= $1 ORDER BY stream_id, stream_version",
    )
    .bind(since_ms)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(FeedRow {
                stream_id: row.try_get(1)?,
                created_at: row.try_get(4)?,
                event: EventRecord {
                    id: row.try_get(0)?,
                    payload: row.try_get(2)?,
                    stream_version: row.try_get(3)?,
                },
            })
        })
        .collect()
}

/// One row of the WebSocket feed table.
#[derive(Clone, Debug)]
pub struct FeedRow {
    /// The stream.
    pub stream_id: String,
    /// When the change committed (Unix milliseconds).
    pub created_at: i64,
    /// The event.
    pub event: EventRecord,
}
