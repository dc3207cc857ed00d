//! Benchmark of the WebSocket fan-out (`benches/server/delivery.sh`; outbound delivery at
//! scale is `deliverybench.rs`).
//!
//! In one process, on loopback: a fluxora-server (SQLite in a temp dir, or PostgreSQL with
//! `--database-url`), a webhook receiver that verifies every delivery with the core, and
//! WebSocket clients.
//!
//! 1. A small delivery warm-up: `--events` chain events (`stream.created`, batches of 100)
//!    ingested and their signed webhooks verified and acknowledged.
//! 2. Fan-out: `--clients` WebSocket clients subscribe to one stream; `--updates` status
//!    changes are made one after the other; each client's latency from the change request to
//!    its update is recorded.
//!
//! Prints one JSON line per part.
// A benchmark: any failure should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::Parser;
use fluxora_server::cli::{Cli, Command};
use fluxora_server::config::Config;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const API_KEY: &str = "bench-api-key-0123456789abcdef";
const ADMIN_KEY: &str = "bench-admin-key-0123456789abcdef";
const TOKEN: &str = "bench-indexer-token-0123456789";

struct Args {
    events: usize,
    clients: usize,
    updates: usize,
    database_url: Option<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        events: 1000,
        clients: 1000,
        updates: 50,
        database_url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--events" => args.events = value.parse().unwrap_or(args.events),
            "--clients" => args.clients = value.parse().unwrap_or(args.clients),
            "--updates" => args.updates = value.parse().unwrap_or(args.updates),
            "--database-url" => args.database_url = Some(value),
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2);
            }
        }
    }
    args
}

fn account(n: u32) -> String {
    let mut key = [0u8; 32];
    key[..4].copy_from_slice(&n.to_le_bytes());
    key[31] = 1;
    fluxora_server::stellar::encode_account_id(&key)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

struct ReceiverState {
    secret: OnceLock<String>,
    verified: AtomicU64,
    rejected: AtomicU64,
}

async fn receive(
    axum::extract::State(state): axum::extract::State<Arc<ReceiverState>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let header = |name: &str| headers.get(name).map(|v| v.as_bytes()).unwrap_or_default();
    let secret = state.secret.get().map(String::as_str).unwrap_or_default();
    let outcome = fluxora_webhooks::Verifier::new(secret.as_bytes()).verify(
        &fluxora_webhooks::DeliveryHeaders::new(
            header("x-fluxora-delivery-id"),
            header("x-fluxora-timestamp"),
            header("x-fluxora-signature"),
        ),
        &body,
        fluxora_server::util::unix_seconds(),
        &mut fluxora_webhooks::NoReplayGuard,
    );
    if outcome.is_ok() {
        state.verified.fetch_add(1, Ordering::Relaxed);
        axum::http::StatusCode::OK
    } else {
        state.rejected.fetch_add(1, Ordering::Relaxed);
        axum::http::StatusCode::UNAUTHORIZED
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = parse_args();
    let dir = std::env::temp_dir().join(format!("fluxora-fanoutbench-{}", std::process::id()));
    let mut argv: Vec<String> = [
        "fluxora-server",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--api-keys",
        API_KEY,
        "--admin-api-keys",
        ADMIN_KEY,
        "--indexer-worker-token",
        TOKEN,
        "--rate-limit-per-minute",
        "0",
        "--api-key-rate-limit-per-minute",
        "0",
        "--ws-max-connections-per-ip",
        "100000",
        "--log-format",
        "text",
        // The loopback receivers only: traffic stays on this machine.
        "--egress-allow",
        "loopback",
        "--egress-allow-ports",
        "any",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    match &args.database_url {
        Some(url) => argv.extend([
            "--database-url".to_owned(),
            url.clone(),
            "--database-schema".to_owned(),
            format!("fxbench_{}", std::process::id()),
        ]),
        None => argv.extend(["--data-dir".to_owned(), dir.display().to_string()]),
    }
    let Some(Command::Serve(serve)) = Cli::parse_from(argv).command else {
        unreachable!("serve")
    };
    let config = Config::from_args(&serve).expect("configuration");
    let backend = config.database.backend();
    let server = fluxora_server::start(config).await.expect("server starts");
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();

    // The receiver.
    let state = Arc::new(ReceiverState {
        secret: OnceLock::new(),
        verified: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
    });
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let registered: Value = client
        .post(format!("{base}/api/admin/webhooks/endpoints"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({ "url": hook }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = state
        .secret
        .set(registered["data"]["secret"].as_str().unwrap().to_owned());

    // 1. Events ingested -> webhooks acknowledged.
    let started = Instant::now();
    let mut n = 0u32;
    while (n as usize) < args.events {
        let events: Vec<Value> = (0..100)
            .take_while(|i| ((n + i) as usize) < args.events)
            .map(|i| {
                let k = n + i;
                json!({
                    "eventId": format!("bench-{k}"), "ledger": 1 + u64::from(k / 100),
                    "ledgerHash": format!("h{}", k / 100), "streamId": format!("bench-s{k}"),
                    "type": "stream.created",
                    "payload": { "sender": account(2 * k), "recipient": account(2 * k + 1),
                                 "depositAmount": "100", "ratePerSecond": "0.001" },
                })
            })
            .collect();
        n += events.len() as u32;
        let response = client
            .post(format!("{base}/internal/indexer/batches"))
            .bearer_auth(TOKEN)
            .json(&json!({ "events": events }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            200,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }
    let ingested = started.elapsed();
    while state.verified.load(Ordering::Relaxed) < args.events as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered = started.elapsed();
    println!(
        "{}",
        json!({
            "part": "delivery", "backend": backend, "events": args.events,
            "ingestSeconds": ingested.as_secs_f64(),
            "deliveredSeconds": delivered.as_secs_f64(),
            "eventsToAckedWebhooksPerSecond": args.events as f64 / delivered.as_secs_f64(),
            "rejectedByReceiver": state.rejected.load(Ordering::Relaxed),
        })
    );

    // 2. WebSocket fan-out.
    let stream = "bench-fanout";
    let created = client
        .post(format!("{base}/internal/indexer/batches"))
        .bearer_auth(TOKEN)
        .json(&json!({ "events": [{
            "eventId": "bench-fanout-created", "ledger": 1_000_000, "ledgerHash": "hf",
            "streamId": stream, "type": "stream.created",
            "payload": { "sender": account(1), "recipient": account(3),
                         "depositAmount": "1", "ratePerSecond": "0" },
        }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 200);
    let sent: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let ws_url = format!("ws://{}/ws/streams", server.addr);
    let mut readers = Vec::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(args.clients);
    for _ in 0..args.clients {
        let (mut socket, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .expect("websocket connect");
        let (sent, latencies, ready, updates) = (
            sent.clone(),
            latencies.clone(),
            ready_tx.clone(),
            args.updates,
        );
        readers.push(tokio::spawn(async move {
            socket
                .send(Message::text(
                    json!({ "type": "subscribe", "streamId": stream }).to_string(),
                ))
                .await
                .unwrap();
            let mut seen = 0;
            while seen < updates {
                let text = match socket.next().await {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => panic!("a fan-out client lost its connection"),
                };
                let value: Value = serde_json::from_str(text.as_str()).unwrap();
                if value["type"] == "subscribed" {
                    let _ = ready.send(()).await;
                } else if value["type"] == "stream_update" {
                    let at = sent.lock().unwrap()[seen];
                    latencies
                        .lock()
                        .unwrap()
                        .push(at.elapsed().as_secs_f64() * 1000.0);
                    seen += 1;
                }
            }
        }));
    }
    for _ in 0..args.clients {
        ready_rx.recv().await;
    }
    let fanout_started = Instant::now();
    for k in 0..args.updates {
        let status = if k % 2 == 0 {
            "stream.paused"
        } else {
            "stream.resumed"
        };
        sent.lock().unwrap().push(Instant::now());
        let response = client
            .post(format!("{base}/internal/indexer/batches"))
            .bearer_auth(TOKEN)
            .json(&json!({ "events": [{
                "eventId": format!("bench-fanout-{k}"), "ledger": 1_000_001 + k as u64,
                "ledgerHash": format!("hf{k}"), "streamId": stream, "type": status, "payload": {},
            }] }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    for reader in readers {
        reader.await.unwrap();
    }
    let elapsed = fanout_started.elapsed();
    let mut sorted = latencies.lock().unwrap().clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "{}",
        json!({
            "part": "websocket_fanout", "backend": backend, "clients": args.clients,
            "updates": args.updates, "messages": sorted.len(),
            "seconds": elapsed.as_secs_f64(),
            "messagesPerSecond": sorted.len() as f64 / elapsed.as_secs_f64(),
            "latencyMsP50": percentile(&sorted, 0.5),
            "latencyMsP99": percentile(&sorted, 0.99),
        })
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(url) = &args.database_url {
        use sqlx::{Connection, Executor};
        if let Ok(mut conn) = sqlx::AnyConnection::connect(url).await {
            let schema = format!("fxbench_{}", std::process::id());
            let _ = conn
                .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
                .await;
            let _ = conn.close().await;
        }
    }
}
