//! A database outage, simulated with a TCP proxy in front of the shared PostgreSQL that the
//! test stops and starts again (the PostgreSQL server itself is never touched): every route
//! that needs the database answers 503 with `Retry-After` within a second, readiness reads 503
//! within a second, the receiver answers 503 (retryable), and all recover with the database.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use common::*;

/// A TCP proxy to `upstream` on a fixed local port that can be stopped (every connection
/// through it is cut) and started again.
struct Proxy {
    port: u16,
    upstream: SocketAddr,
    running: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn new(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Proxy {
            port,
            upstream,
            running: None,
        };
        proxy.running = Some(tokio::spawn(forward(listener, upstream)));
        proxy
    }

    fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.abort();
        }
    }

    async fn start(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.running = Some(tokio::spawn(forward(listener, self.upstream)));
    }
}

/// Accepts and pipes connections; aborting it drops (closes) every piped connection.
async fn forward(listener: TcpListener, upstream: SocketAddr) {
    let mut pipes = JoinSet::new();
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            continue;
        };
        pipes.spawn(async move {
            if let Ok(mut server) = TcpStream::connect(upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }
        });
    }
}

async fn timed(
    request: reqwest::RequestBuilder,
) -> (u16, Option<String>, serde_json::Value, Duration) {
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.json().await.unwrap_or_default();
    (status, retry_after, body, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_within_a_second_and_recovers() {
    let url = match postgres_url().await {
        Ok(url) => url,
        Err(reason) => return postgres_unavailable(&reason),
    };
    let mut parsed = url::Url::parse(&url).unwrap();
    let upstream = tokio::net::lookup_host((
        parsed.host_str().unwrap().to_owned(),
        parsed.port().unwrap_or(5432),
    ))
    .await
    .unwrap()
    .next()
    .unwrap();
    let mut proxy = Proxy::new(upstream).await;
    parsed.set_host(Some("127.0.0.1")).unwrap();
    parsed.set_port(Some(proxy.port)).unwrap();
    let store = Store::Postgres {
        url: parsed.to_string(),
        schema: unique("fxoutage"),
    };
    let server = TestServer::start_on(store, &[]).await;
    let client = &server.client;
    assert_eq!(server.get("/health/ready").await.status().as_u16(), 200);
    create_stream(client, &server.base, 1).await;

    proxy.stop();
    let body = br#"{"event":"stream.updated"}"#.to_vec();
    let delivery = signed(SECRET, &body, now(), "dlv_outage");
    let mut receive = client.post(server.url("/internal/webhooks/receive"));
    for (name, value) in &delivery {
        receive = receive.header(*name, value.as_str());
    }
    for (what, request) in [
        ("readiness", client.get(server.url("/health/ready"))),
        (
            "list streams",
            client.get(server.url("/api/streams")).bearer_auth(API_KEY),
        ),
        (
            "create a stream",
            client
                .post(server.url("/api/streams"))
                .bearer_auth(API_KEY)
                .json(&stream_body(&account(3), &account(4))),
        ),
        ("the receiver", receive.body(body.clone())),
    ] {
        let (status, retry_after, answer, took) = timed(request).await;
        assert_eq!(status, 503, "{what}: {answer}");
        assert_eq!(retry_after.as_deref(), Some("1"), "{what}: {answer}");
        assert!(took < Duration::from_millis(1500), "{what} took {took:?}");
        if what == "the receiver" {
            assert_eq!(answer["error"], "service_unavailable", "{answer}");
        } else {
            assert_eq!(
                answer["error"]["code"], "SERVICE_UNAVAILABLE",
                "{what}: {answer}"
            );
        }
    }

    proxy.start().await;
    let started = Instant::now();
    loop {
        if server.get("/health/ready").await.status().as_u16() == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no recovery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _, answer, _) = timed({
        let mut request = client.post(server.url("/internal/webhooks/receive"));
        for (name, value) in &delivery {
            request = request.header(*name, value.as_str());
        }
        request.body(body)
    })
    .await;
    assert_eq!(
        status, 200,
        "the delivery refused during the outage is accepted now: {answer}"
    );
    server.stop().await;
    proxy.stop();
}
