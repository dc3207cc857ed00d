//! Chain-event ingestion: auth, validation, idempotency, the end-to-end path to signed
//! webhooks and WebSocket updates, reorgs, and the indexer's latched health.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

const TOKEN: &str = "indexer-worker-token-0123456789";

macro_rules! start {
    ($backend:expr, $extra:expr) => {
        match TestServer::start($backend, $extra).await {
            Some(server) => server,
            None => return,
        }
    };
}

fn created(event_id: &str, ledger: u64, hash: &str, stream: &str, n: u8) -> Value {
    json!({
        "eventId": event_id, "ledger": ledger, "ledgerHash": hash, "streamId": stream,
        "type": "stream.created", "payload": stream_body(&account(n), &account(n + 1)),
    })
}

fn change(event_id: &str, ledger: u64, hash: &str, stream: &str, kind: &str) -> Value {
    json!({
        "eventId": event_id, "ledger": ledger, "ledgerHash": hash, "streamId": stream,
        "type": kind, "payload": {},
    })
}

async fn post_batch(server: &TestServer, events: Vec<Value>) -> (u16, Value) {
    let response = server
        .client
        .post(server.url("/internal/indexer/batches"))
        .bearer_auth(TOKEN)
        .json(&json!({ "events": events }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn stream_status(server: &TestServer, id: &str) -> Option<String> {
    let response = server.get(&format!("/api/streams/{id}")).await;
    if response.status().as_u16() == 404 {
        return None;
    }
    let body: Value = response.json().await.unwrap();
    Some(body["data"]["status"].as_str().unwrap().to_owned())
}

/// The overall `/health` status and summary, and `/health/ready`'s status.
async fn overall(server: &TestServer) -> (String, String, u16) {
    let body: Value = server.get("/health").await.json().await.unwrap();
    let ready = server.get("/health/ready").await.status().as_u16();
    (
        body["status"].as_str().unwrap().to_owned(),
        body["summary"].as_str().unwrap().to_owned(),
        ready,
    )
}

/// Asserts the service is degraded for `reason` (health 200 `degraded`, readiness 503).
async fn assert_degraded(server: &TestServer, reason: &str) {
    let (status, summary, ready) = overall(server).await;
    assert_eq!(status, "degraded", "{summary}");
    assert!(summary.contains(reason), "{summary}");
    assert_eq!(ready, 503);
}

async fn assert_all_ok(server: &TestServer) {
    let (status, summary, ready) = overall(server).await;
    assert_eq!((status.as_str(), ready), ("ok", 200), "{summary}");
}

async fn indexer_health(server: &TestServer) -> Value {
    let body: Value = server.get("/health").await.json().await.unwrap();
    body["checks"]["indexer"].clone()
}

pub async fn indexer_batches_need_the_token_and_valid_events(backend: Backend) {
    let server = start!(backend, &["--indexer-worker-token", TOKEN]);
    let url = server.url("/internal/indexer/batches");
    let body = json!({ "events": [] });
    let response = server.client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let response = server
        .client
        .post(&url)
        .bearer_auth(API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let (status, answer) = post_batch(
        &server,
        vec![
            json!({ "eventId": "e1", "ledger": 0, "ledgerHash": "h", "streamId": "s1", "type": "stream.created", "payload": {} }),
            json!({ "eventId": "e2", "ledger": 5, "ledgerHash": "h5", "streamId": "s1", "type": "stream.exploded", "payload": {} }),
            change("e3", 6, "h6a", "s1", "stream.paused"),
            change("e4", 6, "h6b", "s1", "stream.paused"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let codes: Vec<&str> = answer["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "INVALID_LEDGER",
            "UNKNOWN_EVENT_TYPE",
            "CONFLICTING_LEDGER_HASH"
        ]
    );
    let (status, answer) =
        post_batch(&server, vec![change("e5", 7, "h7", "s1", "stream.created")]).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["details"][0]["code"], "INVALID_STREAM");
    server.stop().await;

    // Not configured: 503, and the health says so.
    let server = start!(backend, &[]);
    let (status, _) = post_batch(&server, vec![]).await;
    assert_eq!(status, 503);
    assert_eq!(indexer_health(&server).await["status"], "not_configured");
    server.stop().await;
}

pub async fn chain_events_reach_webhooks_and_websocket_clients(backend: Backend) {
    let server = start!(backend, &["--indexer-worker-token", TOKEN]);
    let receiver = Receiver::ok().await;
    let (_, secret) = register_endpoint(&server.client, &server.base, &receiver.url).await;
    receiver.set_secret(&secret);
    let url = format!("ws://{}/ws/streams", server.addr());
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket
        .send(Message::text(
            json!({ "type": "subscribe", "streamId": "chain-s1" }).to_string(),
        ))
        .await
        .unwrap();
    let mut texts = Vec::new();
    while texts.is_empty() {
        if let Message::Text(text) = socket.next().await.unwrap().unwrap() {
            texts.push(serde_json::from_str::<Value>(text.as_str()).unwrap());
        }
    }
    assert_eq!(texts[0]["type"], "subscribed");
    assert_eq!(indexer_health(&server).await["status"], "starting");
    assert_degraded(&server, "indexer starting").await;

    let batch = vec![
        created("ev-1", 100, "h100", "chain-s1", 1),
        change("ev-2", 101, "h101", "chain-s1", "stream.paused"),
    ];
    let (status, answer) = post_batch(&server, batch.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["accepted"], 2);
    assert_eq!(answer["data"]["streamEvents"], 2);
    // One ledger behind the tip is safe by default (INDEXER_FINALITY_LEDGERS=1).
    assert_eq!(answer["data"]["lastSafeLedger"], 100);
    assert_eq!(
        stream_status(&server, "chain-s1").await.as_deref(),
        Some("paused")
    );
    // Signed webhooks, verified by the core at the receiver, in order.
    wait_until("two webhooks", || async { receiver.arrivals().len() == 2 }).await;
    let arrivals = receiver.arrivals();
    assert!(arrivals.iter().all(|a| a.verified == "ok"));
    let events: Vec<String> = arrivals.iter().map(Arrival::event).collect();
    assert_eq!(events, ["stream.created", "stream.updated"]);
    // WebSocket updates at the subscribed client.
    while texts.len() < 3 {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            texts.push(serde_json::from_str(text.as_str()).unwrap());
        }
    }
    assert_eq!(texts[1]["type"], "stream_update");
    assert_eq!(texts[1]["payload"]["event"], "stream.created");
    assert_eq!(texts[2]["payload"]["data"]["status"], "paused");
    // The same batch again: duplicates, nothing new.
    let (status, answer) = post_batch(&server, batch).await;
    assert_eq!(status, 200);
    assert_eq!(answer["data"]["duplicates"], 2);
    assert_eq!(answer["data"]["accepted"], 0);
    assert_eq!(deliveries(&server.client, &server.base, "").await.len(), 2);
    assert_eq!(indexer_health(&server).await["status"], "healthy");
    assert_all_ok(&server).await;
    server.stop().await;
}

pub async fn a_reorg_rolls_back_and_reapplies(backend: Backend) {
    let server = start!(backend, &["--indexer-worker-token", TOKEN]);
    let (status, answer) = post_batch(
        &server,
        vec![
            created("a-1", 100, "h100", "chain-a", 1),
            created("a-2", 100, "h100", "chain-keep", 3),
            change("a-3", 101, "h101-old", "chain-a", "stream.paused"),
            created("a-4", 101, "h101-old", "chain-orphan", 5),
            change("a-5", 102, "h102-old", "chain-keep", "stream.cancelled"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        stream_status(&server, "chain-a").await.as_deref(),
        Some("paused")
    );
    assert_eq!(
        stream_status(&server, "chain-orphan").await.as_deref(),
        Some("active")
    );
    assert_eq!(
        stream_status(&server, "chain-keep").await.as_deref(),
        Some("cancelled")
    );
    assert_eq!(indexer_health(&server).await["reorgDetected"], false);

    // Ledger 101 comes again with another hash: 101 and 102 are orphaned.
    let (status, answer) = post_batch(
        &server,
        vec![
            change("b-1", 101, "h101-new", "chain-a", "stream.completed"),
            created("b-2", 102, "h102-new", "chain-new", 7),
        ],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let reorg = &answer["data"]["reorg"];
    assert_eq!(reorg["fromLedger"], 101);
    assert_eq!(reorg["rolledBackEvents"], 3);
    assert_eq!(answer["data"]["accepted"], 2);
    assert_eq!(answer["data"]["lastLedger"], 102);
    // chain-a: the orphaned pause is undone (active), then the new branch completes it.
    assert_eq!(
        stream_status(&server, "chain-a").await.as_deref(),
        Some("completed")
    );
    // Created only on the orphaned branch: gone.
    assert_eq!(stream_status(&server, "chain-orphan").await, None);
    // Its cancel was orphaned: active again.
    assert_eq!(
        stream_status(&server, "chain-keep").await.as_deref(),
        Some("active")
    );
    assert_eq!(
        stream_status(&server, "chain-new").await.as_deref(),
        Some("active")
    );
    let health = indexer_health(&server).await;
    assert_eq!(health["reorgDetected"], true);
    assert_eq!(health["lastReorgLedger"], 101);
    assert_degraded(&server, "reorg").await;
    // The orphaned events are forgotten: sent again on the new branch they apply.
    let (_, answer) = post_batch(
        &server,
        vec![change("a-5", 103, "h103", "chain-keep", "stream.cancelled")],
    )
    .await;
    assert_eq!(answer["data"]["accepted"], 1);
    assert_eq!(
        stream_status(&server, "chain-keep").await.as_deref(),
        Some("cancelled")
    );
    let (status, _) = admin(
        &server.client,
        Method::POST,
        &server.base,
        "/api/admin/indexer/clear-reorg",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(indexer_health(&server).await["reorgDetected"], false);
    assert_all_ok(&server).await;
    server.stop().await;
}

pub async fn a_stall_is_latched_until_cleared(backend: Backend) {
    let server = start!(
        backend,
        &[
            "--indexer-worker-token",
            TOKEN,
            "--indexer-stall-threshold-seconds",
            "2"
        ]
    );
    let (status, _) = post_batch(&server, vec![created("s-1", 10, "h10", "chain-s", 1)]).await;
    assert_eq!(status, 200);
    wait_until("the indexer stalls", || async {
        indexer_health(&server).await["status"] == "stalled"
    })
    .await;
    assert_degraded(&server, "indexer stalled").await;
    // The seed's path; the older `clear-stall` answers the same.
    let clear = "/api/admin/indexer/stall/clear";
    let (status, body) = admin(
        &server.client,
        Method::POST,
        &server.base,
        "/api/admin/indexer/clear-stall",
        None,
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("INDEXER_LAGGING"))
    );
    let (status, body) = admin(&server.client, Method::POST, &server.base, clear, None).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("INDEXER_LAGGING"))
    );
    // Batches resume: still stalled until an admin clears it.
    let (status, _) = post_batch(
        &server,
        vec![change("s-2", 11, "h11", "chain-s", "stream.paused")],
    )
    .await;
    assert_eq!(status, 200);
    let health = indexer_health(&server).await;
    if health["lastBatchAgeSeconds"].as_i64().unwrap() < 2 {
        assert_eq!(health["status"], "stalled", "latched");
        let (status, body) = admin(&server.client, Method::POST, &server.base, clear, None).await;
        if status == 200 {
            assert_eq!(body["data"]["status"], "healthy");
            // Recorded in the audit trail, with the acting key's fingerprint only.
            let (status, trail) = admin(
                &server.client,
                Method::GET,
                &server.base,
                "/api/audit?action=INDEXER_STALL_CLEARED",
                None,
            )
            .await;
            assert_eq!(status, 200);
            let entries = trail["data"].as_array().unwrap();
            assert_eq!(entries.len(), 1, "{trail}");
            assert_eq!(entries[0]["action"], "INDEXER_STALL_CLEARED");
            assert_eq!(entries[0]["actor"].as_str().unwrap().len(), 16);
            assert!(!trail.to_string().contains(ADMIN_KEY));
        } else {
            // The machine was slow enough for the indexer to lag again.
            assert_eq!(status, 409);
        }
    }
    server.stop().await;
}

async fn indexer_call(server: &TestServer, path: &str, body: Option<Value>) -> (u16, Value) {
    let request = match body {
        Some(body) => server.client.post(server.url(path)).json(&body),
        None => server.client.get(server.url(path)),
    };
    let response = request.bearer_auth(TOKEN).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Loads `count` historical events of `contract`, two per ledger from `first_ledger`.
async fn load_history(server: &TestServer, contract: &str, first_ledger: u64, count: u64) {
    let mut next = 0;
    while next < count {
        let events: Vec<Value> = (next..count.min(next + 1000))
            .map(|i| {
                json!({
                    "contractId": contract,
                    "eventId": format!("{contract}-{i:06}"),
                    "ledger": first_ledger + i / 2,
                    "type": "transfer",
                    "payload": { "n": i },
                })
            })
            .collect();
        next += events.len() as u64;
        let (status, answer) = indexer_call(
            server,
            "/internal/indexer/events/historical",
            Some(json!({ "events": events })),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
    }
}

async fn replay_done(server: &TestServer) -> Value {
    let started = std::time::Instant::now();
    loop {
        let (_, status) = indexer_call(server, "/internal/indexer/status", None).await;
        let replay = status["data"]["replay"].clone();
        assert_ne!(replay["status"], "failed", "{replay}");
        if replay["status"] == "completed" {
            return replay;
        }
        let walked = replay["rowsReplayed"].as_i64().unwrap();
        let left = replay["rowsRemaining"].as_i64().unwrap();
        assert_eq!(
            walked + left,
            replay["totalRows"].as_i64().unwrap(),
            "{replay}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "no completion: {replay}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The seed's batch replay: 100,000 historical events of a contract replayed in batches into
/// contract events; idempotent; one replay at a time; scoped to its contract and range;
/// progress with replayed / remaining / total, start and estimated completion.
pub async fn historical_events_replay_in_batches(backend: Backend) {
    let server = start!(backend, &["--indexer-worker-token", TOKEN]);
    let contract = "CONTRACT-A";
    load_history(&server, contract, 1, 100_000).await;
    load_history(&server, "CONTRACT-B", 1, 1_000).await;
    // Loading again keeps what is there.
    let (status, answer) = indexer_call(
        &server,
        "/internal/indexer/events/historical",
        Some(json!({ "events": [{ "contractId": contract, "eventId": "CONTRACT-A-000000", "ledger": 1, "type": "transfer", "payload": {} }] })),
    )
    .await;
    assert_eq!((status, &answer["data"]["duplicates"]), (200, &json!(1)));
    let (status, answer) = indexer_call(
        &server,
        "/internal/indexer/events/historical",
        Some(json!({ "events": [{ "contractId": "bad id", "eventId": "e", "ledger": 0, "type": "t", "payload": 1 }] })),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["error"]["details"].as_array().unwrap().len(),
        3,
        "{answer}"
    );

    let request =
        json!({ "contractId": contract, "fromLedger": 1, "toLedger": 50_000, "batchSize": 100 });
    let (status, started) = indexer_call(
        &server,
        "/internal/indexer/events/replay",
        Some(request.clone()),
    )
    .await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["data"]["totalRows"], 100_000);
    assert!(started["data"]["startedAt"].is_string());
    // One at a time: a thousand batches cannot have finished within one round trip.
    let (status, refused) = indexer_call(
        &server,
        "/internal/indexer/events/replay",
        Some(request.clone()),
    )
    .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (409, &json!("REPLAY_IN_PROGRESS"))
    );
    assert_eq!(refused["error"]["details"]["status"], "running");
    let done = replay_done(&server).await;
    assert_eq!(done["rowsReplayed"], 100_000, "{done}");
    assert_eq!(done["rowsRemaining"], 0);
    assert_eq!(done["rowsInserted"], 100_000);
    assert!(done["estimatedCompletionAt"].is_string() && done["finishedAt"].is_string());

    // Again: every row walked, none new.
    let again = json!({ "contractId": contract, "fromLedger": 1, "toLedger": 50_000 });
    let (status, _) = indexer_call(&server, "/internal/indexer/events/replay", Some(again)).await;
    assert_eq!(status, 202);
    let done = replay_done(&server).await;
    assert_eq!(
        (&done["rowsReplayed"], &done["rowsInserted"]),
        (&json!(100_000), &json!(0))
    );
    // The other contract was not touched, and a range takes only its ledgers.
    let other = json!({ "contractId": "CONTRACT-B", "fromLedger": 101, "toLedger": 200 });
    let (status, _) = indexer_call(&server, "/internal/indexer/events/replay", Some(other)).await;
    assert_eq!(status, 202);
    let done = replay_done(&server).await;
    assert_eq!(
        (&done["rowsReplayed"], &done["rowsInserted"]),
        (&json!(200), &json!(200))
    );
    let bad = json!({ "contractId": contract, "fromLedger": 5, "toLedger": 4, "batchSize": 0 });
    let (status, answer) =
        indexer_call(&server, "/internal/indexer/events/replay", Some(bad)).await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"]["details"].as_array().unwrap().len(),
        2,
        "{answer}"
    );
    server.stop().await;
}
