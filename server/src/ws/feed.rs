//! The feed tail: changes made through other instances reach this instance's clients.

use std::sync::Arc;
use std::time::Duration;

use super::StreamHub;
use crate::db::Db;
use crate::store::outbox::{self, EventRecord, FeedHead};

/// How far behind its cursor the feed tail looks again, for transactions that committed late.
const FEED_LOOKBACK_MS: i64 = 5_000;
/// How often the feed tail polls.
const FEED_POLL: Duration = Duration::from_millis(250);

/// Tails the `stream_feed` table so clients of this instance get the changes made through
/// other instances (PostgreSQL; one SQLite instance publishes everything itself).
pub fn spawn_feed_tail(db: Db, hub: Arc<StreamHub>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The feed's times are the database's clock (see `Backend::now_millis_sql`), so is the cursor.
        let mut cursor = db
            .now_millis()
            .await
            .unwrap_or_else(|_| crate::util::unix_millis());
        let mut every = tokio::time::interval(FEED_POLL);
        loop {
            every.tick().await;
            if let Err(err) = poll(&db, &hub, &mut cursor).await {
                tracing::warn!(error = %err, "reading the stream feed failed");
            }
        }
    })
}

/// One poll: the window's events are listed without payloads, and only those the hub has
/// not sent are read whole (the look-back sees each event many times).
async fn poll(db: &Db, hub: &StreamHub, cursor: &mut i64) -> Result<(), sqlx::Error> {
    let heads = outbox::feed_heads_since(db, *cursor - FEED_LOOKBACK_MS).await?;
    let fresh: Vec<&FeedHead> = heads
        .iter()
        .filter(|head| hub.is_new(&head.stream_id, &head.event_id, head.stream_version))
        .collect();
    let ids: Vec<&str> = fresh.iter().map(|head| head.event_id.as_str()).collect();
    let mut payloads = outbox::feed_payloads(db, &ids).await?;
    for head in &heads {
        *cursor = (*cursor).max(head.created_at);
    }
    for head in fresh {
        if let Some(payload) = payloads.remove(&head.event_id) {
            let event = EventRecord {
                id: head.event_id.clone(),
                payload,
                stream_version: head.stream_version,
            };
            hub.publish(&head.stream_id, &event);
        }
    }
    Ok(())
}
