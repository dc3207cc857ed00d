//! `POST /internal/webhooks/receive`.

use axum::Json;
use serde_json::{Value, json};

use crate::receiver::RecordedDelivery;

/// Answers a verified delivery, recorded as handled in one step: answering is all this
/// route does with it, so there is nothing to reserve it for.
pub async fn receive(delivery: RecordedDelivery) -> Json<Value> {
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
