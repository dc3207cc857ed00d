//! One WebSocket connection: its client messages, limits, subscriptions and de-duplication.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use serde_json::{Value, json};

use super::inbox::Inbox;
use super::{
    MAX_MESSAGE_BYTES, MAX_MESSAGES_PER_WINDOW, MAX_SUBSCRIPTIONS, RATE_WINDOW, StreamHub,
    StreamUpdate,
};

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
const INVALID_JSON: ClientError = ("INVALID_JSON", "Message is not valid JSON");
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
    let value: Value = serde_json::from_str(text).map_err(|_| INVALID_JSON)?;
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

/// The state of one connection. Dropping it unsubscribes its inbox from the hub.
pub(super) struct Connection {
    hub: Arc<StreamHub>,
    ping_interval: Duration,
    /// Where the hub queues the updates of the subscribed streams.
    inbox: Arc<Inbox>,
    /// Subscribed streams, each with the hub sequence at subscription: updates published
    /// before it (still queued to this connection, from an earlier subscription to the
    /// same stream) are not sent.
    subscriptions: HashMap<String, u64>,
    /// The hub sequence of the last update taken from the inbox. The hub admits an event
    /// once and numbers updates in the order it queues them, so an update at or below it was
    /// handled already: one number does what a set of every (stream, event) sent did,
    /// without a hash per update or memory that grows with the updates.
    last_sequence: u64,
    window_start: Instant,
    window_count: u32,
}

impl Connection {
    pub(super) fn new(hub: Arc<StreamHub>, ping_interval: Duration) -> Self {
        Self {
            inbox: hub.inbox(),
            hub,
            ping_interval,
            subscriptions: HashMap::new(),
            last_sequence: 0,
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

    /// Subscribed to the update's stream since before it was published?
    fn wants(&self, update: &StreamUpdate) -> bool {
        self.subscriptions
            .get(&*update.stream_id)
            .is_some_and(|since| update.sequence > *since)
    }

    /// Not handled before? Updates arrive in the hub's order, each at most once.
    fn first_time(&mut self, update: &StreamUpdate) -> bool {
        if update.sequence <= self.last_sequence {
            return false;
        }
        self.last_sequence = update.sequence;
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
                if !self.subscriptions.contains_key(&id)
                    && self.subscriptions.len() >= MAX_SUBSCRIPTIONS
                {
                    return error(TOO_MANY_SUBSCRIPTIONS);
                }
                if !self.subscriptions.contains_key(&id) {
                    let since = self.hub.subscribe(&id, &self.inbox);
                    self.subscriptions.insert(id.clone(), since);
                }
                json!({ "type": "subscribed", "streamId": id })
            }
            Ok(Request::Unsubscribe(id)) => {
                if self.subscriptions.remove(&id).is_some() {
                    self.hub.unsubscribe(self.inbox.id, [id.as_str()]);
                }
                json!({ "type": "unsubscribed", "streamId": id })
            }
            Err(problem) => error(problem),
        }
    }

    /// Writes the wanted, not yet sent updates of `batch` (emptied), then flushes once: one
    /// write for everything that queued up while the connection was busy.
    async fn send_updates(
        &mut self,
        socket: &mut WebSocket,
        batch: &mut VecDeque<Arc<StreamUpdate>>,
    ) -> Result<(), axum::Error> {
        let mut fed = false;
        for update in batch.drain(..) {
            if self.first_time(&update) && self.wants(&update) {
                socket.feed(Message::Text(update.text.clone())).await?;
                fed = true;
            }
        }
        if fed {
            socket.flush().await?;
        }
        Ok(())
    }

    pub(super) async fn run(mut self, mut socket: WebSocket) {
        let inbox = self.inbox.clone();
        let mut batch = VecDeque::new();
        let mut closing = self.hub.closing.subscribe();
        // One future for the whole connection: made anew at each wakeup it would register
        // on (and leave) the channel every connection shares, twice per update sent.
        let closing = async move {
            let _ = closing.wait_for(|closing| *closing).await;
        };
        tokio::pin!(closing);
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
                missed = inbox.take(&mut batch) => {
                    if missed > 0 {
                        tracing::warn!(missed, "websocket client lagged; updates dropped");
                    }
                    if self.send_updates(&mut socket, &mut batch).await.is_err() {
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
                () = &mut closing => {
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

impl Drop for Connection {
    fn drop(&mut self) {
        self.hub
            .unsubscribe(self.inbox.id, self.subscriptions.keys().map(String::as_str));
    }
}

fn error((code, message): ClientError) -> Value {
    json!({ "type": "error", "code": code, "message": message })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The updates queued to `connection` that it would send, by event id.
    fn wanted(connection: &Connection) -> Vec<String> {
        let mut queued = VecDeque::new();
        connection.inbox.try_take(&mut queued);
        queued
            .iter()
            .filter(|update| connection.wants(update))
            .map(|update| update.event_id.to_string())
            .collect()
    }

    fn record(id: &str, version: i64) -> crate::store::outbox::EventRecord {
        crate::store::outbox::EventRecord {
            id: id.to_owned(),
            payload: "{}".to_owned(),
            stream_version: version,
        }
    }

    fn message(kind: &str, stream_id: &str) -> Message {
        Message::Text(
            json!({ "type": kind, "streamId": stream_id })
                .to_string()
                .into(),
        )
    }

    #[test]
    fn a_subscription_gets_only_updates_published_after_it() {
        let hub = Arc::new(StreamHub::default());
        let mut connection = Connection::new(hub.clone(), Duration::from_secs(30));
        hub.publish("str_a", &record("evt_before", 1));
        assert_eq!(
            connection.answer(&message("subscribe", "str_a"))["type"],
            "subscribed"
        );
        hub.publish("str_a", &record("evt_after", 2));
        hub.publish("str_b", &record("evt_other", 1));
        assert_eq!(wanted(&connection), ["evt_after"]);

        // An update still queued from an earlier subscription to the same stream is not
        // sent after unsubscribing and subscribing again.
        hub.publish("str_a", &record("evt_queued", 3));
        assert_eq!(
            connection.answer(&message("unsubscribe", "str_a"))["type"],
            "unsubscribed"
        );
        hub.publish("str_a", &record("evt_unsubscribed", 4));
        connection.answer(&message("subscribe", "str_a"));
        hub.publish("str_a", &record("evt_resubscribed", 5));
        assert_eq!(wanted(&connection), ["evt_resubscribed"]);

        // A dropped connection leaves the hub's registry.
        drop(connection);
        assert_eq!(hub.subscribed_inboxes("str_a"), 0);
    }

    #[test]
    fn an_event_offered_twice_is_sent_once() {
        let hub = Arc::new(StreamHub::default());
        let mut connection = Connection::new(hub.clone(), Duration::from_secs(30));
        connection.answer(&message("subscribe", "str_a"));
        // The local write and the feed tail both offer the event: the hub queues it once.
        hub.publish("str_a", &record("evt_1", 1));
        hub.publish("str_a", &record("evt_1", 1));
        hub.publish("str_a", &record("evt_2", 2));
        let mut queued = VecDeque::new();
        connection.inbox.try_take(&mut queued);
        assert_eq!(queued.len(), 2);
        // Should an update reach the inbox twice, the second is not sent.
        let again = queued[0].clone();
        queued.insert(1, again);
        let sent: Vec<String> = queued
            .iter()
            .filter(|update| connection.first_time(update) && connection.wants(update))
            .map(|update| update.event_id.to_string())
            .collect();
        assert_eq!(sent, ["evt_1", "evt_2"]);
    }

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
        assert_eq!(parse("nope"), Err(INVALID_JSON));
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
}
