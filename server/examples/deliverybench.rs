//! Benchmark of outbound delivery at scale (`benches/server/delivery.sh`): a separately
//! started release `fluxora-server` process, driven through its public API only, delivers to
//! loopback receivers in this process, which verify every webhook's signature with the core
//! and acknowledge it (204 or 200, alternating by endpoint).
//!
//! `--mode queued` (default): a backlog, then its drain.
//! 1. An instance started with `--webhook-concurrency 0` (it serves the API, delivers
//!    nothing) gets the endpoints registered (admin API) and `--events` chain events
//!    (`stream.created`, one stream each) ingested in batches (`POST /internal/indexer/batches`);
//!    the outbox then holds `events x endpoints` pending deliveries. The instance is stopped.
//! 2. A delivering instance is started on the same database; the clock starts when it is
//!    spawned. Reported: acknowledged webhooks per second over the drain (first to last
//!    acknowledgement, and from the spawn), and the p50 / p99 of each webhook's time from the
//!    spawn to its acknowledgement (its wait in the backlog included).
//!
//! `--mode live`: one delivering instance; events are ingested as fast as it accepts them
//! while it delivers. Reported: acknowledged webhooks per second from the first batch sent
//! to the last acknowledgement, and the p50 / p99 end-to-end latency of each webhook, from
//! the sending of its event's batch to its acknowledgement.
//!
//! Every delivery must verify and arrive exactly once (no crash here, so no redelivery): the
//! run fails otherwise. Prints one JSON line.
// A benchmark: any failure should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

const API_KEY: &str = "bench-api-key-0123456789abcdef";
const ADMIN_KEY: &str = "bench-admin-key-0123456789abcdef";
const TOKEN: &str = "bench-indexer-token-0123456789";
/// Events per ingested batch (the API takes up to 1,000).
const BATCH: usize = 500;

struct Args {
    server_bin: String,
    events: usize,
    endpoints: usize,
    live: bool,
    database_url: Option<String>,
    extra: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        server_bin: "target/release/fluxora-server".to_owned(),
        events: 10_000,
        endpoints: 1,
        live: false,
        database_url: None,
        extra: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--server-bin" => args.server_bin = value,
            "--events" => args.events = value.parse().unwrap(),
            "--endpoints" => args.endpoints = value.parse().unwrap(),
            "--mode" => args.live = value == "live",
            "--database-url" => args.database_url = Some(value),
            // Passed on to the delivering instance (e.g. `--server-arg --webhook-concurrency=256`).
            "--server-arg" => args.extra.push(value),
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

/// What every receiver shares: the acknowledgements, as (instant, event number).
struct Acks {
    base: Instant,
    live: bool,
    times: Mutex<Vec<(f64, u32)>>,
    rejected: AtomicU64,
}

struct Receiver {
    secret: OnceLock<String>,
    answer: axum::http::StatusCode,
    acks: Arc<Acks>,
}

async fn receive(
    axum::extract::State(state): axum::extract::State<Arc<Receiver>>,
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
    if !outcome.is_ok() {
        state.acks.rejected.fetch_add(1, Ordering::Relaxed);
        return axum::http::StatusCode::UNAUTHORIZED;
    }
    // The event number, for the live mode's latency: stream `bench-s{k}`.
    let k = if state.acks.live {
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        value["data"]["id"]
            .as_str()
            .and_then(|id| id.strip_prefix("bench-s"))
            .and_then(|k| k.parse().ok())
            .unwrap_or(0)
    } else {
        0
    };
    let at = state.acks.base.elapsed().as_secs_f64();
    state.acks.times.lock().unwrap().push((at, k));
    state.answer
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a server process on `port`, delivering with the `extra` flags, and waits until it
/// answers.
async fn spawn_server(args: &Args, store: &[String], port: u16, extra: &[String]) -> Child {
    let mut command = Command::new(&args.server_bin);
    command
        .args([
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
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
            // The loopback receivers only: traffic stays on this machine.
            "--egress-allow",
            "loopback",
            "--egress-allow-ports",
            "any",
        ])
        .args(store)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let child = command.spawn().expect("the server binary starts");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client
        .get(format!("http://127.0.0.1:{port}/health"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child
}

/// Stops a server process gracefully (SIGTERM) and waits for it.
async fn stop_server(mut child: Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    let _ = child.kill().await;
}

fn batch_of(first: usize, events: usize) -> Value {
    let list: Vec<Value> = (first..(first + BATCH).min(events))
        .map(|k| {
            let n = u32::try_from(k).unwrap();
            json!({
                "eventId": format!("bench-{k}"), "ledger": 1 + k / 100,
                "ledgerHash": format!("h{}", k / 100), "streamId": format!("bench-s{k}"),
                "type": "stream.created",
                "payload": { "sender": account(2 * n), "recipient": account(2 * n + 1),
                             "depositAmount": "100", "ratePerSecond": "0.001" },
            })
        })
        .collect();
    json!({ "events": list })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = parse_args();
    let run = format!(
        "{}_{}",
        std::process::id(),
        fluxora_server::util::unix_millis()
    );
    let dir = std::env::temp_dir().join(format!("fluxora-deliverybench-{run}"));
    let schema = format!("fxbench_{run}");
    let store: Vec<String> = match &args.database_url {
        Some(url) => vec![
            "--database-url".to_owned(),
            url.clone(),
            "--database-schema".to_owned(),
            schema.clone(),
        ],
        None => vec!["--data-dir".to_owned(), dir.display().to_string()],
    };
    let backend = if args.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let expected = args.events * args.endpoints;
    let acks = Arc::new(Acks {
        base: Instant::now(),
        live: args.live,
        times: Mutex::new(Vec::with_capacity(expected)),
        rejected: AtomicU64::new(0),
    });

    // The receivers, one port each.
    let mut receivers = Vec::new();
    for n in 0..args.endpoints {
        let state = Arc::new(Receiver {
            secret: OnceLock::new(),
            answer: if n % 2 == 0 {
                axum::http::StatusCode::NO_CONTENT
            } else {
                axum::http::StatusCode::OK
            },
            acks: acks.clone(),
        });
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        receivers.push((state, url));
    }

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let delivering: Vec<String> = args.extra.clone();
    let quiet = vec!["--webhook-concurrency".to_owned(), "0".to_owned()];
    let mut server = spawn_server(
        &args,
        &store,
        port,
        if args.live { &delivering } else { &quiet },
    )
    .await;
    let client = reqwest::Client::new();
    for (state, url) in &receivers {
        let registered: Value = client
            .post(format!("{base}/api/admin/webhooks/endpoints"))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({ "url": url }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let _ = state
            .secret
            .set(registered["data"]["secret"].as_str().unwrap().to_owned());
    }

    let mut sent_at = Vec::new();
    let ingest_started = Instant::now();
    let ingest_base = acks.base.elapsed().as_secs_f64();
    for first in (0..args.events).step_by(BATCH) {
        sent_at.push(acks.base.elapsed().as_secs_f64());
        let response = client
            .post(format!("{base}/internal/indexer/batches"))
            .bearer_auth(TOKEN)
            .json(&batch_of(first, args.events))
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
    let ingest_seconds = ingest_started.elapsed().as_secs_f64();

    let drain_base = if args.live {
        ingest_base
    } else {
        stop_server(server).await;
        let at = acks.base.elapsed().as_secs_f64();
        server = spawn_server(&args, &store, port, &delivering).await;
        at
    };
    let deadline = Instant::now() + Duration::from_secs(3600);
    while acks.times.lock().unwrap().len() < expected {
        assert!(Instant::now() < deadline, "the drain did not finish");
        assert_eq!(
            acks.rejected.load(Ordering::Relaxed),
            0,
            "a webhook failed to verify"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Anything more would be a duplicate.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_server(server).await;
    let times = acks.times.lock().unwrap().clone();
    assert_eq!(times.len(), expected, "every webhook exactly once");
    assert_eq!(acks.rejected.load(Ordering::Relaxed), 0);

    let first = times.iter().map(|t| t.0).fold(f64::MAX, f64::min);
    let last = times.iter().map(|t| t.0).fold(0.0, f64::max);
    let mut latencies: Vec<f64> = times
        .iter()
        .map(|(at, k)| {
            let from = if args.live {
                sent_at[*k as usize / BATCH]
            } else {
                drain_base
            };
            (at - from) * 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let total = last - drain_base;
    println!(
        "{}",
        json!({
            "backend": backend, "mode": if args.live { "live" } else { "queued" },
            "events": args.events, "endpoints": args.endpoints, "webhooks": expected,
            "ingestSeconds": ingest_seconds,
            "ingestEventsPerSecond": args.events as f64 / ingest_seconds,
            "seconds": total,
            "webhooksPerSecond": expected as f64 / total,
            "firstToLastAckSeconds": last - first,
            "firstToLastAckPerSecond": (expected as f64 - 1.0) / (last - first).max(1e-9),
            "latencyMsP50": percentile(&latencies, 0.5),
            "latencyMsP99": percentile(&latencies, 0.99),
            "serverArgs": args.extra,
        })
    );
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(url) = &args.database_url {
        use sqlx::{Connection, Executor};
        sqlx::any::install_default_drivers();
        if let Ok(mut conn) = sqlx::AnyConnection::connect(url).await {
            let _ = conn
                .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
                .await;
            let _ = conn.close().await;
        }
    }
}
