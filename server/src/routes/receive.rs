//! `POST /internal/webhooks/receive`.

use axum::Json;
use serde_json::{Value, json};

use crate::receiver::VerifiedDelivery;

/// Answers a verified, newly recorded delivery.
pub async fn receive(delivery: VerifiedDelivery) -> Json<Value> {
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
