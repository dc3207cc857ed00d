//! One connection's queue of stream updates: filled by the hub for the streams the connection
//! subscribed to, drained by the connection task.
//!
//! Why not one broadcast channel for every connection: each update then woke every
//! connection, subscribed or not (updates x connections wakeups), and its shared ring lagged
//! once a few thousand readers fell behind. Here the hub pushes an update into the inboxes of
//! that stream's subscribers only, and a connection takes everything queued at once, so a busy
//! connection writes a batch per wakeup instead of a frame per wakeup.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

use super::StreamUpdate;

/// Updates a connection may have waiting; past it new ones are dropped (and counted), like
/// a lagging receiver of the broadcast channel this replaces, whose capacity this was.
pub(super) const INBOX_CAPACITY: usize = 1024;

/// The updates waiting for one connection.
#[derive(Debug)]
pub(super) struct Inbox {
    /// The key of this inbox in the hub's subscriber registry.
    pub(super) id: u64,
    queue: Mutex<Queue>,
    ready: Notify,
}

#[derive(Debug, Default)]
struct Queue {
    updates: VecDeque<Arc<StreamUpdate>>,
    /// Updates dropped because the queue was full, since the last take.
    missed: u64,
}

impl Inbox {
    pub(super) fn new(id: u64) -> Self {
        Self {
            id,
            queue: Mutex::default(),
            ready: Notify::new(),
        }
    }

    /// Queues `update` (drops it when the inbox is full) and wakes the connection.
    pub(super) fn push(&self, update: Arc<StreamUpdate>) {
        {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if queue.updates.len() >= INBOX_CAPACITY {
                queue.missed += 1;
                return;
            }
            queue.updates.push_back(update);
        }
        // Stores a permit when the connection is not waiting yet: no wakeup is lost.
        self.ready.notify_one();
    }

    /// Moves every queued update into `into` (expected empty; the two buffers are swapped so
    /// their allocations are reused) and returns how many were dropped since the last take.
    pub(super) fn try_take(&self, into: &mut VecDeque<Arc<StreamUpdate>>) -> u64 {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::swap(&mut queue.updates, into);
        std::mem::take(&mut queue.missed)
    }

    /// Waits until something is queued, then takes it all as [`Self::try_take`] does.
    /// Cancel-safe: nothing is taken until the future completes.
    pub(super) async fn take(&self, into: &mut VecDeque<Arc<StreamUpdate>>) -> u64 {
        loop {
            let missed = self.try_take(into);
            if missed > 0 || !into.is_empty() {
                return missed;
            }
            self.ready.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(sequence: u64) -> Arc<StreamUpdate> {
        Arc::new(StreamUpdate {
            stream_id: "str_a".into(),
            event_id: format!("evt_{sequence}").into(),
            text: "{}".into(),
            sequence,
        })
    }

    #[test]
    fn drops_and_counts_past_its_capacity() {
        let inbox = Inbox::new(1);
        for n in 0..(INBOX_CAPACITY as u64 + 3) {
            inbox.push(update(n));
        }
        let mut taken = VecDeque::new();
        assert_eq!(inbox.try_take(&mut taken), 3);
        assert_eq!(taken.len(), INBOX_CAPACITY);
        assert_eq!(taken.front().map(|u| u.sequence), Some(0));
        taken.clear();
        assert_eq!(inbox.try_take(&mut taken), 0);
        assert!(taken.is_empty());
    }

    #[tokio::test]
    async fn take_waits_for_a_push() {
        let inbox = Arc::new(Inbox::new(1));
        let pusher = inbox.clone();
        let waiter = tokio::spawn(async move {
            let mut taken = VecDeque::new();
            inbox.take(&mut taken).await;
            taken.iter().map(|u| u.sequence).collect::<Vec<_>>()
        });
        tokio::task::yield_now().await;
        pusher.push(update(7));
        assert_eq!(waiter.await.unwrap(), [7]);
    }
}
