//! The listener's time and connection limits, over raw TCP on 127.0.0.1: slow headers, a
//! lying `Content-Length`, a body dribbled a byte at a time, idle keep-alive connections and a
//! flood of half-open connections are all cut off within the limits, and a stalled client
//! does not hold up shutdown.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::*;

const LIMITS: &[&str] = &[
    "--http-header-timeout-seconds",
    "1",
    "--http-request-timeout-seconds",
    "2",
    "--http-max-connections",
    "16",
];

async fn server() -> TestServer {
    TestServer::start(Backend::Sqlite, LIMITS).await.unwrap()
}

/// Reads until the server closes the connection (or 10 s pass); answers what was read and
/// how long it took.
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut read = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut read)).await;
    (
        String::from_utf8_lossy(&read).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_are_cut_off() {
    let server = server().await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"POST /internal/webhooks/receive HTTP/1.1\r\nhost: test\r\nx-fluxora-delivery-id: d\r\n")
        .await
        .unwrap();
    let (_, waited) = read_until_closed(&mut stream).await;
    assert!(waited < Duration::from_secs(4), "closed after {waited:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed() {
    let server = server().await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let (answer, waited) = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        waited < Duration::from_secs(4),
        "idle connection kept {waited:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_content_length_and_a_dribbled_body_answer_408() {
    let server = server().await;
    for path in ["/api/streams", "/internal/webhooks/receive"] {
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        let body = br#"{"event":"stream.updated"}"#;
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nauthorization: Bearer {API_KEY}\r\n"
        );
        for (name, value) in signed(SECRET, body, now(), "dlv_slow") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        // A byte every 300 ms, never reaching the announced length.
        let dribble = async {
            for byte in body {
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(3), dribble).await;
        let (answer, _) = read_until_closed(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(answer.contains("REQUEST_TIMEOUT"), "{path}: {answer}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_half_open_connections_leaves_health_answering() {
    let server = server().await;
    let mut flood = Vec::new();
    for _ in 0..64 {
        if let Ok(stream) = TcpStream::connect(server.addr()).await {
            flood.push(stream);
        }
    }
    // The flood holds at most 16 connections, and only until the header timeout: the
    // liveness probe gets through within it.
    let started = Instant::now();
    let live = loop {
        let probe = server.client.get(server.url("/health/live")).send().await;
        if let Ok(response) = probe {
            break response.status().as_u16();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no answer under the flood"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(live, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    drop(flood);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_does_not_hold_up_shutdown() {
    let server = server().await;
    let mut stalled = TcpStream::connect(server.addr()).await.unwrap();
    stalled
        .write_all(b"POST /api/streams HTTP/1.1\r\nhost: test\r\ncontent-length: 100\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
}
