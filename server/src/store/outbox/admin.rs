//! The admin API's read model of the outbox: deliveries, their attempts (outcome class
//! only), dead letters and their replay.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::Db;
use crate::util::rfc3339_from_millis;

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
