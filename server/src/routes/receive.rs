//! `POST /internal/webhooks/receive`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::receiver::{Receiving, VerifiedDelivery};

/// Answers a verified, newly reserved delivery, and commits it: it is handled once answered.
pub async fn receive(
    State(receiving): State<Receiving>,
    delivery: VerifiedDelivery,
) -> Json<Value> {
    delivery.settle(&receiving, true).await;
    let mut body = json!({
        "ok": true,
        "deliveryId": delivery.delivery_id,
        "eventType": delivery.event_type,
        "event": delivery.event,
    });
    if delivery.used_previous_secret {
        body["usedPreviousSecret"] = Value::Bool(true);
    }
    Json(body)
}
