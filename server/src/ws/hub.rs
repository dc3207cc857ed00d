//! The fan-out of stream updates to this instance's connections, their per-IP slots, and
//! the memory of what was already sent.
//!
//! The hub keeps a registry of subscribers per stream (stream id -> the [`Inbox`]es of the
//! connections subscribed to it), so an update costs one queue push and one wakeup per
//! subscriber of its stream, and nothing for the other connections. The update's text is
//! serialized once and shared ([`Utf8Bytes`] clones are reference counts).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::inbox::Inbox;
use crate::store::outbox::EventRecord;

/// How long fanned-out event ids are remembered (longer than the feed look-back).
const FEED_MEMORY: Duration = Duration::from_secs(120);
/// One update, serialized once for every client.
#[derive(Debug)]
pub struct StreamUpdate {
    /// The stream (shared with the connections' de-duplication memory).
    pub stream_id: Arc<str>,
    /// The event (shared with the connections' de-duplication memory).
    pub event_id: Arc<str>,
    /// The `stream_update` message text.
    pub text: Utf8Bytes,
    /// Its place in the hub's order: a subscription made after it does not get it.
    pub sequence: u64,
}

/// Fan-out of stream updates to the connections of this instance, and their counts.
#[derive(Debug)]
pub struct StreamHub {
    /// Admission, numbering and the subscriber registry, under one lock: an update is pushed
    /// to exactly the inboxes subscribed when it was numbered, in numbering order.
    state: Mutex<HubState>,
    /// The id of the next inbox.
    next_inbox: AtomicU64,
    pub(super) closing: watch::Sender<bool>,
    pub(super) per_ip: Mutex<HashMap<String, usize>>,
    pub(super) total: AtomicUsize,
}

impl Default for StreamHub {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            next_inbox: AtomicU64::new(1),
            closing: watch::channel(false).0,
            per_ip: Mutex::default(),
            total: AtomicUsize::new(0),
        }
    }
}

/// What the hub's lock guards.
#[derive(Debug, Default)]
struct HubState {
    /// Event ids already fanned out (local publish and the feed tail), oldest first.
    published: Published,
    /// The sequence of the last update sent.
    sequence: u64,
    /// Stream id -> inbox id -> the inbox of a connection subscribed to it.
    subscribers: HashMap<String, HashMap<u64, Arc<Inbox>>>,
}

/// Recently fanned-out event ids, and the latest version fanned out per stream.
#[derive(Debug)]
struct Published {
    ids: HashSet<String>,
    order: VecDeque<(Instant, String)>,
    /// Two changes of one stream can commit in one order and reach `publish` in the other
    /// (concurrent requests, or one local and one from the feed tail). An event older than
    /// one already sent is skipped: clients only ever see a stream move forward, and the
    /// newer event carries the newer state.
    latest_version: HashMap<String, (i64, Instant)>,
    versions_pruned_at: Instant,
}

impl Default for Published {
    fn default() -> Self {
        Self {
            ids: HashSet::new(),
            order: VecDeque::new(),
            latest_version: HashMap::new(),
            versions_pruned_at: Instant::now(),
        }
    }
}

impl Published {
    /// False when `admit` would refuse the event: fanned out already, or older than what was.
    fn is_new(&self, stream_id: &str, event_id: &str, stream_version: i64) -> bool {
        !self.ids.contains(event_id)
            && self
                .latest_version
                .get(stream_id)
                .is_none_or(|(version, _)| *version < stream_version)
    }

    /// Records `event`; false when it was fanned out already or is older than what was.
    fn admit(&mut self, stream_id: &str, event: &EventRecord, now: Instant) -> bool {
        while self
            .order
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= FEED_MEMORY)
        {
            if let Some((_, id)) = self.order.pop_front() {
                self.ids.remove(&id);
            }
        }
        if now.duration_since(self.versions_pruned_at) >= FEED_MEMORY {
            self.latest_version
                .retain(|_, (_, at)| now.duration_since(*at) < FEED_MEMORY);
            self.versions_pruned_at = now;
        }
        if !self.is_new(stream_id, &event.id, event.stream_version) {
            return false;
        }
        self.ids.insert(event.id.clone());
        self.order.push_back((now, event.id.clone()));
        self.latest_version
            .insert(stream_id.to_owned(), (event.stream_version, now));
        true
    }
}

/// Holds one connection slot of an IP; frees it when dropped.
#[derive(Debug)]
pub struct ConnectionSlot {
    hub: Arc<StreamHub>,
    ip: String,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Ok(mut per_ip) = self.hub.per_ip.lock()
            && let Some(count) = per_ip.get_mut(&self.ip)
        {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.hub.total.fetch_sub(1, Ordering::SeqCst);
    }
}

impl StreamHub {
    /// Sends an event to every subscribed client of this instance, once per event id (the
    /// local path and the feed tail may both offer it), and never after a newer event of
    /// the same stream.
    pub fn publish(&self, stream_id: &str, event: &EventRecord) {
        // The message is built only for an update that will be sent: most offers are of
        // streams nobody here watches, or again (the feed tail looks back).
        {
            let mut state = self.lock();
            if !state.subscribers.contains_key(stream_id) {
                if state.published.admit(stream_id, event, Instant::now()) {
                    state.sequence += 1;
                }
                return;
            }
            if !state
                .published
                .is_new(stream_id, &event.id, event.stream_version)
            {
                return;
            }
        }
        let text = update_text(stream_id, event);
        // Admit, number and queue under one lock, so every inbox gets the admission order
        // and sequences rise along it.
        let mut state = self.lock();
        if !state.published.admit(stream_id, event, Instant::now()) {
            return;
        }
        state.sequence += 1;
        let Some(subscribers) = state.subscribers.get(stream_id) else {
            return;
        };
        let update = Arc::new(StreamUpdate {
            stream_id: stream_id.into(),
            event_id: event.id.as_str().into(),
            text: text.into(),
            sequence: state.sequence,
        });
        for inbox in subscribers.values() {
            inbox.push(update.clone());
        }
    }

    /// Whether an event would still be sent (not fanned out yet, and newer than what was):
    /// the feed tail reads the payloads of these only.
    pub fn is_new(&self, stream_id: &str, event_id: &str, stream_version: i64) -> bool {
        self.lock()
            .published
            .is_new(stream_id, event_id, stream_version)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new, unsubscribed inbox for a connection.
    pub(super) fn inbox(&self) -> Arc<Inbox> {
        Arc::new(Inbox::new(self.next_inbox.fetch_add(1, Ordering::Relaxed)))
    }

    /// Subscribes `inbox` to `stream_id`; returns the sequence of the last update sent: the
    /// subscription gets only later ones.
    pub(super) fn subscribe(&self, stream_id: &str, inbox: &Arc<Inbox>) -> u64 {
        let mut state = self.lock();
        state
            .subscribers
            .entry(stream_id.to_owned())
            .or_default()
            .insert(inbox.id, inbox.clone());
        state.sequence
    }

    /// Unsubscribes the inbox `inbox_id` from each of `stream_ids`.
    pub(super) fn unsubscribe<'a>(
        &self,
        inbox_id: u64,
        stream_ids: impl IntoIterator<Item = &'a str>,
    ) {
        let mut state = self.lock();
        for stream_id in stream_ids {
            if let Some(subscribers) = state.subscribers.get_mut(stream_id) {
                subscribers.remove(&inbox_id);
                if subscribers.is_empty() {
                    state.subscribers.remove(stream_id);
                }
            }
        }
    }

    /// How many inboxes are subscribed to `stream_id`.
    #[cfg(test)]
    pub(super) fn subscribed_inboxes(&self, stream_id: &str) -> usize {
        self.lock()
            .subscribers
            .get(stream_id)
            .map_or(0, HashMap::len)
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    /// Takes a connection slot for `ip`, unless it already holds `limit`.
    pub fn try_connect(self: &Arc<Self>, ip: &str, limit: usize) -> Option<ConnectionSlot> {
        let mut per_ip = self.per_ip.lock().ok()?;
        let count = per_ip.entry(ip.to_owned()).or_insert(0);
        if *count >= limit {
            if *count == 0 {
                per_ip.remove(ip);
            }
            return None;
        }
        *count += 1;
        self.total.fetch_add(1, Ordering::SeqCst);
        Some(ConnectionSlot {
            hub: self.clone(),
            ip: ip.to_owned(),
        })
    }

    /// Closes every connection (1001) and refuses new ones.
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }
}

/// The `stream_update` message of `event`.
fn update_text(stream_id: &str, event: &EventRecord) -> String {
    let payload: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
    json!({
        "type": "stream_update",
        "streamId": stream_id,
        "eventId": event.id,
        "payload": payload,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_connections_per_ip() {
        let hub = Arc::new(StreamHub::default());
        let a = hub.try_connect("1.1.1.1", 2).unwrap();
        let _b = hub.try_connect("1.1.1.1", 2).unwrap();
        assert!(hub.try_connect("1.1.1.1", 2).is_none());
        let _c = hub.try_connect("2.2.2.2", 2).unwrap();
        assert_eq!(hub.connections(), 3);
        drop(a);
        assert_eq!(hub.connections(), 2);
        assert!(hub.try_connect("1.1.1.1", 2).is_some());
    }
}
