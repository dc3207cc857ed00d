//! `GET /ws/streams`: the WebSocket feed of stream updates.
//!
//! Client messages: `{ "type": "subscribe" | "unsubscribe", "streamId": "..." }` (answered
//! `subscribed` / `unsubscribed`). Server messages:
//! `{ "type": "stream_update", "streamId", "eventId", "payload" }` and
//! `{ "type": "error", "code", "message" }` with `PAYLOAD_TOO_LARGE` (a message over 4096
//! bytes), `RATE_LIMIT_EXCEEDED` (over 30 messages in 10 s), `BINARY_NOT_SUPPORTED`,
//! `INVALID_JSON` (not JSON), `INVALID_MESSAGE` (JSON of another shape), `UNKNOWN_TYPE`;
//! the connection stays open after an error. Each
//! (streamId, eventId) reaches a client once. The server pings every `WS_PING_INTERVAL_SECONDS`
//! and drops a client that has not answered the previous ping; on shutdown every client gets
//! a close frame (1001).

mod connection;
mod feed;
mod hub;
mod inbox;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::AppError;
use connection::Connection;

pub use feed::spawn_feed_tail;
pub use hub::{ConnectionSlot, StreamHub, StreamUpdate};

/// Largest accepted client message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Client messages allowed per [`RATE_WINDOW`].
pub const MAX_MESSAGES_PER_WINDOW: u32 = 30;
/// The client message rate window.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);
/// Subscriptions per connection.
pub const MAX_SUBSCRIPTIONS: usize = 256;
/// Bytes a connection reads from its socket at a time. tungstenite zero-fills this much of
/// its read buffer before every read attempt, and one is made each time the connection task
/// wakes (for an update to send, too): its default, 128 KiB, cost a 128 KiB memset per
/// update per client and made up nearly all of a connection's memory. A larger frame still
/// fits: the buffer grows to a frame's announced length.
const READ_BUFFER_BYTES: usize = 4 * 1024;
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

/// `GET /ws/streams`: 429 `RATE_LIMIT_EXCEEDED` when the IP holds its connection limit; 400
/// in the API's error shape for a request that is not a WebSocket upgrade.
pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return AppError::validation(format!(
                "A WebSocket upgrade request is required: {}",
                rejection.body_text()
            ))
            .into_response();
        }
    };
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
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            let connection_id = format!("ws_{}", crate::util::random_hex(8));
            tracing::info!(
                connectionId = %connection_id,
                total = hub.connections(),
                "websocket connected"
            );
            Connection::new(hub.clone(), ping_interval)
                .run(socket)
                .await;
            drop(slot);
            tracing::info!(
                connectionId = %connection_id,
                total = hub.connections(),
                "websocket disconnected"
            );
        })
}
