//! The consumers' circuit breaker and retry rate shared by instances through Redis
//! (127.0.0.1:6379, or FLUXORA_TEST_REDIS_URL): two server processes open one circuit
//! together and let one half-open probe through between them; the retry rate counts every
//! instance's retries. Without Redis the test says so and does not run (FLUXORA_REQUIRE_REDIS
//! makes that a failure).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use fluxora_server::delivery::SharedResilience;
use reqwest::Method;

use common::*;

fn redis_url() -> Option<String> {
    let url = std::env::var("FLUXORA_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let reachable = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().unwrap(),
        Duration::from_secs(1),
    )
    .is_ok();
    if reachable || std::env::var("FLUXORA_TEST_REDIS_URL").is_ok() {
        return Some(url);
    }
    assert!(
        std::env::var("FLUXORA_REQUIRE_REDIS").is_err(),
        "Redis is required (FLUXORA_REQUIRE_REDIS) but nothing answers on 127.0.0.1:6379"
    );
    eprintln!("*** shared breaker tests NOT RUN: no Redis on 127.0.0.1:6379");
    None
}

/// Two instances' views of one consumer: one probe at a time across both.
#[tokio::test]
async fn two_instances_share_one_circuit_and_one_probe() {
    let Some(url) = redis_url() else { return };
    let consumer = format!("http://127.0.0.1:9/{}", unique("consumer"));
    let cooldown = Duration::from_millis(400);
    let a = SharedResilience::new(&url, 2, cooldown, 10).unwrap();
    let b = SharedResilience::new(&url, 2, cooldown, 10).unwrap();
    assert!(a.breaker("admit", &consumer).await.unwrap().allowed);
    assert_eq!(
        a.breaker("failure", &consumer).await.unwrap().transition,
        None
    );
    // The second failure, at the other instance, opens the one circuit.
    let opened = b.breaker("failure", &consumer).await.unwrap();
    assert_eq!(opened.transition, Some(("closed".into(), "open".into())));
    let refused = a.breaker("admit", &consumer).await.unwrap();
    assert!(!refused.allowed && refused.wait > Duration::ZERO && refused.wait <= cooldown);
    assert_eq!(a.state(&consumer).await.unwrap(), "open");
    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    // After the cool-down one probe goes, from whichever instance asks first.
    let probe = b.breaker("admit", &consumer).await.unwrap();
    assert!(probe.allowed);
    assert_eq!(probe.transition, Some(("open".into(), "half_open".into())));
    assert!(
        !a.breaker("admit", &consumer).await.unwrap().allowed,
        "one probe at a time"
    );
    // The probe fails: open again for everyone.
    let reopened = b.breaker("failure", &consumer).await.unwrap();
    assert_eq!(
        reopened.transition,
        Some(("half_open".into(), "open".into()))
    );
    assert!(!a.breaker("admit", &consumer).await.unwrap().allowed);
    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    assert!(a.breaker("admit", &consumer).await.unwrap().allowed);
    let closed = a.breaker("success", &consumer).await.unwrap();
    assert_eq!(
        closed.transition,
        Some(("half_open".into(), "closed".into()))
    );
    assert!(b.breaker("admit", &consumer).await.unwrap().allowed);
}

/// `WEBHOOK_RETRY_RPS` counts the retries of every instance to one consumer.
#[tokio::test]
async fn the_retry_rate_is_shared() {
    let Some(url) = redis_url() else { return };
    let consumer = format!("http://127.0.0.1:9/{}", unique("paced"));
    let a = SharedResilience::new(&url, 5, Duration::from_secs(1), 3).unwrap();
    let b = SharedResilience::new(&url, 5, Duration::from_secs(1), 3).unwrap();
    // Within one second (retried if the four calls straddle a second boundary).
    for _ in 0..5 {
        let started = std::time::SystemTime::now();
        let waits = [
            a.retry_wait(&consumer).await.unwrap(),
            b.retry_wait(&consumer).await.unwrap(),
            a.retry_wait(&consumer).await.unwrap(),
            b.retry_wait(&consumer).await.unwrap(),
        ];
        let second =
            |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        if second(started) != second(std::time::SystemTime::now()) {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            continue;
        }
        if waits[..3].iter().all(|w| w.is_zero()) {
            assert!(waits[3] > Duration::ZERO && waits[3] <= Duration::from_secs(1));
            return;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    panic!("never saw three retries allowed and the fourth paced within one second");
}

async fn transitions(server: &TestServer, from: &str, to: &str) -> u64 {
    let text = server.get("/metrics").await.text().await.unwrap();
    let needle = format!(
        "fluxora_webhook_circuit_breaker_transitions_total{{from=\"{from}\",to=\"{to}\"}} "
    );
    text.lines()
        .find_map(|line| line.strip_prefix(&needle))
        .map_or(0, |n| n.parse().unwrap())
}

async fn circuit(server: &TestServer) -> String {
    let (_, body) = admin(
        &server.client,
        Method::GET,
        &server.base,
        "/api/admin/webhooks/endpoints",
        None,
    )
    .await;
    body["data"][0]["circuit"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Two server instances (each its own SQLite) deliver to one failing consumer: their
/// failures open one circuit, which both then report; after the cool-down exactly one probe
/// goes, from one of them, and its failure opens the circuit again for both. Each transition
/// is counted once across the two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_open_one_circuit_together() {
    let Some(url) = redis_url() else { return };
    let flags = [
        "--redis-url",
        url.as_str(),
        "--webhook-circuit-failures",
        "2",
        "--webhook-circuit-cooldown-seconds",
        "2",
        "--webhook-retry-base-ms",
        "50",
    ];
    let first = TestServer::start(Backend::Sqlite, &flags).await.unwrap();
    let second = TestServer::start(Backend::Sqlite, &flags).await.unwrap();
    let failing = Receiver::start(Box::new(|_, _| (503, "{}".to_owned()))).await;
    for server in [&first, &second] {
        let (_, secret) = register_endpoint(&server.client, &server.base, &failing.url).await;
        failing.set_secret(&secret);
        create_stream(&server.client, &server.base, 1).await;
    }
    wait_until("both instances see the circuit open", || async {
        circuit(&first).await == "open" && circuit(&second).await == "open"
    })
    .await;
    let opened =
        transitions(&first, "closed", "open").await + transitions(&second, "closed", "open").await;
    assert_eq!(opened, 1, "one circuit, opened once");
    let attempts = failing.arrivals().len();
    assert_eq!(
        attempts, 2,
        "the threshold's two failures, one per instance"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(failing.arrivals().len(), attempts, "no attempt while open");
    // Both instances have retries due; after the cool-down one probe goes, and fails.
    wait_until("one half-open probe", || async {
        failing.arrivals().len() > attempts
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(failing.arrivals().len(), attempts + 1, "exactly one probe");
    let sum = |from: &'static str, to: &'static str| {
        let (first, second) = (&first, &second);
        async move { transitions(first, from, to).await + transitions(second, from, to).await }
    };
    assert_eq!(sum("open", "half_open").await, 1);
    assert_eq!(sum("half_open", "open").await, 1);
    assert_eq!(circuit(&first).await, "open");
    assert_eq!(circuit(&second).await, "open");
    first.stop().await;
    second.stop().await;
}

/// Redis away: the health says so (degraded, within its second) and deliveries go on, each
/// instance deciding alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_deliveries_go_on_and_health_says_why() {
    let server = TestServer::start(Backend::Sqlite, &["--redis-url", "redis://127.0.0.1:1/"])
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let health: serde_json::Value = server.get("/health").await.json().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "bounded health check"
    );
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["checks"]["redis"]["status"], "unreachable");
    assert!(
        health["summary"]
            .as_str()
            .unwrap()
            .contains("redis unreachable")
    );
    let receiver = Receiver::ok().await;
    let (_, secret) = register_endpoint(&server.client, &server.base, &receiver.url).await;
    receiver.set_secret(&secret);
    create_stream(&server.client, &server.base, 1).await;
    wait_until("the delivery arrives", || async {
        receiver.arrivals().len() == 1
    })
    .await;
    assert!(receiver.arrivals().iter().all(|a| a.verified == "ok"));
    server.stop().await;
}
