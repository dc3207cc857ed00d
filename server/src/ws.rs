//! `GET /ws/streams`: the WebSocket feed of stream updates.
//!
//! Client messages: `{ "type": "subscribe" | "unsubscribe", "streamId": "..." }` (answered
//! `subscribed` / `unsubscribed`). Server messages:
//! `{ "type": "stream_update", "streamId", "eventId", "payload" }` and
//! `{ "type": "error", "code", "message" }` with `PAYLOAD_TOO_LARGE` (a message over 4096
//! bytes), `RATE_LIMIT_EXCEEDED` (over 30 messages in 10 s), `BINARY_NOT_SUPPORTED`,
//! `INVALID_MESSAGE`, `UNKNOWN_TYPE`; the connection stays open after an error. Each
//! (streamId, eventId) reaches a client once. The server pings every `WS_PING_INTERVAL_SECONDS`
//! and drops a client that has not answered the previous ping; on shutdown every client gets
//! a close frame (1001).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};

use crate::app::AppState;
use crate::error::AppError;
use crate::store::outbox::EventRecord;

/// Largest accepted client message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Client messages allowed per [`RATE_WINDOW`].
pub const MAX_MESSAGES_PER_WINDOW: u32 = 30;
/// The client message rate window.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);
/// Subscriptions per connection.
pub const MAX_SUBSCRIPTIONS: usize = 256;
/// (streamId, eventId) pairs remembered per connection for de-duplication.
const DEDUPE_CAPACITY: usize = 10_000;
/// How long fanned-out event ids are remembered (longer than the feed look-back).
const FEED_MEMORY: Duration = Duration::from_secs(120);
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

/// Frames larger than this close the connection at the protocol level (messages between
/// [`MAX_MESSAGE_BYTES`] and this get a `PAYLOAD_TOO_LARGE` error and the connection stays).
const MAX_FRAME_BYTES: usize = 1 << 20;

/// WebSocket settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WsConfig {
    /// Open connections per client IP (0 disables the feed).
    pub max_connections_per_ip: usize,
    /// How often clients are pinged; a client that misses a pong is dropped.
    pub ping_interval: Duration,
}

/// One update, serialized once for every client.
#[derive(Debug)]
pub struct StreamUpdate {
    /// The stream.
    pub stream_id: String,
    /// The event.
    pub event_id: String,
    /// The `stream_update` message text.
    pub text: String,
}

/// Fan-out of stream updates to the connections of this instance, and their counts.
#[derive(Debug)]
pub struct StreamHub {
    updates: broadcast::Sender<Arc<StreamUpdate>>,
    /// Event ids already fanned out (local publish and the feed tail), oldest first.
    published: Mutex<Published>,
    closing: watch::Sender<bool>,
    per_ip: Mutex<HashMap<String, usize>>,
    total: AtomicUsize,
}

impl Default for StreamHub {
    fn default() -> Self {
        Self {
            updates: broadcast::channel(1024).0,
            published: Mutex::default(),
            closing: watch::channel(false).0,
            per_ip: Mutex::default(),
            total: AtomicUsize::new(0),
        }
    }
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
        if !self.ids.insert(event.id.clone()) {
            return false;
        }
        self.order.push_back((now, event.id.clone()));
        match self.latest_version.get_mut(stream_id) {
            Some((version, _)) if *version >= event.stream_version => return false,
            Some(latest) => *latest = (event.stream_version, now),
            None => {
                self.latest_version
                    .insert(stream_id.to_owned(), (event.stream_version, now));
            }
        }
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
        let payload: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
        let update = Arc::new(StreamUpdate {
            stream_id: stream_id.to_owned(),
            event_id: event.id.clone(),
            text: json!({
                "type": "stream_update",
                "streamId": stream_id,
                "eventId": event.id,
                "payload": payload,
            })
            .to_string(),
        });
        // Admit and send under one lock, so the channel's order is the admission order.
        let mut published = self
            .published
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if published.admit(stream_id, event, Instant::now()) {
            // No receivers is fine: nobody is connected.
            let _ = self.updates.send(update);
        }
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

/// `GET /ws/streams`: 429 `RATE_LIMIT_EXCEEDED` when the IP holds its connection limit.
pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if *state.hub.closing.borrow() {
        return AppError::Unavailable("The server is shutting down").into_response();
    }
    let ip =
        crate::ratelimit::client_ip_of(&headers, Some(peer), state.config.rate_limits.trust_proxy);
    let Some(slot) = state
        .hub
        .try_connect(&ip, state.config.ws.max_connections_per_ip)
    else {
        return AppError::RateLimited { retry_after: 10 }.into_response();
    };
    let hub = state.hub.clone();
    let ping_interval = state.config.ws.ping_interval;
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            Connection::new(hub, ping_interval).run(socket).await;
            drop(slot);
        })
}

/// A client message's verdict.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    Subscribe(String),
    Unsubscribe(String),
}

/// A client error: code and message.
type ClientError = (&'static str, &'static str);

const PAYLOAD_TOO_LARGE: ClientError = ("PAYLOAD_TOO_LARGE", "Message exceeds 4096 bytes");
const RATE_LIMIT_EXCEEDED: ClientError = (
    "RATE_LIMIT_EXCEEDED",
    "More than 30 messages in 10 seconds; slow down",
);
const BINARY_NOT_SUPPORTED: ClientError = (
    "BINARY_NOT_SUPPORTED",
    "Binary messages are not supported; send JSON text",
);
const INVALID_MESSAGE: ClientError = (
    "INVALID_MESSAGE",
    "Expected a JSON object { type, streamId } with a streamId string of 1 to 128 characters",
);
const UNKNOWN_TYPE: ClientError = ("UNKNOWN_TYPE", "type must be subscribe or unsubscribe");
const TOO_MANY_SUBSCRIPTIONS: ClientError = (
    "INVALID_MESSAGE",
    "Too many subscriptions on this connection (256)",
);

/// Parses a text message (already within the size limit).
fn parse(text: &str) -> Result<Request, ClientError> {
    let value: Value = serde_json::from_str(text).map_err(|_| INVALID_MESSAGE)?;
    let Some(kind) = value.get("type").and_then(Value::as_str) else {
        return Err(INVALID_MESSAGE);
    };
    if kind != "subscribe" && kind != "unsubscribe" {
        return Err(UNKNOWN_TYPE);
    }
    let stream_id = value
        .get("streamId")
        .and_then(Value::as_str)
        .filter(|id| (1..=128).contains(&id.chars().count()))
        .ok_or(INVALID_MESSAGE)?
        .to_owned();
    Ok(if kind == "subscribe" {
        Request::Subscribe(stream_id)
    } else {
        Request::Unsubscribe(stream_id)
    })
}

/// The state of one connection.
struct Connection {
    hub: Arc<StreamHub>,
    ping_interval: Duration,
    subscriptions: HashSet<String>,
    seen: HashSet<(String, String)>,
    seen_order: VecDeque<(String, String)>,
    window_start: Instant,
    window_count: u32,
}

impl Connection {
    fn new(hub: Arc<StreamHub>, ping_interval: Duration) -> Self {
        Self {
            hub,
            ping_interval,
            subscriptions: HashSet::new(),
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            window_start: Instant::now(),
            window_count: 0,
        }
    }

    /// Counts a client message; false when over the rate.
    fn within_rate(&mut self, now: Instant) -> bool {
        if now.duration_since(self.window_start) >= RATE_WINDOW {
            self.window_start = now;
            self.window_count = 0;
        }
        self.window_count += 1;
        self.window_count <= MAX_MESSAGES_PER_WINDOW
    }

    /// First delivery of (stream, event) to this client?
    fn first_time(&mut self, update: &StreamUpdate) -> bool {
        let key = (update.stream_id.clone(), update.event_id.clone());
        if !self.seen.insert(key.clone()) {
            return false;
        }
        self.seen_order.push_back(key);
        if self.seen_order.len() > DEDUPE_CAPACITY
            && let Some(oldest) = self.seen_order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        true
    }

    /// The answer to one client data message.
    fn answer(&mut self, message: &Message) -> Value {
        if !self.within_rate(Instant::now()) {
            return error(RATE_LIMIT_EXCEEDED);
        }
        let text = match message {
            Message::Binary(_) => return error(BINARY_NOT_SUPPORTED),
            Message::Text(text) if text.len() > MAX_MESSAGE_BYTES => {
                return error(PAYLOAD_TOO_LARGE);
            }
            Message::Text(text) => text.as_str(),
            _ => return error(INVALID_MESSAGE),
        };
        match parse(text) {
            Ok(Request::Subscribe(id)) => {
                if !self.subscriptions.contains(&id)
                    && self.subscriptions.len() >= MAX_SUBSCRIPTIONS
                {
                    return error(TOO_MANY_SUBSCRIPTIONS);
                }
                self.subscriptions.insert(id.clone());
                json!({ "type": "subscribed", "streamId": id })
            }
            Ok(Request::Unsubscribe(id)) => {
                self.subscriptions.remove(&id);
                json!({ "type": "unsubscribed", "streamId": id })
            }
            Err(problem) => error(problem),
        }
    }

    async fn run(mut self, mut socket: WebSocket) {
        let mut updates = self.hub.updates.subscribe();
        let mut closing = self.hub.closing.subscribe();
        let mut ping = tokio::time::interval_at(
            tokio::time::Instant::now() + self.ping_interval,
            self.ping_interval,
        );
        let mut awaiting_pong = false;
        loop {
            tokio::select! {
                incoming = socket.recv() => {
                    let message = match incoming {
                        Some(Ok(message)) => message,
                        Some(Err(_)) | None => break,
                    };
                    match message {
                        Message::Pong(_) => awaiting_pong = false,
                        // Answered by the protocol layer.
                        Message::Ping(_) => {}
                        Message::Close(_) => break,
                        data => {
                            let answer = self.answer(&data);
                            if socket.send(Message::Text(answer.to_string().into())).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                update = updates.recv() => {
                    let update = match update {
                        Ok(update) => update,
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "websocket client lagged; updates dropped");
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    };
                    if self.subscriptions.contains(&update.stream_id) && self.first_time(&update)
                        && socket.send(Message::Text(update.text.clone().into())).await.is_err()
                    {
                        break;
                    }
                }
                _ = ping.tick() => {
                    if awaiting_pong {
                        tracing::debug!("websocket client missed a pong; dropped");
                        break;
                    }
                    awaiting_pong = true;
                    if socket.send(Message::Ping(Default::default())).await.is_err() {
                        break;
                    }
                }
                () = async { let _ = closing.wait_for(|closing| *closing).await; } => {
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame {
                            code: 1001,
                            reason: "server shutting down".into(),
                        })))
                        .await;
                    break;
                }
            }
        }
    }
}

fn error((code, message): ClientError) -> Value {
    json!({ "type": "error", "code": code, "message": message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_client_messages() {
        assert_eq!(
            parse(r#"{"type":"subscribe","streamId":"str_1"}"#),
            Ok(Request::Subscribe("str_1".into()))
        );
        assert_eq!(
            parse(r#"{"type":"unsubscribe","streamId":"str_1"}"#),
            Ok(Request::Unsubscribe("str_1".into()))
        );
        assert_eq!(parse("nope"), Err(INVALID_MESSAGE));
        assert_eq!(parse("[]"), Err(INVALID_MESSAGE));
        assert_eq!(parse(r#"{"type":"subscribe"}"#), Err(INVALID_MESSAGE));
        assert_eq!(
            parse(r#"{"type":"subscribe","streamId":""}"#),
            Err(INVALID_MESSAGE)
        );
        assert_eq!(
            parse(r#"{"type":"hello","streamId":"s"}"#),
            Err(UNKNOWN_TYPE)
        );
    }

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
