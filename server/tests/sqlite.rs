//! The server suite on the embedded SQLite default, over real HTTP.
#![allow(clippy::unwrap_used)]

mod common;
mod suite;

server_suite!(common::Backend::Sqlite);

mod graceful_shutdown {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use crate::common::*;

    /// Shutdown starts while a delivery's body is still arriving: the request is finished
    /// and answered, then the server stops.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_flight_requests_finish_on_shutdown() {
        let server = TestServer::start(Backend::Sqlite, &[]).await.unwrap();
        let body = br#"{"event":"stream.updated","data":{"id":"str_inflight"}}"#;
        let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        let mut head = format!(
            "POST /internal/webhooks/receive HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in signed(SECRET, body, now(), "dlv_inflight") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&body[..10]).await.unwrap();
        stream.flush().await.unwrap();
        // Let the server start reading this request, then ask it to stop.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let stopping = tokio::spawn(server.stop());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            !stopping.is_finished(),
            "shutdown waits for the in-flight request"
        );
        stream.write_all(&body[10..]).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains("\"deliveryId\":\"dlv_inflight\""), "{text}");
        stopping.await.unwrap();
    }
}

mod outbound_delivery {
    use crate::common::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sigkill_mid_delivery_then_restart_delivers_every_event() {
        sigkill_mid_delivery_then_restart(Backend::Sqlite).await;
    }
}
