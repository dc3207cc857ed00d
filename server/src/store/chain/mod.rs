//! Chain events from the indexer: idempotent ingestion, reorg detection and rollback, and the
//! indexer's freshness state. Streams touched by chain events are derived from the stored
//! events, so a reorg can undo the orphaned ledgers' effects and apply the new branch.

use serde_json::Value;
use sqlx::{Any, Row, Transaction};

mod batch;

use crate::db::{Backend, Db};
use crate::store::outbox::{self, EventRecord, StreamEvent};
use crate::store::streams::{self, COLUMNS, Stream, StreamStatus, from_row};

/// What a chain event does to its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainKind {
    /// Creates the stream (payload: the create-stream fields).
    Created,
    /// Active -> paused.
    Paused,
    /// Paused -> active.
    Resumed,
    /// Active -> completed.
    Completed,
    /// Active or paused -> cancelled.
    Cancelled,
}

impl ChainKind {
    /// Every kind.
    pub const ALL: [Self; 5] = [
        Self::Created,
        Self::Paused,
        Self::Resumed,
        Self::Completed,
        Self::Cancelled,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "stream.created",
            Self::Paused => "stream.paused",
            Self::Resumed => "stream.resumed",
            Self::Completed => "stream.completed",
            Self::Cancelled => "stream.cancelled",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The status a status event moves to (`None` for `Created`).
    pub fn target(self) -> Option<StreamStatus> {
        match self {
            Self::Created => None,
            Self::Paused => Some(StreamStatus::Paused),
            Self::Resumed => Some(StreamStatus::Active),
            Self::Completed => Some(StreamStatus::Completed),
            Self::Cancelled => Some(StreamStatus::Cancelled),
        }
    }
}

/// A validated chain event.
#[derive(Clone, Debug)]
pub struct ChainEvent {
    /// Unique id from the indexer (duplicates are ignored).
    pub event_id: String,
    /// Ledger sequence number.
    pub ledger: i64,
    /// Hash of that ledger.
    pub ledger_hash: String,
    /// The stream it concerns.
    pub stream_id: String,
    /// What it does.
    pub kind: ChainKind,
    /// The payload as received (JSON text).
    pub payload: String,
}

/// Turns a `stream.created` payload into a stream (`None`: invalid).
pub type StreamParser = fn(stream_id: &str, payload: &Value, now_ms: i64) -> Option<Stream>;

/// A reorg that a batch caused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reorg {
    /// The first ledger whose hash changed; it and every later ledger were rolled back.
    pub from_ledger: i64,
    /// Chain events removed with the orphaned ledgers.
    pub rolled_back_events: u64,
    /// Streams re-derived.
    pub streams: usize,
    /// The hash stored for `from_ledger` before the reorg.
    pub existing_hash: String,
    /// The hash the batch brought for `from_ledger`.
    pub incoming_hash: String,
}

/// What a batch came to.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// New events stored.
    pub accepted: usize,
    /// Events already stored (ignored).
    pub duplicates: usize,
    /// Stored events that changed nothing (stream exists / transition not allowed / unknown stream).
    pub without_effect: usize,
    /// The reorg, if any.
    pub reorg: Option<Reorg>,
    /// Highest ledger now known.
    pub last_ledger: i64,
    /// Stream events to publish on the WebSocket feed after commit.
    pub published: Vec<(String, EventRecord)>,
}

async fn next_version(
    tx: &mut Transaction<'static, Any>,
    stream_id: &str,
) -> Result<i64, sqlx::Error> {
    let outbox: i64 = sqlx::query(
        "SELECT COALESCE(MAX(stream_version), 0) FROM webhook_outbox WHERE stream_id = $1",
    )
    .bind(stream_id)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    let row: Option<i64> = sqlx::query("SELECT version FROM streams WHERE id = $1")
        .bind(stream_id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    Ok(outbox.max(row.unwrap_or(0)) + 1)
}

/// Re-derives stream `id` from its remaining chain events; announces `stream.reorged` when
/// its state changed (with the stream as it was, when it no longer exists).
async fn rebuild(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    parse: StreamParser,
    now_ms: i64,
) -> Result<Option<EventRecord>, sqlx::Error> {
    let old = sqlx::query(&format!("SELECT {COLUMNS} FROM streams WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()?;
    let events = sqlx::query(
        "SELECT event_type, payload FROM chain_events WHERE stream_id = $1 ORDER BY ledger, seq",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let mut state: Option<Stream> = None;
    for row in &events {
        let kind = ChainKind::parse(&row.try_get::<String, _>("event_type")?);
        let payload: String = row.try_get("payload")?;
        match (kind, state.as_mut()) {
            (Some(ChainKind::Created), None) => {
                let value: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
                state = parse(id, &value, old.as_ref().map_or(now_ms, |s| s.created_ms));
            }
            (Some(kind), Some(stream)) => {
                if let Some(to) = kind.target()
                    && stream.status.allowed_next().contains(&to)
                {
                    stream.status = to;
                }
            }
            _ => {}
        }
    }
    let version = next_version(tx, id).await?;
    let announce = match (&old, &state) {
        (None, None) => return Ok(None),
        (Some(old), None) => {
            sqlx::query("DELETE FROM streams WHERE id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            old.clone()
        }
        (Some(old), Some(new)) if old.status == new.status => return Ok(None),
        (Some(_), Some(new)) => {
            sqlx::query(
                "UPDATE streams SET status = $1, updated_at = $2, version = $3 WHERE id = $4",
            )
            .bind(new.status.as_str())
            .bind(now_ms)
            .bind(version)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            let mut now = new.clone();
            now.updated_at = crate::util::rfc3339_from_millis(now_ms);
            now
        }
        (None, Some(new)) => {
            streams::insert_in(tx, new, version).await?;
            new.clone()
        }
    };
    let event = StreamEvent {
        event_type: "stream.reorged",
        stream: &announce,
        version,
        at_ms: now_ms,
    };
    outbox::enqueue(tx, &event).await.map(Some)
}

/// Ingests a batch in one transaction: detects a reorg (a known ledger with another hash),
/// rolls back the orphaned ledgers and re-derives their streams, then applies the new
/// events in ledger order, skipping known event ids. Batches are serialized.
///
/// Without a reorg the number of round trips does not depend on the batch's size: each
/// step reads or writes the whole batch at once (`IN` lists, multi-row `INSERT`s, one
/// `UPDATE ... FROM (VALUES ...)`), and the streams' changes are worked out in memory, in
/// ledger order, from the rows read (locked on PostgreSQL, so a concurrent API change
/// waits). A reorg re-derives each affected stream on its own, as before.
pub async fn ingest(
    db: &Db,
    events: &[ChainEvent],
    parse: StreamParser,
    now_ms: i64,
    stall_threshold_ms: i64,
) -> Result<BatchOutcome, sqlx::Error> {
    let _turn = db.write_turn().await;
    let mut tx = db.pool.begin().await?;
    if db.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7263540012)")
            .execute(&mut *tx)
            .await?;
    }
    // A write first: SQLite takes its write lock now, so batches never interleave.
    let previous_batch: i64 =
        sqlx::query("UPDATE indexer_state SET id = id WHERE id = 'main' RETURNING last_batch_at")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
    let mut outcome = BatchOutcome::default();
    let mut known = batch::known_ledgers(&mut tx, events).await?;
    let mut reorg_from: Option<i64> = None;
    let mut fork_hashes = (String::new(), String::new());
    for event in events {
        if let Some(existing) = known
            .get(&event.ledger)
            .filter(|hash| **hash != event.ledger_hash)
            && reorg_from.is_none_or(|from| event.ledger < from)
        {
            reorg_from = Some(event.ledger);
            fork_hashes = (existing.clone(), event.ledger_hash.clone());
        }
    }
    if let Some(from) = reorg_from {
        let affected: Vec<String> =
            sqlx::query("SELECT DISTINCT stream_id FROM chain_events WHERE ledger >= $1")
                .bind(from)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
        let rolled_back = sqlx::query("DELETE FROM chain_events WHERE ledger >= $1")
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM chain_ledgers WHERE ledger >= $1")
            .bind(from)
            .execute(&mut *tx)
            .await?;
        known.retain(|ledger, _| *ledger < from);
        for stream_id in &affected {
            if let Some(record) = rebuild(&mut tx, stream_id, parse, now_ms).await? {
                outcome.published.push((stream_id.clone(), record));
            }
        }
        outcome.reorg = Some(Reorg {
            from_ledger: from,
            rolled_back_events: rolled_back,
            streams: affected.len(),
            existing_hash: fork_hashes.0.clone(),
            incoming_hash: fork_hashes.1.clone(),
        });
    }
    let mut ordered: Vec<&ChainEvent> = events.iter().collect();
    ordered.sort_by_key(|e| e.ledger);
    let stored = batch::stored_event_ids(&mut tx, events).await?;
    let mut seen = std::collections::HashSet::new();
    let fresh: Vec<&ChainEvent> = ordered
        .into_iter()
        .filter(|event| !stored.contains(&event.event_id) && seen.insert(&event.event_id))
        .collect();
    outcome.duplicates = events.len() - fresh.len();
    outcome.accepted = fresh.len();
    let applied = batch::apply(&mut tx, &fresh, parse, now_ms).await?;
    batch::store_events(&mut tx, &fresh, &known, now_ms).await?;
    outcome.without_effect = fresh.len() - applied.len();
    outcome.published.extend(applied);
    outcome.last_ledger = sqlx::query("SELECT COALESCE(MAX(ledger), 0) FROM chain_ledgers")
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    // A gap longer than the threshold since the previous batch was a stall, even if nobody
    // looked at /health meanwhile: latch it.
    let stalled = previous_batch > 0 && now_ms - previous_batch > stall_threshold_ms;
    sqlx::query(
        "UPDATE indexer_state SET last_batch_at = $1, last_ledger = $2, \
         stall_latched = CASE WHEN $3 = 1 THEN 1 ELSE stall_latched END, \
         reorg_detected = CASE WHEN $4 = 1 THEN 1 ELSE reorg_detected END, \
         last_reorg_ledger = CASE WHEN $4 = 1 THEN $5 ELSE last_reorg_ledger END, \
         last_reorg_at = CASE WHEN $4 = 1 THEN $1 ELSE last_reorg_at END WHERE id = 'main'",
    )
    .bind(now_ms)
    .bind(outcome.last_ledger)
    .bind(i64::from(stalled))
    .bind(i64::from(outcome.reorg.is_some()))
    .bind(reorg_from.unwrap_or(0))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// The indexer's stored state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexerState {
    /// When the last batch arrived (0: never), Unix ms.
    pub last_batch_at: i64,
    /// Highest known ledger.
    pub last_ledger: i64,
    /// A reorg was detected and not cleared.
    pub reorg_detected: bool,
    /// Where the last reorg started.
    pub last_reorg_ledger: i64,
    /// A stall was seen and not cleared.
    pub stall_latched: bool,
}

/// Reads the state.
pub async fn state(db: &Db) -> Result<IndexerState, sqlx::Error> {
    let row = sqlx::query(
        "SELECT last_batch_at, last_ledger, reorg_detected, last_reorg_ledger, stall_latched FROM indexer_state WHERE id = 'main'",
    )
    .fetch_one(&db.pool)
    .await?;
    Ok(IndexerState {
        last_batch_at: row.try_get(0)?,
        last_ledger: row.try_get(1)?,
        reorg_detected: row.try_get::<i64, _>(2)? != 0,
        last_reorg_ledger: row.try_get(3)?,
        stall_latched: row.try_get::<i64, _>(4)? != 0,
    })
}

/// Latches (`true`) or clears the stall flag.
pub async fn set_stall_latched(db: &Db, latched: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE indexer_state SET stall_latched = $1 WHERE id = 'main'")
        .bind(i64::from(latched))
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// Clears the reorg flag.
pub async fn clear_reorg(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE indexer_state SET reorg_detected = 0 WHERE id = 'main'")
        .execute(&db.pool)
        .await
        .map(|_| ())
}
