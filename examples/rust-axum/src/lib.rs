//! A Fluxora webhook receiver in axum, verifying every delivery with the core.
//!
//! The handler takes the body as raw [`Bytes`] (never a parsed `Json`), so the exact
//! bytes that were signed are the bytes verified. Only after `ok` is the body parsed.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use fluxora_webhooks::{
    DeliveryHeaders, FixedReplayStore, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE,
    HEADER_TIMESTAMP, Outcome, Verifier,
};
use serde_json::json;

/// The receiver's shared state: one verifier built at start-up and a replay store.
#[derive(Clone)]
pub struct Receiver {
    verifier: Arc<Verifier>,
    replay_store: Arc<Mutex<FixedReplayStore<4096>>>,
}

impl Receiver {
    /// A receiver verifying with `secret`.
    ///
    /// ```
    /// let receiver = fluxora_example_rust_axum::Receiver::new(b"topsecret");
    /// let _router = fluxora_example_rust_axum::app(receiver);
    /// ```
    pub fn new(secret: &[u8]) -> Self {
        Self {
            verifier: Arc::new(Verifier::new(secret)),
            replay_store: Arc::new(Mutex::new(FixedReplayStore::new())),
        }
    }
}

/// The router: `POST /webhooks/fluxora`.
pub fn app(receiver: Receiver) -> Router {
    Router::new()
        .route("/webhooks/fluxora", post(receive))
        .with_state(receiver)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).map(|value| value.as_bytes());
    let delivery = DeliveryHeaders {
        delivery_id: header(HEADER_DELIVERY_ID),
        timestamp: header(HEADER_TIMESTAMP),
        signature: header(HEADER_SIGNATURE),
    };
    let outcome = {
        // A poisoned lock only means another request panicked; the store itself is intact.
        let mut store = receiver
            .replay_store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        receiver
            .verifier
            .verify(&delivery, &body, unix_now(), &mut *store)
    };
    if let Outcome::Verified { .. } = outcome {
        let event: serde_json::Value =
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        let event_type = header(HEADER_EVENT).and_then(|v| std::str::from_utf8(v).ok());
        return Json(json!({ "ok": true, "eventType": event_type, "event": event }))
            .into_response();
    }
    let status = StatusCode::from_u16(outcome.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let body = json!({ "error": outcome.code(), "message": outcome.message().as_str() });
    (status, Json(body)).into_response()
}
