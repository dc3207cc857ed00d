//! Writes what attempts came to, many per transaction: attempts finish one by one, and
//! whatever finished while the previous batch was being written goes in the next one. A
//! busy worker thus makes few, large writes; an idle one writes each attempt at once.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use crate::db::Db;
use crate::store::outbox::{self, Settled};

/// Settled rows per transaction at most.
const MAX_BATCH: usize = 512;

/// Starts the recorder; it ends when every sender is gone and the queue is written. After
/// each write it wakes `written`: rows waiting behind a delivered one may be due now.
pub(super) fn spawn_recorder(
    db: Db,
    mut queue: mpsc::UnboundedReceiver<Settled>,
    written: Arc<Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let result = {
                let _turn = db.write_turn().await;
                outbox::settle(&db, &batch).await
            };
            if let Err(err) = result {
                // Their leases run out and the rows are attempted again: at least once.
                tracing::warn!(error = %err, rows = batch.len(), "cannot record delivery attempts");
            }
            batch.clear();
            written.notify_one();
        }
    })
}
