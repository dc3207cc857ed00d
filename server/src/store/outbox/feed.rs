//! The query the WebSocket feed tail polls.

use std::collections::HashMap;

use sqlx::Row;

use crate::db::Db;

/// Feed events written since `since_ms` (inclusive), without their payloads, in version
/// order per stream. Two changes of one stream commit in version order (the second waits for
/// the first's row lock), so a poll that sees a version sees its predecessors too.
pub async fn feed_heads_since(db: &Db, since_ms: i64) -> Result<Vec<FeedHead>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT event_id, stream_id, stream_version, created_at FROM stream_feed \
         WHERE created_at >= $1 ORDER BY stream_id, stream_version",
    )
    .bind(since_ms)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(FeedHead {
                event_id: row.try_get(0)?,
                stream_id: row.try_get(1)?,
                stream_version: row.try_get(2)?,
                created_at: row.try_get(3)?,
            })
        })
        .collect()
}

/// The payloads of the feed events `event_ids`, by event id.
pub async fn feed_payloads(
    db: &Db,
    event_ids: &[&str],
) -> Result<HashMap<String, String>, sqlx::Error> {
    let mut payloads = HashMap::with_capacity(event_ids.len());
    for chunk in event_ids.chunks(IDS_PER_STATEMENT) {
        let list: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT event_id, payload FROM stream_feed WHERE event_id IN ({})",
            list.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&db.pool).await? {
            payloads.insert(row.try_get(0)?, row.try_get(1)?);
        }
    }
    Ok(payloads)
}

/// Ids per payload query: well under both engines' placeholder limits.
const IDS_PER_STATEMENT: usize = 1_000;

/// A feed event without its payload: what the feed tail needs to tell whether it is new.
#[derive(Clone, Debug)]
pub struct FeedHead {
    /// `evt_` + 24 hex digits.
    pub event_id: String,
    /// The stream.
    pub stream_id: String,
    /// The stream's version after this event.
    pub stream_version: i64,
    /// When the change committed (Unix milliseconds).
    pub created_at: i64,
}
