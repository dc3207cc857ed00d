//! Streams: rows, status transitions, keyset pagination.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::db::{Db, is_unique_violation};
use crate::store::idempotency::{self, IdempotencyRecord};
use crate::store::outbox::{self, EventRecord, StreamEvent};
use crate::util::rfc3339_from_millis;

/// The life cycle of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamStatus {
    /// Streaming.
    Active,
    /// Temporarily stopped; may resume.
    Paused,
    /// Ran to its end (final).
    Completed,
    /// Cancelled (final).
    Cancelled,
}

impl StreamStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [Self::Active, Self::Paused, Self::Completed, Self::Cancelled];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The statuses a stream may move to from `self`.
    pub fn allowed_next(self) -> &'static [Self] {
        match self {
            Self::Active => &[Self::Paused, Self::Completed, Self::Cancelled],
            Self::Paused => &[Self::Active, Self::Cancelled],
            Self::Completed | Self::Cancelled => &[],
        }
    }

    /// The statuses from which `to` may be reached.
    pub fn allowed_previous(to: Self) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|from| from.allowed_next().contains(&to))
            .collect()
    }
}

/// A stream as stored and as answered (amounts are normalized decimal strings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stream {
    /// `str_` + 24 hex digits.
    pub id: String,
    /// Sender account id.
    pub sender: String,
    /// Recipient account id.
    pub recipient: String,
    /// Deposit, a decimal string with at most 7 fractional digits.
    pub deposit_amount: String,
    /// Rate per second, a decimal string with at most 7 fractional digits.
    pub rate_per_second: String,
    /// Start, Unix seconds.
    pub start_time: i64,
    /// End, Unix seconds, if any.
    pub end_time: Option<i64>,
    /// Current status.
    pub status: StreamStatus,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
    /// Creation time in milliseconds (ordering key; not serialized).
    #[serde(skip)]
    pub created_ms: i64,
}

/// The columns [`from_row`] reads.
pub const COLUMNS: &str = "id, sender, recipient, deposit_amount, rate_per_second, start_time, end_time, status, created_at, updated_at";

/// A stream from a row of `SELECT {COLUMNS}`.
pub fn from_row(row: &AnyRow) -> Result<Stream, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let created: i64 = row.try_get("created_at")?;
    let updated: i64 = row.try_get("updated_at")?;
    Ok(Stream {
        id: row.try_get("id")?,
        sender: row.try_get("sender")?,
        recipient: row.try_get("recipient")?,
        deposit_amount: row.try_get("deposit_amount")?,
        rate_per_second: row.try_get("rate_per_second")?,
        start_time: row.try_get("start_time")?,
        end_time: row.try_get("end_time")?,
        status: StreamStatus::parse(&status).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown stream status {status:?}").into())
        })?,
        created_at: rfc3339_from_millis(created),
        updated_at: rfc3339_from_millis(updated),
        created_ms: created,
    })
}

/// What creating a stream under an idempotency key came to.
#[derive(Debug)]
pub enum Created {
    /// Newly created, with its `stream.created` event.
    New(Box<Stream>, EventRecord),
    /// The key was used before with the same request: the first answer.
    Replayed(IdempotencyRecord),
    /// The key was used before with another request.
    KeyReused,
}

/// Inserts `stream` and its `stream.created` outbox rows; with an idempotency key, records the
/// answer in the same transaction.
pub async fn create(
    db: &Db,
    stream: &Stream,
    idempotency: Option<(&str, &str, &str)>,
) -> Result<Created, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    if let Some((principal, key, request_hash)) = idempotency {
        let body = serde_json::to_string(stream).unwrap_or_default();
        let inserted = idempotency::insert(&mut tx, principal, key, request_hash, 201, &body).await;
        match inserted {
            Ok(()) => {}
            Err(err) if is_unique_violation(&err) => {
                tx.rollback().await?;
                return Ok(match idempotency::find(db, principal, key).await? {
                    Some(record) if record.request_hash == request_hash => {
                        Created::Replayed(record)
                    }
                    // Gone meanwhile (purged): treat as reuse rather than create twice.
                    _ => Created::KeyReused,
                });
            }
            Err(err) => return Err(err),
        }
    }
    let record = insert_in(&mut tx, stream, 1).await?;
    tx.commit().await?;
    Ok(Created::New(Box::new(stream.clone()), record))
}

/// Inserts `stream` at `version` and writes its `stream.created` outbox rows, inside `tx`.
pub async fn insert_in(
    tx: &mut Transaction<'static, Any>,
    stream: &Stream,
    version: i64,
) -> Result<EventRecord, sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO streams ({COLUMNS}, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&stream.id)
    .bind(&stream.sender)
    .bind(&stream.recipient)
    .bind(&stream.deposit_amount)
    .bind(&stream.rate_per_second)
    .bind(stream.start_time)
    .bind(stream.end_time)
    .bind(stream.status.as_str())
    .bind(stream.created_ms)
    .bind(stream.created_ms)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    let event = StreamEvent {
        event_type: "stream.created",
        stream,
        version,
        at_ms: stream.created_ms,
    };
    outbox::enqueue(tx, &event).await
}

/// The stream `id`, if it exists.
pub async fn get(db: &Db, id: &str) -> Result<Option<Stream>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM streams WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Filters of a listing.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Only this status.
    pub status: Option<StreamStatus>,
    /// Only this sender.
    pub sender: Option<String>,
    /// Only this recipient.
    pub recipient: Option<String>,
}

/// Up to `limit` streams after the `(created_ms, id)` position, oldest first.
pub async fn list(
    db: &Db,
    filter: &ListFilter,
    after: Option<(i64, String)>,
    limit: u32,
) -> Result<Vec<Stream>, sqlx::Error> {
    let mut sql = format!("SELECT {COLUMNS} FROM streams WHERE 1 = 1");
    let mut texts: Vec<String> = Vec::new();
    let mut n = 0;
    let mut placeholder = || {
        n += 1;
        format!("${n}")
    };
    if let Some(status) = filter.status {
        sql.push_str(&format!(" AND status = {}", placeholder()));
        texts.push(status.as_str().to_owned());
    }
    if let Some(sender) = &filter.sender {
        sql.push_str(&format!(" AND sender = {}", placeholder()));
        texts.push(sender.clone());
    }
    if let Some(recipient) = &filter.recipient {
        sql.push_str(&format!(" AND recipient = {}", placeholder()));
        texts.push(recipient.clone());
    }
    let after_params = after.as_ref().map(|_| {
        let (a, b, c) = (placeholder(), placeholder(), placeholder());
        format!(" AND (created_at > {a} OR (created_at = {b} AND id > {c}))")
    });
    if let Some(clause) = &after_params {
        sql.push_str(clause);
    }
    sql.push_str(&format!(" ORDER BY created_at, id LIMIT {limit}"));
    let mut query = sqlx::query(&sql);
    for text in &texts {
        query = query.bind(text.as_str());
    }
    if let Some((created, id)) = &after {
        query = query.bind(*created).bind(*created).bind(id.as_str());
    }
    let rows = query.fetch_all(&db.pool).await?;
    rows.iter().map(from_row).collect()
}

/// What a status change came to.
#[derive(Debug)]
pub enum Transition {
    /// Changed; the stream as it is now and the event announcing it.
    Changed(Box<Stream>, EventRecord),
    /// No such stream.
    NotFound,
    /// Not allowed from the current status.
    NotAllowed(StreamStatus),
}

/// The event name announcing a move to `to`.
pub fn event_type(to: StreamStatus) -> &'static str {
    match to {
        StreamStatus::Cancelled => "stream.cancelled",
        StreamStatus::Completed => "stream.completed",
        StreamStatus::Active | StreamStatus::Paused => "stream.updated",
    }
}

/// Moves stream `id` to `to` if its current status allows it (atomic compare-and-set); a
/// change bumps the stream's version and writes its outbox rows in the same transaction.
pub async fn transition(
    db: &Db,
    id: &str,
    to: StreamStatus,
    now_ms: i64,
) -> Result<Transition, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let result = transition_in(&mut tx, id, to, now_ms).await?;
    tx.commit().await?;
    Ok(result)
}

/// [`transition`] inside `tx`.
pub async fn transition_in(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    to: StreamStatus,
    now_ms: i64,
) -> Result<Transition, sqlx::Error> {
    let from = StreamStatus::allowed_previous(to);
    let changed = if from.is_empty() {
        0
    } else {
        let list: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 4)).collect();
        let sql = format!(
            "UPDATE streams SET status = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND status IN ({})",
            list.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(to.as_str()).bind(now_ms).bind(id);
        for status in &from {
            query = query.bind(status.as_str());
        }
        query.execute(&mut **tx).await?.rows_affected()
    };
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, version FROM streams WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(Transition::NotFound);
    };
    let stream = from_row(&row)?;
    let record = if changed == 1 {
        let event = StreamEvent {
            event_type: event_type(to),
            stream: &stream,
            version: row.try_get("version")?,
            at_ms: now_ms,
        };
        Some(outbox::enqueue(tx, &event).await?)
    } else {
        None
    };
    Ok(match record {
        Some(record) => Transition::Changed(Box::new(stream), record),
        None => Transition::NotAllowed(stream.status),
    })
}
