//! Load driver of the WebSocket fan-out benchmark (`benches/server/fanout.sh`).
//!
//! It drives a separately started `fluxora-server serve` through its public API only, so the
//! figures are the server's as deployed (release binary, its own process and runtime), not an
//! in-process test server's:
//!
//! 1. creates `--streams` streams (`POST /api/streams`, the API key from `FANOUT_API_KEY`);
//! 2. opens `--clients` WebSocket clients on `/ws/streams`, each subscribed to every stream,
//!    so every update goes to every client; the server's RSS (`/proc/<pid>/status`, with
//!    `--server-pid`) is read before and after, for the memory per connection;
//! 3. for `--seconds`, changes the streams' status (`PATCH /api/streams/{id}/status`, paused
//!    and active in turn) at `--rate` changes per second in total, from `--writers` request
//!    loops (default 1: one request in flight, as one API client would; concurrent writers on
//!    the embedded SQLite queue on its write lock, whose busy handler sleeps, and that measures
//!    SQLite rather than the fan-out), and stops when every client got every update (or after
//!    a grace period).
//!
//! Latency is from the moment a change request is sent to the moment a client has read its
//! `stream_update`. The send time is recorded per (stream, change number) before the request
//! goes out; a client counts the updates it got per stream, so its n-th update of a stream is
//! that stream's n-th change (the server sends a stream's updates in order), and the payload's
//! status checks the pairing (change n sets `paused` when n is even, `active` when odd).
//!
//! The clients share the machine with the server, so they are kept cheap: one runtime thread
//! for all of them (`--client-threads`), a small read buffer, and a substring search for the
//! two fields they need instead of a JSON parse. The changes are sent from a thread of their
//! own so their pace does not depend on how busy the clients are.
//!
//! Prints one JSON line.
// A benchmark: any failure should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Updates a client may still be waiting for once the changes stopped.
const GRACE: Duration = Duration::from_secs(10);

struct Args {
    base: String,
    clients: usize,
    streams: usize,
    rate: f64,
    seconds: f64,
    connect_concurrency: usize,
    client_threads: usize,
    writers: usize,
    server_pid: Option<u32>,
    label: String,
}

fn parse_args() -> Args {
    let mut args = Args {
        base: String::new(),
        clients: 1000,
        streams: 4,
        rate: 100.0,
        seconds: 10.0,
        connect_concurrency: 64,
        client_threads: 1,
        writers: 1,
        server_pid: None,
        label: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        let number = || -> f64 {
            value.parse().unwrap_or_else(|_| {
                eprintln!("{flag} needs a number, not {value:?}");
                std::process::exit(2);
            })
        };
        match flag.as_str() {
            "--url" => args.base = value.trim_end_matches('/').to_owned(),
            "--clients" => args.clients = number() as usize,
            "--streams" => args.streams = (number() as usize).clamp(1, 30),
            "--rate" => args.rate = number(),
            "--seconds" => args.seconds = number(),
            "--connect-concurrency" => args.connect_concurrency = (number() as usize).max(1),
            "--client-threads" => args.client_threads = (number() as usize).max(1),
            "--writers" => args.writers = (number() as usize).max(1),
            "--server-pid" => args.server_pid = Some(number() as u32),
            "--label" => args.label = value,
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2);
            }
        }
    }
    if args.base.is_empty() {
        eprintln!("--url http://host:port is required");
        std::process::exit(2);
    }
    args
}

/// The send times of every change: `[stream][change]`, nanoseconds since `epoch` (0: unsent).
struct SendTimes {
    epoch: Instant,
    slots: Vec<Vec<AtomicU64>>,
}

impl SendTimes {
    fn new(streams: usize, changes_per_stream: usize) -> Self {
        Self {
            epoch: Instant::now(),
            slots: (0..streams)
                .map(|_| (0..changes_per_stream).map(|_| AtomicU64::new(0)).collect())
                .collect(),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

/// What one client measured.
#[derive(Default)]
struct ClientReport {
    /// Latencies in microseconds.
    latencies_us: Vec<u32>,
    /// Updates whose status was not the one the change number implies.
    mismatched: u64,
    /// When its last update was read (nanoseconds since the epoch).
    last_at: u64,
}

/// The status change number `change` of a stream sets (streams start active).
fn status_of(change: usize) -> &'static str {
    if change.is_multiple_of(2) {
        "paused"
    } else {
        "active"
    }
}

/// The text between `"<field>":"` and the next quote.
fn field<'a>(text: &'a str, field: &str) -> Option<&'a str> {
    let start = text.find(field)? + field.len();
    let rest = text.get(start..)?;
    Some(&rest[..rest.find('"')?])
}

/// CPU seconds (user + system) used so far by process `pid` (`self` for this one).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks / 100.0)
}

/// The server's resident set size in KiB.
fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index.min(sorted.len() - 1)]) / 1000.0
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects and subscribes to every stream; returns once every subscription is confirmed.
async fn connect(ws_url: &str, streams: &[String]) -> Socket {
    // tungstenite zero-fills the read buffer's size before each read: keep it small.
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(ws_url, Some(config), true)
        .await
        .expect("websocket connect");
    for stream in streams {
        socket
            .feed(Message::text(
                json!({ "type": "subscribe", "streamId": stream }).to_string(),
            ))
            .await
            .unwrap();
    }
    socket.flush().await.unwrap();
    let mut confirmed = 0;
    while confirmed < streams.len() {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.contains(r#""subscribed""#) => confirmed += 1,
            Some(Ok(Message::Text(text))) => panic!("unexpected before the changes: {text}"),
            Some(Ok(_)) => {}
            Some(Err(err)) => panic!("subscribing: {err}"),
            None => panic!("closed while subscribing"),
        }
    }
    socket
}

/// Reads updates until `expected` (set once the changes stop) were read, or the grace period
/// after the changes is over.
async fn read_updates(
    mut socket: Socket,
    streams: Arc<Vec<String>>,
    sent: Arc<SendTimes>,
    mut expected: tokio::sync::watch::Receiver<usize>,
    done: Arc<tokio::sync::Notify>,
) -> ClientReport {
    let mut report = ClientReport::default();
    let mut counts = vec![0usize; streams.len()];
    let mut read = 0usize;
    let stopped = done.notified();
    tokio::pin!(stopped);
    loop {
        if read >= *expected.borrow_and_update() {
            break;
        }
        let message = tokio::select! {
            message = socket.next() => message,
            // The changes stopped: `expected` is now their number.
            _ = expected.changed() => continue,
            () = &mut stopped => break,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            Some(Err(err)) => panic!("a client lost its connection: {err}"),
            None => panic!("a client's connection closed"),
        };
        let now = sent.now();
        let Some(stream) =
            field(&text, r#""streamId":""#).and_then(|id| streams.iter().position(|s| s == id))
        else {
            continue;
        };
        let change = counts[stream];
        counts[stream] += 1;
        read += 1;
        if field(&text, r#""status":""#) != Some(status_of(change)) {
            report.mismatched += 1;
        }
        let at = sent.slots[stream]
            .get(change)
            .map_or(0, |slot| slot.load(Ordering::Acquire));
        if at > 0 {
            report
                .latencies_us
                .push(((now.saturating_sub(at)) / 1000).min(u64::from(u32::MAX)) as u32);
        }
        report.last_at = now;
    }
    let _ = socket.close(None).await;
    report
}

/// Changes the streams' status at `rate` per second in total for `seconds`, from `writers`
/// request loops (stream `s` belongs to loop `s % writers`, which goes round its streams one
/// request at a time: a stream never has two changes in flight); returns the round-trip time
/// of every change request, in microseconds.
async fn change_statuses(
    base: String,
    api_key: String,
    streams: Arc<Vec<String>>,
    sent: Arc<SendTimes>,
    rate: f64,
    seconds: f64,
    writers: usize,
) -> Vec<u32> {
    let client = reqwest::Client::new();
    let writers = writers.clamp(1, streams.len());
    let period = Duration::from_secs_f64(writers as f64 / rate);
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let capacity = sent.slots[0].len();
    let mut loops = Vec::new();
    for writer in 0..writers {
        let (client, base, api_key, sent, streams) = (
            client.clone(),
            base.clone(),
            api_key.clone(),
            sent.clone(),
            streams.clone(),
        );
        let mine: Vec<usize> = (writer..streams.len()).step_by(writers).collect();
        // Spread the loops' requests evenly over each period.
        let offset = period.mul_f64(writer as f64 / writers as f64);
        loops.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
            let mut changes = vec![0usize; streams.len()];
            let mut round_trips = Vec::new();
            for turn in 0.. {
                let stream = mine[turn % mine.len()];
                let change = changes[stream];
                tick.tick().await;
                if Instant::now() >= until || change >= capacity {
                    break;
                }
                let at = sent.now();
                sent.slots[stream][change].store(at, Ordering::Release);
                let response = client
                    .patch(format!("{base}/api/streams/{}/status", streams[stream]))
                    .bearer_auth(&api_key)
                    .json(&json!({ "status": status_of(change) }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    response.status().as_u16(),
                    200,
                    "{}",
                    response.text().await.unwrap_or_default()
                );
                round_trips.push(((sent.now() - at) / 1000).min(u64::from(u32::MAX)) as u32);
                changes[stream] += 1;
            }
            round_trips
        }));
    }
    let mut round_trips = Vec::new();
    for changes in loops {
        round_trips.extend(changes.await.unwrap());
    }
    round_trips
}

fn main() {
    let args = parse_args();
    let api_key =
        std::env::var("FANOUT_API_KEY").expect("FANOUT_API_KEY: an API key of the server");
    let clients_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .enable_all()
        .build()
        .unwrap();
    let changes_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("changes")
        .enable_all()
        .build()
        .unwrap();

    // 1. Streams.
    let streams: Arc<Vec<String>> = Arc::new(changes_runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut ids = Vec::new();
        for n in 0..args.streams {
            let account = |k: usize| {
                let mut key = [0u8; 32];
                key[..8].copy_from_slice(&(k as u64).to_le_bytes());
                key[31] = 7;
                fluxora_server::stellar::encode_account_id(&key)
            };
            let response = client
                .post(format!("{}/api/streams", args.base))
                .bearer_auth(&api_key)
                .json(&json!({
                    "sender": account(2 * n), "recipient": account(2 * n + 1),
                    "depositAmount": "1000", "ratePerSecond": "0.001",
                }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 201, "creating a stream");
            let body: Value = response.json().await.unwrap();
            ids.push(body["data"]["id"].as_str().unwrap().to_owned());
        }
        ids
    }));

    // 2. Clients.
    let changes_per_stream = (args.rate * args.seconds / args.streams as f64).ceil() as usize + 2;
    let sent = Arc::new(SendTimes::new(args.streams, changes_per_stream));
    // The number of changes once they stopped; until then, unknown (no reader stops).
    let (expected_tx, expected) = tokio::sync::watch::channel(usize::MAX);
    let done = Arc::new(tokio::sync::Notify::new());
    let rss_before = rss_kib(args.server_pid);
    let ws_url = format!("{}/ws/streams", args.base.replacen("http", "ws", 1));
    let connect_started = Instant::now();
    let readers = clients_runtime.block_on(async {
        let gate = Arc::new(tokio::sync::Semaphore::new(args.connect_concurrency));
        let mut connecting = Vec::new();
        for _ in 0..args.clients {
            let permit = gate.clone().acquire_owned().await.unwrap();
            let (ws_url, streams) = (ws_url.clone(), streams.clone());
            connecting.push(tokio::spawn(async move {
                let socket = connect(&ws_url, &streams).await;
                drop(permit);
                socket
            }));
        }
        let mut readers = Vec::new();
        for socket in connecting {
            let socket = socket.await.unwrap();
            readers.push(tokio::spawn(read_updates(
                socket,
                streams.clone(),
                sent.clone(),
                expected.clone(),
                done.clone(),
            )));
        }
        readers
    });
    let connect_seconds = connect_started.elapsed().as_secs_f64();
    // Let the server settle (the connection tasks' first allocations) before reading RSS.
    std::thread::sleep(Duration::from_secs(1));
    let rss_after = rss_kib(args.server_pid);

    // 3. Changes.
    let server_pid = args.server_pid.map(|pid| pid.to_string());
    let cpu_before = (
        server_pid.as_deref().and_then(cpu_seconds),
        cpu_seconds("self"),
    );
    let first_send = sent.now();
    let mut round_trips = changes_runtime.block_on(change_statuses(
        args.base.clone(),
        api_key,
        streams.clone(),
        sent.clone(),
        args.rate,
        args.seconds,
        args.writers,
    ));
    let changes_seconds = (sent.now() - first_send) as f64 / 1e9;
    let changes = round_trips.len();
    round_trips.sort_unstable();
    expected_tx.send_replace(changes);
    let reports = clients_runtime.block_on(async {
        // Readers blocked on a read that will not come (a lost update) are stopped after
        // the grace period.
        let grace = tokio::spawn({
            let done = done.clone();
            async move {
                tokio::time::sleep(GRACE).await;
                done.notify_waiters();
            }
        });
        let mut reports = Vec::new();
        for reader in readers {
            reports.push(reader.await.unwrap());
        }
        grace.abort();
        reports
    });

    let messages: usize = reports.iter().map(|r| r.latencies_us.len()).sum();
    let mismatched: u64 = reports.iter().map(|r| r.mismatched).sum();
    let last_at = reports
        .iter()
        .map(|r| r.last_at)
        .max()
        .unwrap_or(first_send);
    let span = (last_at.saturating_sub(first_send)) as f64 / 1e9;
    let cpu_after = (
        server_pid.as_deref().and_then(cpu_seconds),
        cpu_seconds("self"),
    );
    // CPU cores used from the first change to the last update read.
    let cores = |before: Option<f64>, after: Option<f64>| match (before, after) {
        (Some(before), Some(after)) => json!((after - before) / span.max(f64::EPSILON)),
        _ => Value::Null,
    };
    let mut latencies: Vec<u32> = reports
        .into_iter()
        .flat_map(|report| report.latencies_us)
        .collect();
    latencies.sort_unstable();
    let per_connection = match (rss_before, rss_after) {
        (Some(before), Some(after)) if args.clients > 0 => {
            json!(after.saturating_sub(before) as f64 / args.clients as f64)
        }
        _ => Value::Null,
    };
    println!(
        "{}",
        json!({
            "label": args.label,
            "clients": args.clients,
            "streams": args.streams,
            "writers": args.writers,
            "changes": changes,
            "changesPerSecond": changes as f64 / changes_seconds,
            "expectedMessages": changes * args.clients,
            "messages": messages,
            "missing": (changes * args.clients).saturating_sub(messages),
            "mismatched": mismatched,
            "seconds": span,
            "messagesPerSecond": messages as f64 / span.max(f64::EPSILON),
            "latencyMsP50": percentile_ms(&latencies, 0.5),
            "latencyMsP90": percentile_ms(&latencies, 0.9),
            "latencyMsP99": percentile_ms(&latencies, 0.99),
            "latencyMsMax": percentile_ms(&latencies, 1.0),
            "changeRequestMsP50": percentile_ms(&round_trips, 0.5),
            "changeRequestMsP99": percentile_ms(&round_trips, 0.99),
            "serverCores": cores(cpu_before.0, cpu_after.0),
            "driverCores": cores(cpu_before.1, cpu_after.1),
            "connectSeconds": connect_seconds,
            "serverRssKiBBefore": rss_before,
            "serverRssKiBAfter": rss_after,
            "serverRssKiBPerConnection": per_connection,
        })
    );
}
