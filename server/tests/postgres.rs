//! The server suite on PostgreSQL (127.0.0.1:5432, database `test`, a fresh schema per
//! server), plus two server processes sharing one replay store.
//!
//! When PostgreSQL is unreachable these tests say so on stderr and do not run (set
//! `FLUXORA_REQUIRE_POSTGRES=1` to make that a failure).
#![allow(clippy::unwrap_used)]

mod common;
mod suite;

server_suite!(common::Backend::Postgres);

mod two_instances {
    use tokio::process::Child;

    use crate::common::*;

    async fn spawn(store: &Store) -> (Child, String) {
        spawn_server(store, &[]).await
    }

    async fn stop(child: Child) {
        stop_process(child).await;
    }

    async fn post(
        client: &reqwest::Client,
        base: &str,
        headers: &[(&'static str, String)],
        body: &[u8],
    ) -> (u16, serde_json::Value) {
        let mut request = client
            .post(format!("{base}/internal/webhooks/receive"))
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let response = request.body(body.to_vec()).send().await.expect("deliver");
        (
            response.status().as_u16(),
            response.json().await.unwrap_or_default(),
        )
    }

    /// Instances started together on an empty database all come up: schema creation and
    /// migrations are serialized, not raced on the catalog.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn instances_opening_an_empty_schema_at_once_all_migrate() {
        for _ in 0..4 {
            let Some(store) = Store::fresh(Backend::Postgres).await else {
                return;
            };
            let target = config(&store, &[]).database;
            let opens = (0..6).map(|_| fluxora_server::db::Db::open(&target, 2));
            for opened in futures_util::future::join_all(opens).await {
                opened.expect("every instance migrates");
            }
            store.remove().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_processes_accept_a_concurrent_delivery_exactly_once() {
        let Some(store) = Store::fresh(Backend::Postgres).await else {
            return;
        };
        // The first creates and migrates the schema; the second starts on it at once too.
        let ((first, a), (second, b)) = tokio::join!(spawn(&store), spawn(&store));
        let client = reqwest::Client::new();
        for round in 0..25 {
            let body = format!(r#"{{"event":"stream.updated","round":{round}}}"#).into_bytes();
            let headers = signed(SECRET, &body, now(), &format!("dlv_race_{round}"));
            let (x, y) = tokio::join!(
                post(&client, &a, &headers, &body),
                post(&client, &b, &headers, &body)
            );
            // Exactly one is accepted. The other attempt either found it committed (409) or
            // still being handled by the other instance (429, retry later).
            let (accepted, other) = if x.0 == 200 { (&x, &y) } else { (&y, &x) };
            assert_eq!(accepted.0, 200, "round {round}: {x:?} {y:?}");
            match other.0 {
                409 => assert_eq!(other.1["error"], "duplicate_delivery"),
                429 => assert_eq!(other.1["error"], "delivery_in_progress"),
                status => panic!("round {round}: the other attempt answered {status}: {other:?}"),
            }
            // Once answered, every instance sees it committed.
            let retry = signed(SECRET, &body, now() + 1, &format!("dlv_race_{round}"));
            assert_eq!(
                post(&client, &b, &retry, &body).await.0,
                409,
                "round {round}"
            );
        }
        // The same signature under another id, at the other instance: replayed_signature.
        let body = b"{}".to_vec();
        let mut headers = signed(SECRET, &body, now(), "dlv_cross_1");
        assert_eq!(post(&client, &a, &headers, &body).await.0, 200);
        headers[0].1 = "dlv_cross_2".into();
        let (status, answer) = post(&client, &b, &headers, &body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (409, Some("replayed_signature"))
        );
        stop(first).await;
        stop(second).await;
        store.remove().await;
    }
}

mod outbound_delivery {
    use std::collections::HashMap;

    use crate::common::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sigkill_mid_delivery_then_restart_delivers_every_event() {
        sigkill_mid_delivery_then_restart(Backend::Postgres).await;
    }

    /// Two processes drain one outbox (`FOR UPDATE SKIP LOCKED`): each event reaches the
    /// receiver exactly once in normal operation.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_deliver_each_event_once() {
        const STREAMS: usize = 30;
        let Some(store) = Store::fresh(Backend::Postgres).await else {
            return;
        };
        let receiver = Receiver::start_with_delay(
            Box::new(|_, _| (200, "{}".to_owned())),
            std::time::Duration::from_millis(20),
        )
        .await;
        let ((first, a), (second, b)) =
            tokio::join!(spawn_server(&store, &[]), spawn_server(&store, &[]));
        let client = reqwest::Client::new();
        let (_, secret) = register_endpoint(&client, &a, &receiver.url).await;
        receiver.set_secret(&secret);
        // Changes arrive at both instances; both workers claim from the shared outbox.
        for n in 0..STREAMS {
            let base = if n % 2 == 0 { &a } else { &b };
            let id = create_stream(&client, base, n as u8 * 2).await;
            set_stream_status(&client, base, &id, "paused").await;
        }
        let events = STREAMS * 2;
        wait_until("every event delivered", || async {
            deliveries(&client, &a, "?status=delivered&limit=500")
                .await
                .len()
                == events
        })
        .await;
        let arrivals = receiver.arrivals();
        let mut per_id: HashMap<&str, usize> = HashMap::new();
        for arrival in &arrivals {
            *per_id.entry(arrival.delivery_id.as_str()).or_default() += 1;
            assert_eq!(arrival.verified, "ok");
        }
        assert_eq!(per_id.len(), events);
        let twice: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "delivered more than once: {twice:?}");
        assert!(
            deliveries(&client, &b, "?limit=500")
                .await
                .iter()
                .all(|d| d["attempts"] == 1)
        );
        // Per-stream order held across instances: created before updated for every stream.
        let mut seen: HashMap<String, Vec<String>> = HashMap::new();
        for arrival in &arrivals {
            let body = arrival.json();
            seen.entry(body["data"]["id"].as_str().unwrap().to_owned())
                .or_default()
                .push(arrival.event());
        }
        for (stream, events) in &seen {
            assert_eq!(events, &["stream.created", "stream.updated"], "{stream}");
        }
        stop_process(first).await;
        stop_process(second).await;
        store.remove().await;
    }
}

mod websocket_across_instances {
    use futures_util::{SinkExt, StreamExt};
    use serde_json::{Value, json};
    use tokio_tungstenite::tungstenite::Message;

    use crate::common::*;

    /// A client connected to one instance gets the changes made through the other (the
    /// stream feed table, tailed by every instance).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_change_on_one_instance_reaches_clients_of_the_other() {
        let Some(store) = Store::fresh(Backend::Postgres).await else {
            return;
        };
        let ((first, a), (second, b)) =
            tokio::join!(spawn_server(&store, &[]), spawn_server(&store, &[]));
        let client = reqwest::Client::new();
        let stream = create_stream(&client, &a, 1).await;
        let url = format!("{}/ws/streams", b.replace("http://", "ws://"));
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        socket
            .send(Message::text(
                json!({ "type": "subscribe", "streamId": stream }).to_string(),
            ))
            .await
            .unwrap();
        let mut received = Vec::new();
        let mut changed = false;
        while received.len() < 2 {
            let message = tokio::time::timeout(std::time::Duration::from_secs(30), socket.next())
                .await
                .expect("a message in time")
                .unwrap()
                .unwrap();
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["type"] == "subscribed" && !changed {
                set_stream_status(&client, &a, &stream, "paused").await;
                set_stream_status(&client, &a, &stream, "active").await;
                changed = true;
                continue;
            }
            assert_eq!(value["type"], "stream_update", "{value}");
            // The creation may reach this instance's feed after the subscription: not counted.
            if value["payload"]["event"] == "stream.updated" {
                received.push(value);
            }
        }
        let statuses: Vec<&str> = received
            .iter()
            .map(|v| v["payload"]["data"]["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["paused", "active"]);
        assert_ne!(received[0]["eventId"], received[1]["eventId"]);
        drop(socket);
        stop_process(first).await;
        stop_process(second).await;
        store.remove().await;
    }
}
