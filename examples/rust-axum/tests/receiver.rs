//! Drives the example receiver in-process with signed and forged deliveries.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fluxora_example_rust_axum::{Receiver, app};
use fluxora_webhooks::sign;
use http_body_util::BodyExt;
use tower::ServiceExt;

fn delivery(id: &str, signature: &str, timestamp: &str, body: &'static str) -> Request<Body> {
    Request::post("/webhooks/fluxora")
        .header("x-fluxora-delivery-id", id)
        .header("x-fluxora-timestamp", timestamp)
        .header("x-fluxora-signature", signature)
        .header("x-fluxora-event", "stream.updated")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request")
}

async fn answer(router: axum::Router, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = router.oneshot(request).await.expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, serde_json::from_slice(&bytes).expect("json"))
}

#[tokio::test]
async fn signed_delivery_is_accepted_once() {
    let router = app(Receiver::new(b"topsecret"));
    let body = r#"{"event":"stream.updated","streamId":"st_1"}"#;
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        .to_string();
    let signature = sign(b"topsecret", timestamp.as_bytes(), body.as_bytes());

    let (status, json) = answer(
        router.clone(),
        delivery("dlv_1", signature.as_str(), &timestamp, body),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["event"]["streamId"], "st_1");

    let (status, json) = answer(
        router,
        delivery("dlv_1", signature.as_str(), &timestamp, body),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(json["error"], "duplicate_delivery");
}

#[tokio::test]
async fn forged_delivery_is_rejected_with_its_code() {
    let router = app(Receiver::new(b"topsecret"));
    let (status, json) = answer(
        router,
        delivery("dlv_2", &"0".repeat(64), "1710000000", "{}"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["error"], "timestamp_outside_tolerance");
    assert_eq!(
        json["message"],
        "Timestamp is outside the 300 second verification window"
    );
}
