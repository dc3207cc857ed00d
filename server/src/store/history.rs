//! Historical contract events and their batch replay into `contract_events`.
//!
//! Loading the archive and replaying are both idempotent (`ON CONFLICT DO NOTHING` on the
//! event id). A replay walks its range in key order (ledger, event id), one transaction per
//! batch: the batch's rows are copied with one `INSERT ... SELECT` and the progress row moves
//! in the same transaction, so a replay that stops anywhere resumes exactly where it was.
//! One replay runs at a time across every instance: starting one is a compare-and-set on the
//! progress row.

use serde::Serialize;
use sqlx::Row;

use crate::db::{Backend, Db};
use crate::util::rfc3339_from_millis;

/// A replay without progress for this long is taken to be dead (its instance stopped) and
/// may be resumed or replaced.
pub const STALE_AFTER_MS: i64 = 30_000;

/// One historical event to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoricalEvent {
    /// Unique id of the event.
    pub event_id: String,
    /// The contract that emitted it.
    pub contract_id: String,
    /// Its ledger.
    pub ledger: i64,
    /// Its type.
    pub event_type: String,
    /// Its payload (JSON text).
    pub payload: String,
}

/// Loads `events` into the archive; answers how many were new.
pub async fn load(db: &Db, events: &[HistoricalEvent]) -> Result<u64, sqlx::Error> {
    if events.is_empty() {
        return Ok(0);
    }
    let mut sql = String::from(
        "INSERT INTO historical_events (event_id, contract_id, ledger, event_type, payload) VALUES ",
    );
    for i in 0..events.len() {
        let n = i * 5;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${})",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5
        ));
    }
    sql.push_str(" ON CONFLICT (event_id) DO NOTHING");
    let mut query = sqlx::query(&sql);
    for event in events {
        query = query
            .bind(&event.event_id)
            .bind(&event.contract_id)
            .bind(event.ledger)
            .bind(&event.event_type)
            .bind(&event.payload);
    }
    Ok(query.execute(&db.pool).await?.rows_affected())
}

/// What a replay covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayRequest {
    /// The contract.
    pub contract_id: String,
    /// First ledger, inclusive.
    pub from_ledger: i64,
    /// Last ledger, inclusive.
    pub to_ledger: i64,
    /// Rows per batch.
    pub batch_size: i64,
}

/// The progress row, as `GET /internal/indexer/status` answers it.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// `idle`, `running`, `completed` or `failed`.
    pub status: String,
    /// The replay's id.
    pub replay_id: Option<String>,
    /// The contract.
    pub contract_id: Option<String>,
    /// First ledger.
    pub from_ledger: Option<i64>,
    /// Last ledger.
    pub to_ledger: Option<i64>,
    /// Rows per batch.
    pub batch_size: Option<i64>,
    /// Historical rows in the range when it started.
    pub total_rows: i64,
    /// Rows walked so far.
    pub rows_replayed: i64,
    /// Rows still to walk.
    pub rows_remaining: i64,
    /// Rows that were new in `contract_events` (the rest were there already).
    pub rows_inserted: i64,
    /// Rows per second so far.
    pub rows_per_second: Option<f64>,
    /// When it started (RFC 3339).
    pub started_at: Option<String>,
    /// When it is expected to finish, at the rate so far (RFC 3339).
    pub estimated_completion_at: Option<String>,
    /// When it finished (RFC 3339).
    pub finished_at: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    #[serde(skip)]
    cursor: Option<(i64, String)>,
    #[serde(skip)]
    updated_at: i64,
}

impl Progress {
    /// The request it runs, when one was started.
    pub fn request(&self) -> Option<ReplayRequest> {
        Some(ReplayRequest {
            contract_id: self.contract_id.clone()?,
            from_ledger: self.from_ledger?,
            to_ledger: self.to_ledger?,
            batch_size: self.batch_size?,
        })
    }

    /// Running, but without progress for [`STALE_AFTER_MS`].
    pub fn is_stale(&self, now_ms: i64) -> bool {
        self.status == "running" && now_ms - self.updated_at > STALE_AFTER_MS
    }
}

const PROGRESS_COLUMNS: &str = "status, replay_id, contract_id, from_ledger, to_ledger, batch_size, \
     total_rows, rows_replayed, rows_inserted, cursor_ledger, cursor_event, started_at, updated_at, \
     finished_at, error";

/// The progress row.
pub async fn progress(db: &Db) -> Result<Progress, sqlx::Error> {
    read_progress(&db.pool).await
}

async fn read_progress<'e, E>(executor: E) -> Result<Progress, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(&format!(
        "SELECT {PROGRESS_COLUMNS} FROM indexer_replay WHERE id = 'main'"
    ))
    .fetch_one(executor)
    .await?;
    let total_rows: i64 = row.try_get(6)?;
    let rows_replayed: i64 = row.try_get(7)?;
    let started_at: Option<i64> = row.try_get(11)?;
    let updated_at: Option<i64> = row.try_get(12)?;
    let finished_at: Option<i64> = row.try_get(13)?;
    let cursor_ledger: Option<i64> = row.try_get(9)?;
    let cursor_event: Option<String> = row.try_get(10)?;
    let status: String = row.try_get(0)?;
    let elapsed_ms = match (started_at, finished_at.or(updated_at)) {
        (Some(start), Some(end)) if end > start => Some(end - start),
        _ => None,
    };
    let rows_per_second = elapsed_ms
        .filter(|_| rows_replayed > 0)
        .map(|ms| rows_replayed as f64 * 1000.0 / ms as f64);
    let rows_remaining = (total_rows - rows_replayed).max(0);
    let estimated_completion_at = match (status.as_str(), rows_per_second, updated_at) {
        ("running", Some(rate), Some(now)) if rate > 0.0 => Some(rfc3339_from_millis(
            now + (rows_remaining as f64 * 1000.0 / rate) as i64,
        )),
        ("completed", _, _) => finished_at.map(rfc3339_from_millis),
        _ => None,
    };
    Ok(Progress {
        status,
        replay_id: row.try_get(1)?,
        contract_id: row.try_get(2)?,
        from_ledger: row.try_get(3)?,
        to_ledger: row.try_get(4)?,
        batch_size: row.try_get(5)?,
        total_rows,
        rows_replayed,
        rows_remaining,
        rows_inserted: row.try_get(8)?,
        rows_per_second,
        started_at: started_at.map(rfc3339_from_millis),
        estimated_completion_at,
        finished_at: finished_at.map(rfc3339_from_millis),
        error: row.try_get(14)?,
        cursor: cursor_ledger.zip(cursor_event),
        updated_at: updated_at.unwrap_or(0),
    })
}

/// Claims the progress row for a new replay unless one is running (and not stale). Counts
/// the range's rows. `Ok(false)`: another replay holds it.
pub async fn start(
    db: &Db,
    replay_id: &str,
    request: &ReplayRequest,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let total: i64 = sqlx::query(
        "SELECT COUNT(*) FROM historical_events WHERE contract_id = $1 AND ledger >= $2 AND ledger <= $3",
    )
    .bind(&request.contract_id)
    .bind(request.from_ledger)
    .bind(request.to_ledger)
    .fetch_one(&db.pool)
    .await?
    .try_get(0)?;
    let claimed = sqlx::query(
        "UPDATE indexer_replay SET status = 'running', replay_id = $1, contract_id = $2, \
         from_ledger = $3, to_ledger = $4, batch_size = $5, total_rows = $6, rows_replayed = 0, \
         rows_inserted = 0, cursor_ledger = NULL, cursor_event = NULL, started_at = $7, \
         updated_at = $7, finished_at = NULL, error = NULL \
         WHERE id = 'main' AND (status <> 'running' OR updated_at < $8)",
    )
    .bind(replay_id)
    .bind(&request.contract_id)
    .bind(request.from_ledger)
    .bind(request.to_ledger)
    .bind(request.batch_size)
    .bind(total)
    .bind(now_ms)
    .bind(now_ms - STALE_AFTER_MS)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// Takes over a stale replay (its instance stopped) under a new id, keeping its cursor.
pub async fn take_over(db: &Db, replay_id: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query(
        "UPDATE indexer_replay SET replay_id = $1, updated_at = $2 \
         WHERE id = 'main' AND status = 'running' AND updated_at < $3",
    )
    .bind(replay_id)
    .bind(now_ms)
    .bind(now_ms - STALE_AFTER_MS)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// What one batch did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A batch was copied; more may follow.
    Copied,
    /// The range is done.
    Finished,
    /// Another replay took the row: this one stops.
    Lost,
}

/// Copies the next batch of replay `replay_id` and moves its progress, in one transaction.
pub async fn step(db: &Db, replay_id: &str, now_ms: i64) -> Result<Step, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    // Write first: the transaction holds the write lock from its start (SQLite cannot
    // upgrade a read transaction once another writer committed), and a replay that lost
    // its row learns it here.
    let owned = sqlx::query(
        "UPDATE indexer_replay SET updated_at = $1 \
         WHERE id = 'main' AND replay_id = $2 AND status = 'running'",
    )
    .bind(now_ms)
    .bind(replay_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let current = read_progress(&mut *tx).await?;
    let Some(request) = current.request().filter(|_| owned == 1) else {
        tx.rollback().await?;
        return Ok(Step::Lost);
    };
    let (after_ledger, after_event) = current
        .cursor
        .clone()
        .unwrap_or((request.from_ledger - 1, String::new()));
    // Each engine's form that walks the (contract_id, ledger, event_id) index from the
    // cursor, instead of scanning the range from its start for every batch (PostgreSQL plans
    // a row-value bound as an index range; SQLite the expanded disjunction).
    let (after, up_to) = match db.backend {
        Backend::Postgres => (
            "(ledger, event_id) > ($4, $5)",
            "(ledger, event_id) <= ($6, $7)",
        ),
        Backend::Sqlite => (
            "(ledger > $4 OR (ledger = $4 AND event_id > $5))",
            "(ledger < $6 OR (ledger = $6 AND event_id <= $7))",
        ),
    };
    let in_range = format!("contract_id = $1 AND ledger >= $2 AND ledger <= $3 AND {after}");
    // The last key of this batch: the batch_size-th row after the cursor.
    let last: Option<(i64, String)> = sqlx::query(&format!(
        "SELECT ledger, event_id FROM historical_events WHERE {in_range} \
         ORDER BY ledger, event_id LIMIT 1 OFFSET {}",
        request.batch_size - 1
    ))
    .bind(&request.contract_id)
    .bind(request.from_ledger)
    .bind(request.to_ledger)
    .bind(after_ledger)
    .bind(&after_event)
    .fetch_optional(&mut *tx)
    .await?
    .map(|row| Ok::<_, sqlx::Error>((row.try_get(0)?, row.try_get(1)?)))
    .transpose()?;
    // The final batch has no upper key: everything left in the range (`$6 = $6` keeps the
    // numbering of the parameters both statements bind).
    let window = match &last {
        Some(_) => format!("{in_range} AND {up_to}"),
        None => format!("{in_range} AND $6 = $6 AND $7 = $7"),
    };
    let (end_ledger, end_event) = last.clone().unwrap_or((request.to_ledger, String::new()));
    let walked: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) FROM historical_events WHERE {window}"
    ))
    .bind(&request.contract_id)
    .bind(request.from_ledger)
    .bind(request.to_ledger)
    .bind(after_ledger)
    .bind(&after_event)
    .bind(end_ledger)
    .bind(&end_event)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    let inserted = sqlx::query(&format!(
        "INSERT INTO contract_events (event_id, contract_id, ledger, event_type, payload, replayed_at) \
         SELECT event_id, contract_id, ledger, event_type, payload, $8 FROM historical_events \
         WHERE {window} ON CONFLICT (event_id) DO NOTHING"
    ))
    .bind(&request.contract_id)
    .bind(request.from_ledger)
    .bind(request.to_ledger)
    .bind(after_ledger)
    .bind(&after_event)
    .bind(end_ledger)
    .bind(&end_event)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let finished = last.is_none();
    let moved = sqlx::query(
        "UPDATE indexer_replay SET rows_replayed = rows_replayed + $1, \
         rows_inserted = rows_inserted + $2, cursor_ledger = $3, cursor_event = $4, \
         updated_at = $5, status = CASE WHEN $6 = 1 THEN 'completed' ELSE status END, \
         finished_at = CASE WHEN $6 = 1 THEN $5 ELSE finished_at END, \
         total_rows = CASE WHEN $6 = 1 THEN rows_replayed + $1 ELSE total_rows END \
         WHERE id = 'main' AND replay_id = $7 AND status = 'running'",
    )
    .bind(walked)
    .bind(i64::try_from(inserted).unwrap_or(i64::MAX))
    .bind(end_ledger)
    .bind(&end_event)
    .bind(now_ms)
    .bind(i64::from(finished))
    .bind(replay_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if moved != 1 {
        tx.rollback().await?;
        return Ok(Step::Lost);
    }
    tx.commit().await?;
    Ok(if finished {
        Step::Finished
    } else {
        Step::Copied
    })
}

/// Marks replay `replay_id` failed with `error`.
pub async fn fail(db: &Db, replay_id: &str, error: &str, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE indexer_replay SET status = 'failed', error = $1, finished_at = $2, updated_at = $2 \
         WHERE id = 'main' AND replay_id = $3",
    )
    .bind(error)
    .bind(now_ms)
    .bind(replay_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Contract events of `contract_id` in the store (for checks and tests).
pub async fn contract_event_count(db: &Db, contract_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM contract_events WHERE contract_id = $1")
        .bind(contract_id)
        .fetch_one(&db.pool)
        .await?
        .try_get(0)
}
