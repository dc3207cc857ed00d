//! The transactional outbox of outbound webhooks: rows written with the stream change that
//! caused them, claimed by delivery workers under a lease, and every attempt recorded.

//!
//! Writing events is here; [`queue`] is the workers' side (claim, settle), [`admin`] the
//! admin API's read model and [`feed`] the WebSocket feed's query.

pub mod admin;
pub mod feed;
pub mod queue;

use serde_json::json;
use sqlx::{Any, Row, Transaction};

use crate::db::Backend;
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
    enqueue_many(tx, core::slice::from_ref(event))
        .await?
        .into_iter()
        .next()
        .ok_or(sqlx::Error::RowNotFound)
}

/// Rows per multi-row `INSERT`: well under both engines' placeholder limits.
const ROWS_PER_INSERT: usize = 500;

/// [`enqueue`] for many events (in order) in three round trips whatever their number: the
/// enabled endpoints, the feed rows, the outbox rows (split into statements of
/// [`ROWS_PER_INSERT`] rows).
pub async fn enqueue_many(
    tx: &mut Transaction<'static, Any>,
    events: &[StreamEvent<'_>],
) -> Result<Vec<EventRecord>, sqlx::Error> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let endpoints: Vec<String> =
        sqlx::query("SELECT id FROM webhook_endpoints WHERE status = 'enabled' ORDER BY id")
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
    let records: Vec<EventRecord> = events
        .iter()
        .map(|event| {
            let id = format!("evt_{}", random_hex(12));
            let payload = json!({
                "id": id,
                "event": event.event_type,
                "createdAt": rfc3339_from_millis(event.at_ms),
                "data": event.stream,
            })
            .to_string();
            EventRecord {
                id,
                payload,
                stream_version: event.version,
            }
        })
        .collect();
    // Stamped by the database's clock: instances tailing the feed compare these times.
    let now = Backend::of(tx).now_millis_sql();
    let pairs: Vec<(&StreamEvent<'_>, &EventRecord)> = events.iter().zip(&records).collect();
    for chunk in pairs.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = i * 4;
                format!("(${}, ${}, ${}, ${}, {now})", n + 1, n + 2, n + 3, n + 4)
            })
            .collect();
        let sql = format!(
            "INSERT INTO stream_feed (event_id, stream_id, stream_version, payload, created_at) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (event, record) in chunk {
            query = query
                .bind(record.id.as_str())
                .bind(event.stream.id.as_str())
                .bind(event.version)
                .bind(record.payload.as_str());
        }
        query.execute(&mut **tx).await?;
    }
    let rows: Vec<(&StreamEvent<'_>, &EventRecord, &String)> = pairs
        .iter()
        .flat_map(|(event, record)| endpoints.iter().map(move |e| (*event, *record, e)))
        .collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = i * 8;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, 'pending', 0, ${h}, 0, ${h}, ${h})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6,
                    n + 7,
                    h = n + 8
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO webhook_outbox (id, endpoint_id, event_id, event_type, stream_id, stream_version, payload, status, attempts, next_attempt_at, locked_until, created_at, updated_at) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (event, record, endpoint) in chunk {
            query = query
                .bind(fluxora_webhooks_facade::new_delivery_id())
                .bind(endpoint.as_str())
                .bind(record.id.as_str())
                .bind(event.event_type)
                .bind(event.stream.id.as_str())
                .bind(event.version)
                .bind(record.payload.as_str())
                .bind(event.at_ms);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(records)
}

pub use admin::{AttemptRecord, Delivery, DeliveryFilter, Replay, get, list, replay};
pub use feed::{FeedHead, feed_heads_since, feed_payloads};
pub use queue::{
    Attempt, AttemptResult, Claimed, ENDPOINTS_PER_CLAIM, Settled, claim, maintain,
    release_all_leases, settle,
};
