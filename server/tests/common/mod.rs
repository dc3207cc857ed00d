//! Test harness: a real server on a free loopback port, on SQLite or PostgreSQL.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use clap::Parser;
use fluxora_server::cli::{Cli, Command};
use fluxora_server::{Config, RunningServer};
use sqlx::Executor as _;

pub const SECRET: &str = "whsec_test_secret_0123456789";
pub const PREVIOUS_SECRET: &str = "whsec_previous_secret_abcdef";
pub const API_KEY: &str = "test-api-key-0123456789abcdef";
pub const OTHER_API_KEY: &str = "test-api-key-second-9876543210";
pub const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);
static PG_NOTICE: Once = Once::new();

/// Where a server keeps its data, so a restart can reuse it.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(PathBuf),
    Postgres { url: String, schema: String },
}

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        fluxora_server::util::random_hex(3)
    )
}

/// Candidate PostgreSQL URLs: `FLUXORA_TEST_POSTGRES_URL`, else user postgres then root.
fn postgres_urls() -> Vec<String> {
    match std::env::var("FLUXORA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => vec![url],
        _ => vec![
            "postgres://postgres@127.0.0.1:5432/test".to_owned(),
            "postgres://root@127.0.0.1:5432/test".to_owned(),
        ],
    }
}

/// A PostgreSQL URL that accepts connections, or why none does.
pub async fn postgres_url() -> Result<String, String> {
    sqlx::any::install_default_drivers();
    let mut reasons = Vec::new();
    for url in postgres_urls() {
        let attempt = tokio::time::timeout(
            Duration::from_secs(5),
            <sqlx::AnyConnection as sqlx::Connection>::connect(&url),
        )
        .await;
        match attempt {
            Ok(Ok(conn)) => {
                let _ = sqlx::Connection::close(conn).await;
                return Ok(url);
            }
            Ok(Err(err)) => reasons.push(format!("{url}: {err}")),
            Err(_) => reasons.push(format!("{url}: timed out")),
        }
    }
    Err(reasons.join("; "))
}

/// Says once, on the real stderr (not captured), that the PostgreSQL tests did not run.
/// With `FLUXORA_REQUIRE_POSTGRES=1` an unreachable server fails the test instead.
pub fn postgres_unavailable(reason: &str) {
    if std::env::var("FLUXORA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("PostgreSQL is required (FLUXORA_REQUIRE_POSTGRES=1) but unreachable: {reason}");
    }
    PG_NOTICE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** PostgreSQL tests NOT RUN: no PostgreSQL reachable ({reason}).\n*** Start PostgreSQL on 127.0.0.1:5432 with database `test` (trust auth) or set FLUXORA_TEST_POSTGRES_URL.\n"
        );
    });
}

impl Store {
    /// A fresh store: a temp dir for SQLite, a new schema for PostgreSQL (None: unreachable).
    pub async fn fresh(backend: Backend) -> Option<Store> {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(unique("fluxora-test"));
                std::fs::create_dir_all(&dir).expect("temp dir");
                Some(Store::Sqlite(dir))
            }
            Backend::Postgres => match postgres_url().await {
                Ok(url) => Some(Store::Postgres {
                    url,
                    schema: unique("fxtest"),
                }),
                Err(reason) => {
                    postgres_unavailable(&reason);
                    None
                }
            },
        }
    }

    pub fn args(&self) -> Vec<String> {
        match self {
            Store::Sqlite(dir) => vec!["--data-dir".into(), dir.display().to_string()],
            Store::Postgres { url, schema } => vec![
                "--database-url".into(),
                url.clone(),
                "--database-schema".into(),
                schema.clone(),
            ],
        }
    }

    /// Removes the data (temp dir or schema).
    pub async fn remove(&self) {
        match self {
            Store::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Store::Postgres { url, schema } => {
                if let Ok(mut conn) = <sqlx::AnyConnection as sqlx::Connection>::connect(url).await
                {
                    let _ = conn
                        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
                        .await;
                    let _ = sqlx::Connection::close(conn).await;
                }
            }
        }
    }
}

/// A server running in this process, bound to 127.0.0.1 on a free port.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    running: Option<RunningServer>,
}

/// The options every test server gets, before the test's own.
pub fn default_args() -> Vec<String> {
    [
        "--webhook-secret",
        SECRET,
        "--api-keys",
        &format!("{API_KEY},{OTHER_API_KEY}"),
        "--rate-limit-per-minute",
        "0",
        "--api-key-rate-limit-per-minute",
        "0",
        "--admin-api-keys",
        ADMIN_KEY,
        "--webhook-retry-base-ms",
        "50",
        "--webhook-poll-interval-ms",
        "50",
        "--log-format",
        "text",
        // Traffic stays on this machine: the test receivers listen on loopback ports.
        "--egress-allow",
        "loopback",
        "--egress-allow-ports",
        "any",
        "--egress-allow-only",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

pub fn config(store: &Store, extra: &[&str]) -> Config {
    let mut argv: Vec<String> = vec![
        "fluxora-server".into(),
        "serve".into(),
        "--host".into(),
        "127.0.0.1".into(),
        "--port".into(),
        "0".into(),
    ];
    argv.extend(store.args());
    // The test's own options replace the defaults of the same name.
    let defaults = default_args();
    for pair in defaults.chunks(2) {
        if !extra.contains(&pair[0].as_str()) {
            argv.extend(pair.iter().cloned());
        }
    }
    argv.extend(extra.iter().map(|s| (*s).to_owned()));
    let cli = Cli::try_parse_from(argv).expect("test arguments parse");
    let Some(Command::Serve(args)) = cli.command else {
        panic!("serve expected")
    };
    Config::from_args(&args).expect("test configuration is valid")
}

impl TestServer {
    /// A server on a fresh store; `None` when the backend is unavailable (already reported).
    pub async fn start(backend: Backend, extra: &[&str]) -> Option<TestServer> {
        let store = Store::fresh(backend).await?;
        Some(Self::start_on(store, extra).await)
    }

    /// A server on an existing store (restarts).
    pub async fn start_on(store: Store, extra: &[&str]) -> TestServer {
        let running = fluxora_server::start(config(&store, extra))
            .await
            .expect("server starts");
        TestServer {
            base: format!("http://{}", running.addr),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            store,
            running: Some(running),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn state(&self) -> &fluxora_server::AppState {
        &self.running.as_ref().expect("running").state
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.running.as_ref().expect("running").addr
    }

    /// Stops the server gracefully, keeping its data.
    pub async fn stop_keep(mut self) -> Store {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        self.store.clone()
    }

    /// Stops the server and removes its data.
    pub async fn stop(self) {
        let store = self.stop_keep().await;
        store.remove().await;
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("POST")
    }
}

/// Signed delivery headers for `body` at `timestamp` (seconds) with `secret`.
pub fn signed(
    secret: &str,
    body: &[u8],
    timestamp: u64,
    delivery_id: &str,
) -> Vec<(&'static str, String)> {
    let signature =
        fluxora_webhooks::sign(secret.as_bytes(), timestamp.to_string().as_bytes(), body);
    vec![
        ("x-fluxora-delivery-id", delivery_id.to_owned()),
        ("x-fluxora-timestamp", timestamp.to_string()),
        ("x-fluxora-signature", signature.as_str().to_owned()),
        ("x-fluxora-event", "stream.updated".to_owned()),
    ]
}

pub fn now() -> u64 {
    fluxora_server::util::unix_seconds()
}

/// POSTs `body` with `headers` to the receiver; returns (status, JSON body).
pub async fn deliver(
    server: &TestServer,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let mut request = server
        .client
        .post(server.url("/internal/webhooks/receive"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    let response = request.body(body).send().await.expect("deliver");
    let status = response.status().as_u16();
    let json = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// A valid account id for `n` (distinct per n).
pub fn account(n: u8) -> String {
    fluxora_server::stellar::encode_account_id(&[n; 32])
}

/// A valid create-stream body.
pub fn stream_body(sender: &str, recipient: &str) -> serde_json::Value {
    serde_json::json!({
        "sender": sender,
        "recipient": recipient,
        "depositAmount": "100.50",
        "ratePerSecond": "0.0000010",
        "startTime": 1_710_000_000u64,
        "endTime": 1_720_000_000u64,
    })
}

// ---------------------------------------------------------------------------------------
// Outbound delivery: a test receiver that verifies with the core, and process helpers.

/// One request that reached a [`Receiver`].
#[derive(Clone, Debug)]
pub struct Arrival {
    pub delivery_id: String,
    pub timestamp: String,
    pub event_header: String,
    pub body: Vec<u8>,
    /// The core's outcome code for this request with the receiver's current secret.
    pub verified: &'static str,
    /// The status the receiver answered.
    pub status: u16,
}

impl Arrival {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    pub fn event(&self) -> String {
        self.json()["event"].as_str().unwrap_or_default().to_owned()
    }
}

/// Decides the answer: (delivery id, how many times this id arrived including this one).
pub type Script = Box<dyn Fn(&str, usize) -> (u16, String) + Send + Sync>;

struct ReceiverState {
    secret: std::sync::Mutex<String>,
    script: std::sync::Mutex<Script>,
    delay: Duration,
    arrivals: std::sync::Mutex<Vec<Arrival>>,
}

/// A webhook receiver on a free loopback port. It verifies every request with the core's
/// `Verifier` (no replay store: retries and duplicates are counted, not rejected), records
/// it, waits `delay`, then answers what the script says.
pub struct Receiver {
    pub url: String,
    state: std::sync::Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

async fn receive(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<ReceiverState>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    };
    let (id, timestamp) = (
        header("x-fluxora-delivery-id"),
        header("x-fluxora-timestamp"),
    );
    let signature = header("x-fluxora-signature");
    let secret = state.secret.lock().unwrap().clone();
    let outcome = fluxora_webhooks::Verifier::new(secret.as_bytes()).verify(
        &fluxora_webhooks::DeliveryHeaders::new(&id, &timestamp, &signature),
        &body,
        now(),
        &mut fluxora_webhooks::NoReplayGuard,
    );
    let (status, answer) = {
        let mut arrivals = state.arrivals.lock().unwrap();
        let seen = arrivals.iter().filter(|a| a.delivery_id == id).count() + 1;
        let (status, answer) = (state.script.lock().unwrap())(&id, seen);
        arrivals.push(Arrival {
            delivery_id: id.clone(),
            timestamp,
            event_header: header("x-fluxora-event"),
            body: body.to_vec(),
            verified: outcome.code(),
            status,
        });
        (status, answer)
    };
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    (axum::http::StatusCode::from_u16(status).unwrap(), answer)
}

impl Receiver {
    pub async fn start(script: Script) -> Receiver {
        Self::start_with_delay(script, Duration::ZERO).await
    }

    pub async fn start_with_delay(script: Script, delay: Duration) -> Receiver {
        let state = std::sync::Arc::new(ReceiverState {
            secret: std::sync::Mutex::new(String::new()),
            script: std::sync::Mutex::new(script),
            delay,
            arrivals: std::sync::Mutex::default(),
        });
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver { url, state, task }
    }

    /// Answers 200 to everything.
    pub async fn ok() -> Receiver {
        Self::start(Box::new(|_, _| (200, r#"{"ok":true}"#.to_owned()))).await
    }

    pub fn set_secret(&self, secret: &str) {
        *self.state.secret.lock().unwrap() = secret.to_owned();
    }

    pub fn set_script(&self, script: Script) {
        *self.state.script.lock().unwrap() = script;
    }

    pub fn arrivals(&self) -> Vec<Arrival> {
        self.state.arrivals.lock().unwrap().clone()
    }

    pub fn distinct_ids(&self) -> std::collections::BTreeSet<String> {
        self.arrivals().into_iter().map(|a| a.delivery_id).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls `condition` every 50 ms until it holds; panics with `what` after 60 s.
pub async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if condition().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An admin request to `base` + `path`; returns (status, JSON).
pub async fn admin(
    client: &reqwest::Client,
    method: reqwest::Method,
    base: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(ADMIN_KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("admin request");
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// Registers `url` at the server at `base`; returns (endpoint id, secret).
pub async fn register_endpoint(
    client: &reqwest::Client,
    base: &str,
    url: &str,
) -> (String, String) {
    let (status, body) = admin(
        client,
        reqwest::Method::POST,
        base,
        "/api/admin/webhooks/endpoints",
        Some(serde_json::json!({ "url": url })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (
        body["data"]["id"].as_str().unwrap().to_owned(),
        body["data"]["secret"].as_str().unwrap().to_owned(),
    )
}

/// Deliveries listed by the admin API at `base` (`query` like `?status=dead`).
pub async fn deliveries(
    client: &reqwest::Client,
    base: &str,
    query: &str,
) -> Vec<serde_json::Value> {
    let (status, body) = admin(
        client,
        reqwest::Method::GET,
        base,
        &format!("/api/admin/webhooks/deliveries{query}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

/// Creates a stream at `base`; returns its id.
pub async fn create_stream(client: &reqwest::Client, base: &str, n: u8) -> String {
    let response = client
        .post(format!("{base}/api/streams"))
        .bearer_auth(API_KEY)
        .json(&stream_body(&account(n), &account(n.wrapping_add(1))))
        .send()
        .await
        .expect("create stream");
    assert_eq!(response.status().as_u16(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    body["data"]["id"].as_str().unwrap().to_owned()
}

/// Moves stream `id` at `base` to `status`.
pub async fn set_stream_status(client: &reqwest::Client, base: &str, id: &str, status: &str) {
    let response = client
        .patch(format!("{base}/api/streams/{id}/status"))
        .bearer_auth(API_KEY)
        .json(&serde_json::json!({ "status": status }))
        .send()
        .await
        .expect("set status");
    assert_eq!(response.status().as_u16(), 200);
}

/// Starts the real binary on `store` with the default and `extra` options; returns it with
/// its base URL.
pub async fn spawn_server(store: &Store, extra: &[&str]) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_fluxora-server"));
    command
        .arg("serve")
        .args(["--host", "127.0.0.1", "--port", "0"])
        .args(store.args())
        .args(default_args())
        .args(["--log-format", "json"])
        .args(extra)
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("spawn fluxora-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let address = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read log") {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if let Some(address) = entry["address"].as_str() {
                return address.to_owned();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("server listens in time");
    // Keep draining its log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://{address}"))
}

/// SIGTERM, then waits for a graceful exit.
pub async fn stop_process(mut child: tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("stops after SIGTERM")
        .expect("wait");
    assert!(status.success(), "graceful exit, got {status}");
}

/// The server is killed with SIGKILL while deliveries are in flight, then restarted on the
/// same store: every outbox event still reaches the receiver at least once, none is lost.
pub async fn sigkill_mid_delivery_then_restart(backend: Backend) {
    const EVENTS: usize = 20;
    let Some(store) = Store::fresh(backend).await else {
        return;
    };
    // Slow answers (2 s) keep deliveries in flight when the process dies. Attempts time out
    // after 4 s, so a dead process's leases run out after 9 s (PostgreSQL; SQLite releases
    // them at start).
    let receiver = Receiver::start_with_delay(
        Box::new(|_, _| (200, "{}".to_owned())),
        Duration::from_secs(2),
    )
    .await;
    let extra = ["--webhook-delivery-timeout-seconds", "4"];
    let client = reqwest::Client::new();
    let (mut first, base) = spawn_server(&store, &extra).await;
    let (_, secret) = register_endpoint(&client, &base, &receiver.url).await;
    receiver.set_secret(&secret);
    for n in 0..EVENTS {
        create_stream(&client, &base, n as u8 * 2).await;
    }
    wait_until("first deliveries arrive", || async {
        !receiver.arrivals().is_empty()
    })
    .await;
    first.start_kill().expect("SIGKILL");
    let _ = first.wait().await;
    let before = receiver.distinct_ids().len();
    let (second, base) = spawn_server(&store, &extra).await;
    wait_until("every event delivered after the restart", || async {
        receiver.distinct_ids().len() >= EVENTS
            && deliveries(&client, &base, "?status=delivered&limit=500")
                .await
                .len()
                == EVENTS
    })
    .await;
    let all = deliveries(&client, &base, "?limit=500").await;
    assert_eq!(all.len(), EVENTS, "the outbox holds one row per event");
    assert!(all.iter().all(|d| d["status"] == "delivered"));
    let ids = receiver.distinct_ids();
    assert_eq!(
        ids.len(),
        EVENTS,
        "every delivery arrived: {before} before the kill"
    );
    for delivery in &all {
        assert!(ids.contains(delivery["id"].as_str().unwrap()));
    }
    let arrivals = receiver.arrivals();
    assert!(arrivals.iter().all(|a| a.verified == "ok"));
    // The deliveries in flight at the kill were never acknowledged: sent again, same ids.
    assert!(
        arrivals.len() > EVENTS,
        "{} arrivals for {EVENTS} events: in-flight deliveries are sent again",
        arrivals.len()
    );
    stop_process(second).await;
    store.remove().await;
}

/// The `action` of each entry of a `GET /api/audit` answer, newest first.
pub fn audit_actions(trail: &serde_json::Value) -> Vec<&str> {
    trail["data"]
        .as_array()
        .expect("audit entries")
        .iter()
        .map(|entry| entry["action"].as_str().expect("an action"))
        .collect()
}
