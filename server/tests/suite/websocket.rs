//! `/ws/streams`: subscriptions, updates, de-duplication, every error code, the per-IP limit,
//! pings, the connection count in /health, and the close on shutdown.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

macro_rules! start {
    ($backend:expr, $extra:expr) => {
        match TestServer::start($backend, $extra).await {
            Some(server) => server,
            None => return,
        }
    };
}

async fn connect(server: &TestServer) -> Socket {
    let url = format!("ws://{}/ws/streams", server.addr());
    tokio_tungstenite::connect_async(url)
        .await
        .expect("connect")
        .0
}

/// The next text message as JSON (pings are skipped; the client answers them itself).
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("no error");
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn send_json(socket: &mut Socket, value: Value) {
    socket.send(Message::text(value.to_string())).await.unwrap();
}

async fn subscribe(socket: &mut Socket, stream: &str) {
    send_json(socket, json!({ "type": "subscribe", "streamId": stream })).await;
    assert_eq!(
        next_json(socket).await,
        json!({ "type": "subscribed", "streamId": stream })
    );
}

async fn health_connections(server: &TestServer) -> u64 {
    let body: Value = server.get("/health").await.json().await.unwrap();
    assert_eq!(
        body["wsConnections"],
        body["checks"]["websocket"]["connections"]
    );
    body["checks"]["websocket"]["connections"].as_u64().unwrap()
}

fn assert_error(message: &Value, code: &str) {
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["code"], code, "{message}");
    assert!(message["message"].is_string());
}

pub async fn websocket_updates_for_subscribed_streams_once(backend: Backend) {
    let server = start!(backend, &[]);
    let (client, base) = (&server.client, server.base.as_str());
    let watched = create_stream(client, base, 1).await;
    let other = create_stream(client, base, 3).await;
    let mut socket = connect(&server).await;
    subscribe(&mut socket, &watched).await;
    wait_until("the connection is counted", || async {
        health_connections(&server).await == 1
    })
    .await;
    // Changes of another stream are not sent; the watched stream's are, in order.
    set_stream_status(client, base, &other, "paused").await;
    set_stream_status(client, base, &watched, "paused").await;
    let update = next_json(&mut socket).await;
    assert_eq!(update["type"], "stream_update");
    assert_eq!(update["streamId"], watched.as_str());
    assert!(update["eventId"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(update["payload"]["event"], "stream.updated");
    assert_eq!(update["payload"]["data"]["status"], "paused");
    // The same (streamId, eventId) again reaches the client once: the next message is the
    // following change.
    let event = fluxora_server::store::outbox::EventRecord {
        id: update["eventId"].as_str().unwrap().to_owned(),
        payload: update["payload"].to_string(),
        stream_version: 2,
    };
    server.state().hub.publish(&watched, &event);
    set_stream_status(client, base, &watched, "cancelled").await;
    let next = next_json(&mut socket).await;
    assert_eq!(next["payload"]["event"], "stream.cancelled", "{next}");
    assert_ne!(next["eventId"], update["eventId"]);
    // Unsubscribed: nothing more for it.
    send_json(
        &mut socket,
        json!({ "type": "unsubscribe", "streamId": watched }),
    )
    .await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({ "type": "unsubscribed", "streamId": watched })
    );
    subscribe(&mut socket, &other).await;
    let third = create_stream(client, base, 5).await;
    set_stream_status(client, base, &third, "paused").await;
    set_stream_status(client, base, &other, "active").await;
    let next = next_json(&mut socket).await;
    assert_eq!(next["streamId"], other.as_str(), "{next}");
    socket.close(None).await.unwrap();
    wait_until("the connection is released", || async {
        health_connections(&server).await == 0
    })
    .await;
    server.stop().await;
}

/// Two changes of one stream reaching the hub in the opposite order of their versions (as
/// concurrent requests, or a local change and one from another instance, can): the client
/// gets the newer one only, so it never sees the stream go back.
pub async fn websocket_never_sends_an_older_version_after_a_newer(backend: Backend) {
    let server = start!(backend, &[]);
    let stream = create_stream(&server.client, &server.base, 1).await;
    let mut socket = connect(&server).await;
    subscribe(&mut socket, &stream).await;
    let event = |id: &str, version: i64| fluxora_server::store::outbox::EventRecord {
        id: id.to_owned(),
        payload: json!({ "id": id, "event": "stream.updated", "data": { "version": version } })
            .to_string(),
        stream_version: version,
    };
    let hub = &server.state().hub;
    hub.publish(&stream, &event("evt_v11", 11));
    hub.publish(&stream, &event("evt_v10", 10));
    hub.publish(&stream, &event("evt_v11_again", 11));
    hub.publish(&stream, &event("evt_v12", 12));
    let received = [next_json(&mut socket).await, next_json(&mut socket).await];
    assert_eq!(
        received.map(|update| update["eventId"].as_str().unwrap().to_owned()),
        ["evt_v11".to_owned(), "evt_v12".to_owned()]
    );
    // Another stream's versions are its own.
    let other = create_stream(&server.client, &server.base, 3).await;
    subscribe(&mut socket, &other).await;
    hub.publish(&other, &event("evt_other_v5", 5));
    assert_eq!(next_json(&mut socket).await["eventId"], "evt_other_v5");
    server.stop().await;
}

/// The feed is stamped with the database's clock (what instances tailing it compare), which
/// is Unix milliseconds on both backends.
pub async fn feed_rows_carry_the_database_clock(backend: Backend) {
    let server = start!(backend, &[]);
    let db = &server.state().db;
    let before = db.now_millis().await.unwrap();
    let local = fluxora_server::util::unix_millis();
    assert!(
        (before - local).abs() < 5_000,
        "database {before}, local {local}"
    );
    let stream = create_stream(&server.client, &server.base, 1).await;
    let after = db.now_millis().await.unwrap();
    let rows = fluxora_server::store::outbox::feed_heads_since(db, before)
        .await
        .unwrap();
    let row = rows
        .iter()
        .find(|row| row.stream_id == stream)
        .expect("the feed row");
    assert!(
        (before..=after).contains(&row.created_at),
        "{before} <= {} <= {after}",
        row.created_at
    );
    // The tail reads the payloads of the events it has not sent yet, by id.
    let payloads = fluxora_server::store::outbox::feed_payloads(db, &[row.event_id.as_str()])
        .await
        .unwrap();
    let payload: serde_json::Value = serde_json::from_str(&payloads[&row.event_id]).unwrap();
    assert_eq!(payload["id"], row.event_id.as_str());
    server.stop().await;
}

pub async fn websocket_error_codes_keep_the_connection(backend: Backend) {
    let server = start!(backend, &[]);
    let stream = create_stream(&server.client, &server.base, 1).await;
    let mut socket = connect(&server).await;
    let cases: Vec<(Message, &str)> = vec![
        (Message::text("x".repeat(4097)), "PAYLOAD_TOO_LARGE"),
        (Message::binary(vec![1u8, 2, 3]), "BINARY_NOT_SUPPORTED"),
        (Message::text("not json"), "INVALID_JSON"),
        (Message::text(r#"{"type":"subscribe"}"#), "INVALID_MESSAGE"),
        (
            Message::text(r#"{"type":"subscribe","streamId":42}"#),
            "INVALID_MESSAGE",
        ),
        (
            Message::text(r#"{"type":"hello","streamId":"s"}"#),
            "UNKNOWN_TYPE",
        ),
    ];
    for (message, code) in cases {
        socket.send(message).await.unwrap();
        assert_error(&next_json(&mut socket).await, code);
    }
    // Exactly 4096 bytes is within the limit (not JSON, not too large).
    socket.send(Message::text(" ".repeat(4096))).await.unwrap();
    assert_error(&next_json(&mut socket).await, "INVALID_JSON");
    // Still open and working.
    subscribe(&mut socket, &stream).await;
    set_stream_status(&server.client, &server.base, &stream, "paused").await;
    assert_eq!(next_json(&mut socket).await["type"], "stream_update");

    // Over 30 messages in 10 seconds.
    let mut flood = connect(&server).await;
    for _ in 0..30 {
        send_json(
            &mut flood,
            json!({ "type": "subscribe", "streamId": "str_flood" }),
        )
        .await;
        assert_eq!(next_json(&mut flood).await["type"], "subscribed");
    }
    send_json(
        &mut flood,
        json!({ "type": "subscribe", "streamId": "str_flood" }),
    )
    .await;
    assert_error(&next_json(&mut flood).await, "RATE_LIMIT_EXCEEDED");
    // The connection stays open: it still answers a ping.
    flood
        .send(Message::Ping(b"still there".to_vec().into()))
        .await
        .unwrap();
    loop {
        let message = flood.next().await.unwrap().unwrap();
        if let Message::Pong(data) = message {
            assert_eq!(&data[..], b"still there");
            break;
        }
    }
    server.stop().await;
}

pub async fn websocket_connection_limit_per_ip(backend: Backend) {
    let server = start!(backend, &["--ws-max-connections-per-ip", "2"]);
    let first = connect(&server).await;
    let _second = connect(&server).await;
    let url = format!("ws://{}/ws/streams", server.addr());
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 429);
        }
        other => panic!("a third connection from one IP must be refused: {other:?}"),
    }
    assert_eq!(health_connections(&server).await, 2);
    drop(first);
    wait_until("a slot frees up", || async {
        health_connections(&server).await == 1
    })
    .await;
    let _third = connect(&server).await;
    server.stop().await;
}

pub async fn websocket_pings_and_drops_silent_clients(backend: Backend) {
    let server = start!(backend, &["--ws-ping-interval-seconds", "1"]);
    // A client that never reads never answers pings: dropped after a missed pong.
    let silent = connect(&server).await;
    // A reading client answers (tungstenite replies to pings while reading) and stays.
    let mut live = connect(&server).await;
    let pings = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = pings.clone();
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = live.next().await {
            match message {
                Message::Ping(_) => {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                Message::Close(_) => return "closed",
                _ => {}
            }
        }
        "ended"
    });
    wait_until("the silent client is dropped", || async {
        health_connections(&server).await == 1
    })
    .await;
    wait_until("the live client got pings", || async {
        pings.load(std::sync::atomic::Ordering::SeqCst) >= 2
    })
    .await;
    assert!(!reader.is_finished(), "the live client is still connected");
    assert_eq!(health_connections(&server).await, 1);
    drop(silent);
    // Shutdown closes it cleanly with 1001.
    server.stop().await;
    assert_eq!(reader.await.unwrap(), "closed");
}
