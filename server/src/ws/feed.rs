//! The feed tail: changes made through other instances reach this instance's clients.

use std::sync::Arc;
use std::time::Duration;

use super::StreamHub;

/// How far behind its cursor the feed tail looks again, for transactions that committed late.
const FEED_LOOKBACK_MS: i64 = 5_000;
/// How often the feed tail polls.
const FEED_POLL: Duration = Duration::from_millis(250);

/// Tails the `stream_feed` table so clients of this instance get the changes made through
/// other instances (PostgreSQL; one SQLite instance publishes everything itself).
pub fn spawn_feed_tail(db: crate::db::Db, hub: Arc<StreamHub>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The feed's times are the database's clock (see `Backend::now_millis_sql`), so is the cursor.
        let mut cursor = db
            .now_millis()
            .await
            .unwrap_or_else(|_| crate::util::unix_millis());
        let mut every = tokio::time::interval(FEED_POLL);
        loop {
            every.tick().await;
            match crate::store::outbox::feed_since(&db, cursor - FEED_LOOKBACK_MS).await {
                Ok(rows) => {
                    for row in rows {
                        cursor = cursor.max(row.created_at);
                        hub.publish(&row.stream_id, &row.event);
                    }
                }
                Err(err) => tracing::warn!(error = %err, "reading the stream feed failed"),
            }
        }
    })
}
