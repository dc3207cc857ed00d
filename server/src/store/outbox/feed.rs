//! The query the WebSocket feed tail polls.

use sqlx::Row;

use super::EventRecord;
use crate::db::Db;

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
