//! Every outcome of the inbound receiver, over real HTTP.

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

macro_rules! start {
    ($backend:expr, $extra:expr) => {
        match TestServer::start($backend, $extra).await {
            Some(server) => server,
            None => return,
        }
    };
}

pub async fn accepts_a_signed_delivery(backend: Backend) {
    let server = start!(backend, &[]);
    let body = br#"{"event":"stream.created","data":{"id":"str_1"}}"#.to_vec();
    let (status, answer) = deliver(&server, &signed(SECRET, &body, now(), "dlv_ok"), body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({ "ok": true, "deliveryId": "dlv_ok", "eventType": "stream.created",
                "event": { "event": "stream.created", "data": { "id": "str_1" } } })
    );
    // Not JSON, not even UTF-8: verified on the raw bytes; event is null.
    let body = vec![0xff, 0x00, 0xfe, b'{'];
    let (status, answer) = deliver(&server, &signed(SECRET, &body, now(), "dlv_bin"), body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["event"], serde_json::Value::Null);
    assert_eq!(
        answer["eventType"], "stream.updated",
        "falls back to the header"
    );
    server.stop().await;
}

async fn expect(
    server: &TestServer,
    headers: Vec<(&'static str, String)>,
    body: &[u8],
    status: u16,
    code: &str,
) {
    let (got, answer) = deliver(server, &headers, body.to_vec()).await;
    assert_eq!(
        (got, answer["error"].as_str()),
        (status, Some(code)),
        "{answer}"
    );
    assert!(answer["message"].is_string());
}

pub async fn answers_each_header_failure(backend: Backend) {
    let server = start!(backend, &[]);
    let body = b"{}";
    let full = signed(SECRET, body, now(), "dlv_h");
    let without = |name: &str| {
        full.iter()
            .filter(|(n, _)| *n != name)
            .cloned()
            .collect::<Vec<_>>()
    };
    expect(
        &server,
        without("x-fluxora-delivery-id"),
        body,
        401,
        "missing_delivery_id",
    )
    .await;
    expect(
        &server,
        without("x-fluxora-timestamp"),
        body,
        401,
        "missing_timestamp",
    )
    .await;
    expect(
        &server,
        without("x-fluxora-signature"),
        body,
        401,
        "missing_signature",
    )
    .await;
    let mut empty_id = full.clone();
    empty_id[0].1 = String::new();
    expect(&server, empty_id, body, 401, "missing_delivery_id").await;

    let mut bad_ts = signed(SECRET, body, now(), "dlv_ts");
    bad_ts[1].1 = format!("{}.0", now());
    expect(&server, bad_ts, body, 400, "invalid_timestamp").await;
    let old = now() - 400;
    expect(
        &server,
        signed(SECRET, body, old, "dlv_old"),
        body,
        401,
        "timestamp_outside_tolerance",
    )
    .await;
    let future = now() + 400;
    expect(
        &server,
        signed(SECRET, body, future, "dlv_fut"),
        body,
        401,
        "timestamp_outside_tolerance",
    )
    .await;
    expect(
        &server,
        signed("not-the-secret", body, now(), "dlv_bad"),
        body,
        401,
        "signature_mismatch",
    )
    .await;
    let mut malformed = signed(SECRET, body, now(), "dlv_mal");
    malformed[2].1 = "zz".repeat(32);
    expect(&server, malformed, body, 401, "signature_mismatch").await;
    // Within the window (well inside, so no clock edge): accepted.
    let (status, _) = deliver(
        &server,
        &signed(SECRET, body, now() - 250, "dlv_recent"),
        body.to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await;
}

pub async fn answers_missing_secret(backend: Backend) {
    let server = start!(backend, &["--webhook-secret", ""]);
    expect(
        &server,
        signed(SECRET, b"{}", now(), "dlv_ns"),
        b"{}",
        500,
        "missing_secret",
    )
    .await;
    server.stop().await;
}

pub async fn enforces_the_body_limit(backend: Backend) {
    let server = start!(backend, &[]);
    let exact = vec![b'a'; 262_144];
    let (status, answer) =
        deliver(&server, &signed(SECRET, &exact, now(), "dlv_exact"), exact).await;
    assert_eq!(status, 200, "exactly 262144 bytes pass: {answer}");
    let over = vec![b'a'; 262_145];
    let (status, answer) = deliver(&server, &signed(SECRET, &over, now(), "dlv_over"), over).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (413, Some("payload_too_large"))
    );
    assert_eq!(answer["message"], "Payload exceeds 262144 bytes");

    // A 10 MiB body announced, only 300 KiB sent: the answer comes without the rest,
    // so the server did not wait to buffer the whole body.
    let mut stream = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    let headers = signed(SECRET, b"irrelevant", now(), "dlv_stream");
    let mut head = format!(
        "POST /internal/webhooks/receive HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        10 * 1024 * 1024
    );
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
        .write_all(&vec![b'x'; 300 * 1024])
        .await
        .expect("partial body");
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).await.expect("answer");
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    server.stop().await;
}

pub async fn rotation_and_expiry_of_the_previous_secret(backend: Backend) {
    let rotated = now().to_string();
    let server = start!(
        backend,
        &[
            "--webhook-secret-previous",
            PREVIOUS_SECRET,
            "--webhook-secret-rotated-at",
            &rotated
        ]
    );
    let (status, answer) = deliver(
        &server,
        &signed(PREVIOUS_SECRET, b"{}", now(), "dlv_prev"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["usedPreviousSecret"], true);
    let (_, answer) = deliver(
        &server,
        &signed(SECRET, b"{}", now(), "dlv_cur"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(answer.get("usedPreviousSecret"), None);
    server.stop().await;

    let long_ago = (now() - 200_000).to_string();
    let server = start!(
        backend,
        &[
            "--webhook-secret-previous",
            PREVIOUS_SECRET,
            "--webhook-secret-rotated-at",
            &long_ago
        ]
    );
    expect(
        &server,
        signed(PREVIOUS_SECRET, b"{}", now(), "dlv_exp"),
        b"{}",
        401,
        "previous_secret_expired",
    )
    .await;
    server.stop().await;
}

pub async fn catches_duplicates_and_replayed_signatures(backend: Backend) {
    let server = start!(backend, &[]);
    let body = br#"{"event":"stream.updated"}"#;
    let headers = signed(SECRET, body, now(), "dlv_dup");
    let (status, _) = deliver(&server, &headers, body.to_vec()).await;
    assert_eq!(status, 200);
    expect(&server, headers.clone(), body, 409, "duplicate_delivery").await;
    // The captured request replayed under a new id (the id is not signed).
    let mut swapped = headers.clone();
    swapped[0].1 = "dlv_dup_swapped".into();
    expect(&server, swapped.clone(), body, 409, "replayed_signature").await;
    // The same signature in uppercase is the same pair.
    swapped[0].1 = "dlv_dup_upper".into();
    swapped[2].1 = swapped[2].1.to_uppercase();
    expect(&server, swapped, body, 409, "replayed_signature").await;
    // An unsigned request never poisons the store: a bad signature under a fresh id,
    // then the genuine delivery under that id is accepted.
    let mut forged = signed("forger", body, now(), "dlv_later");
    forged[3].1 = "x".into();
    expect(&server, forged, body, 401, "signature_mismatch").await;
    let (status, _) = deliver(
        &server,
        &signed(SECRET, br#"{"n":2}"#, now(), "dlv_later"),
        br#"{"n":2}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await;
}

pub async fn answers_consumer_overloaded_when_the_store_is_full(backend: Backend) {
    let server = start!(backend, &["--replay-max-entries", "1"]);
    let (status, _) = deliver(
        &server,
        &signed(SECRET, b"1", now(), "dlv_a"),
        b"1".to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    expect(
        &server,
        signed(SECRET, b"2", now(), "dlv_b"),
        b"2",
        429,
        "consumer_overloaded",
    )
    .await;
    // A duplicate is still recognised as such when full.
    expect(
        &server,
        signed(SECRET, b"1", now(), "dlv_a"),
        b"1",
        409,
        "duplicate_delivery",
    )
    .await;
    server.stop().await;
}

pub async fn duplicates_are_caught_across_restarts(backend: Backend) {
    let server = start!(backend, &[]);
    let headers = signed(SECRET, b"{}", now(), "dlv_restart");
    let (status, _) = deliver(&server, &headers, b"{}".to_vec()).await;
    assert_eq!(status, 200);
    let store = server.stop_keep().await;
    let server = TestServer::start_on(store, &[]).await;
    expect(&server, headers, b"{}", 409, "duplicate_delivery").await;
    server.stop().await;
}

/// Two-phase replay across instances: while another instance holds a delivery's reservation
/// (it is handling it), an attempt answers 429 `delivery_in_progress`; once released (its
/// handler failed), the retry is processed; once committed, the next one is a duplicate.
pub async fn a_reserved_delivery_is_in_progress_until_released(backend: Backend) {
    let server = start!(backend, &[]);
    let state = server.state();
    let body = br#"{"event":"stream.updated"}"#.to_vec();
    let now = now();
    let first = signed(SECRET, &body, now, "dlv_reserved");
    let pairs: Vec<(&str, &str)> = first.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let accepted = state
        .config
        .webhook
        .verifier
        .check(
            &fluxora_webhooks_facade::ReceivedHeaders::from_pairs(pairs),
            &body,
            now,
        )
        .expect("signed");
    let entry = fluxora_server::store::replay::CapturedEntry::from(&accepted);
    let held = fluxora_server::store::replay::reserve(&state.db, &entry, 60, None)
        .await
        .expect("database")
        .expect("fresh");
    let retry = signed(SECRET, &body, now + 1, "dlv_reserved");
    let (status, answer) = deliver(&server, &retry, body.clone()).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (429, Some("delivery_in_progress")),
        "{answer}"
    );
    assert!(
        fluxora_server::store::replay::release(&state.db, &held, now + 1)
            .await
            .expect("database")
    );
    let (status, answer) = deliver(&server, &retry, body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let again = signed(SECRET, &body, now + 2, "dlv_reserved");
    let (status, answer) = deliver(&server, &again, body.clone()).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("duplicate_delivery")),
        "{answer}"
    );
    // The released attempt's pair stays its own: a copy under another id is refused.
    let mut swapped = first.clone();
    swapped[0].1 = "dlv_swapped".to_owned();
    let (status, answer) = deliver(&server, &swapped, body).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("replayed_signature")),
        "{answer}"
    );
    server.stop().await;
}

/// A handler with work to do, on the two-phase `VerifiedDelivery` (served by axum on
/// loopback over this server's state): a failed attempt releases the reservation, so the
/// sender's retry is handled again; a handled one commits it, so the next retry is a
/// duplicate and the handler never runs twice for one delivery.
pub async fn a_handler_that_fails_leaves_the_delivery_to_its_retry(backend: Backend) {
    use axum::extract::{FromRef, State};
    use fluxora_server::receiver::{Receiving, VerifiedDelivery};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let server = start!(backend, &[]);
    let receiving = Receiving::from_ref(server.state());
    // The first run of the handler fails; every run is counted.
    let runs = Arc::new(AtomicUsize::new(0));
    let handler = {
        let runs = runs.clone();
        move |State(receiving): State<Receiving>, delivery: VerifiedDelivery| async move {
            let handled = runs.fetch_add(1, Ordering::SeqCst) > 0;
            delivery.settle(&receiving, handled).await;
            if handled {
                axum::http::StatusCode::OK
            } else {
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(handler))
        .with_state(receiving);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let serving = tokio::spawn(axum::serve(listener, app).into_future());
    let body = br#"{"event":"stream.updated"}"#.to_vec();
    let attempt = |timestamp: u64| {
        let mut request = server.client.post(&url);
        for (name, value) in signed(SECRET, &body, timestamp, "dlv_two_phase") {
            request = request.header(name, value);
        }
        let request = request.body(body.clone());
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json().await.unwrap_or(serde_json::Value::Null),
            )
        }
    };
    let now = now();
    assert_eq!(attempt(now).await.0, 500, "the handler failed");
    assert_eq!(
        attempt(now + 1).await.0,
        200,
        "released: the retry is handled"
    );
    let (status, answer) = attempt(now + 2).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("duplicate_delivery")),
        "{answer}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2, "handled once, failed once");
    serving.abort();
    server.stop().await;
}
