//! Signing: the signature, the signed bytes and a complete signed header set.

use fluxora_webhooks_facade::core::Signer;
use fluxora_webhooks_facade::{SignedHeaderSet, delivery_id_from, signing_payload, timestamp_text};
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::convert::{Body, body, clock, each_chunk, owned, property};
use crate::errors::{bad_argument, settings_error};

fn secret_text(value: &JsValue) -> Result<String, JsValue> {
    value
        .as_string()
        .ok_or_else(|| bad_argument("secret must be a string"))
}

fn timestamp(value: &JsValue) -> Result<String, JsValue> {
    timestamp_text(owned(value).loose(), clock).map_err(settings_error)
}

/// The signature of `timestamp.body`, streaming a view through the signer in chunks.
fn signature(secret: &str, stamp: &str, raw_body: &Body) -> String {
    let mut signing = Signer::new(secret.as_bytes()).start(stamp.as_bytes());
    match raw_body {
        Body::Text(bytes) => signing.update(bytes),
        Body::View(view) => {
            let _ = each_chunk(view, |chunk| {
                signing.update(chunk);
                Ok::<(), ()>(())
            });
        }
    }
    signing.finish().as_str().to_owned()
}

/// Computes the `x-fluxora-signature` value: lowercase hex HMAC-SHA256(secret, `timestamp.rawBody`).
#[wasm_bindgen(js_name = computeWebhookSignature)]
pub fn compute_webhook_signature(
    secret: JsValue,
    timestamp_value: JsValue,
    raw_body: JsValue,
) -> Result<String, JsValue> {
    let secret = secret_text(&secret)?;
    let stamp = timestamp(&timestamp_value)?;
    Ok(signature(&secret, &stamp, &body(&raw_body)?))
}

/// The exact bytes that are signed: the timestamp, one `.`, then the raw body (a Uint8Array).
#[wasm_bindgen(js_name = buildWebhookSigningPayload)]
pub fn build_webhook_signing_payload(
    timestamp_value: JsValue,
    raw_body: JsValue,
) -> Result<Uint8Array, JsValue> {
    let stamp = timestamp(&timestamp_value)?;
    let bytes = match body(&raw_body)? {
        Body::Text(bytes) => bytes,
        Body::View(view) => view.to_vec(),
    };
    Ok(Uint8Array::from(
        signing_payload(stamp.as_bytes(), &bytes).as_slice(),
    ))
}

/// 16 random bytes from `crypto.getRandomValues` (every browser and edge runtime has it),
/// else `Math.random` (a delivery id needs uniqueness, not secrecy).
fn random_bytes() -> [u8; 16] {
    let array = Uint8Array::new_with_length(16);
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).unwrap_or(JsValue::UNDEFINED);
    let fill = property(&crypto, "getRandomValues");
    let filled = fill
        .dyn_ref::<js_sys::Function>()
        .is_some_and(|fill| fill.call1(&crypto, &array).is_ok());
    let mut bytes = [0u8; 16];
    if filled {
        array.copy_to(&mut bytes);
    } else {
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}

/// Signs a delivery and returns its complete header set (for tests and senders):
/// `x-fluxora-delivery-id`, `x-fluxora-timestamp`, `x-fluxora-signature` and, when given,
/// `x-fluxora-event`.
#[wasm_bindgen(js_name = signDelivery)]
pub fn sign_delivery(
    secret: JsValue,
    raw_body: JsValue,
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let secret = secret_text(&secret)?;
    if !(options.is_undefined() || options.is_null() || options.is_object()) {
        return Err(bad_argument("options must be an object"));
    }
    let text_option = |name: &str| -> Result<Option<String>, JsValue> {
        let value = property(&options, name);
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        value
            .as_string()
            .map(Some)
            .ok_or_else(|| bad_argument(format!("{name} must be a string")))
    };
    let delivery_id = text_option("deliveryId")?;
    let event = text_option("event")?;
    let stamp = timestamp(&property(&options, "timestamp"))?;
    let raw_body = body(&raw_body)?;
    let signature = signature(&secret, &stamp, &raw_body);
    let set = SignedHeaderSet {
        delivery_id: delivery_id.unwrap_or_else(|| delivery_id_from(random_bytes())),
        timestamp: stamp,
        signature,
        event,
    };
    let headers = Object::new();
    for (name, value) in set.pairs() {
        Reflect::set(&headers, &name.into(), &value.into())?;
    }
    Ok(headers.into())
}
