//! Signing: the signature, the signed bytes and a complete signed header set.

use fluxora_webhooks_facade::core::Signer;
use fluxora_webhooks_facade::{
    SignedHeaderSet, new_delivery_id, signing_payload, system_now, timestamp_text,
};
use napi::Env;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{body, owned, settings_error};

/// The timestamp text to sign: a string as given, a number of Unix seconds, or now.
fn timestamp(env: &Env, value: Option<Unknown<'_>>) -> Result<String> {
    let value = owned(value)?;
    timestamp_text(value.loose(), system_now).map_err(|error| settings_error(env, error))
}

/// Computes the `x-fluxora-signature` value: lowercase hex HMAC-SHA256(secret, `timestamp.rawBody`).
#[napi(
    ts_args_type = "secret: string, timestamp: string | number, rawBody: Buffer | Uint8Array | string"
)]
pub fn compute_webhook_signature(
    env: &Env,
    secret: String,
    timestamp_value: Unknown<'_>,
    raw_body: Unknown<'_>,
) -> Result<String> {
    let stamp = timestamp(env, Some(timestamp_value))?;
    let raw_body = body(env, raw_body)?;
    let signature = Signer::new(secret.as_bytes()).sign(stamp.as_bytes(), raw_body.bytes());
    Ok(signature.as_str().to_owned())
}

/// The exact bytes that are signed: the timestamp, one `.`, then the raw body.
#[napi(ts_args_type = "timestamp: string | number, rawBody: Buffer | Uint8Array | string")]
pub fn build_webhook_signing_payload(
    env: &Env,
    timestamp_value: Unknown<'_>,
    raw_body: Unknown<'_>,
) -> Result<Buffer> {
    let stamp = timestamp(env, Some(timestamp_value))?;
    let raw_body = body(env, raw_body)?;
    Ok(signing_payload(stamp.as_bytes(), raw_body.bytes()).into())
}

/// Options of `signDelivery`.
#[napi(object, object_to_js = false)]
pub struct SignOptions<'a> {
    /// The delivery id (default: a fresh `dlv_` id of 32 hex digits).
    pub delivery_id: Option<String>,
    /// The event name, sent as `x-fluxora-event` (not signed).
    pub event: Option<String>,
    /// The timestamp to sign (default: now).
    #[napi(ts_type = "string | number")]
    pub timestamp: Option<Unknown<'a>>,
}

/// Signs a delivery and returns its complete header set (for tests and senders):
/// `x-fluxora-delivery-id`, `x-fluxora-timestamp`, `x-fluxora-signature` and, when given,
/// `x-fluxora-event`.
#[napi(
    ts_args_type = "secret: string, rawBody: Buffer | Uint8Array | string, options?: SignOptions",
    ts_return_type = "SignedHeaders"
)]
pub fn sign_delivery<'env>(
    env: &'env Env,
    secret: String,
    raw_body: Unknown<'env>,
    options: Option<SignOptions<'env>>,
) -> Result<Object<'env>> {
    let (delivery_id, event, stamp) = match options {
        Some(options) => (options.delivery_id, options.event, options.timestamp),
        None => (None, None, None),
    };
    let stamp = timestamp(env, stamp)?;
    let raw_body = body(env, raw_body)?;
    let set = SignedHeaderSet::sign(
        secret.as_bytes(),
        raw_body.bytes(),
        &stamp,
        delivery_id.unwrap_or_else(new_delivery_id),
        event.as_deref(),
    );
    let mut headers = Object::new(env)?;
    for (name, value) in set.pairs() {
        headers.set_named_property(name, value)?;
    }
    Ok(headers)
}
