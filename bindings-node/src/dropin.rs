//! `verifyWebhookSignature`: the drop-in for the original TypeScript helper.

use fluxora_webhooks_facade::core::{NoReplayGuard, ReplayVerdict};
use fluxora_webhooks_facade::{Field, JsError, OwnedSettings, SecretRule, Spelling, Verifier};
use napi::bindgen_prelude::*;
use napi::{Env, JsValue, ValueType};
use napi_derive::napi;

use crate::convert::{body, field_headers, now_seconds, owned, settings_error};
use crate::errors::{bad_argument, throw};
use crate::results::result_object;

/// Input of `verifyWebhookSignature`, with the original TypeScript helper's field names.
#[napi(object, object_to_js = false)]
pub struct VerifyWebhookSignatureInput<'a> {
    /// The current secret; missing or empty answers `missing_secret` (500).
    #[napi(ts_type = "string | null")]
    pub secret: Option<Unknown<'a>>,
    /// The previous secret, accepted during rotation.
    #[napi(ts_type = "string | null")]
    pub secret_previous: Option<Unknown<'a>>,
    /// When the previous secret was rotated out (Unix seconds); without it, it never expires.
    #[napi(ts_type = "number | null")]
    pub previous_secret_rotated_at: Option<Unknown<'a>>,
    /// How long the previous secret stays valid after `previousSecretRotatedAt` (default 86400).
    #[napi(ts_type = "number | null")]
    pub grace_window_seconds: Option<Unknown<'a>>,
    /// The `x-fluxora-delivery-id` header.
    #[napi(ts_type = "string | string[] | null")]
    pub delivery_id: Option<Unknown<'a>>,
    /// The `x-fluxora-timestamp` header, as received.
    #[napi(ts_type = "string | string[] | null")]
    pub timestamp: Option<Unknown<'a>>,
    /// The `x-fluxora-signature` header, as received.
    #[napi(ts_type = "string | string[] | null")]
    pub signature: Option<Unknown<'a>>,
    /// The raw request body, exactly as received.
    #[napi(ts_type = "Buffer | Uint8Array | string")]
    pub raw_body: Option<Unknown<'a>>,
    /// The freshness window either side of `now` (default 300, boundary inclusive).
    #[napi(ts_type = "number | null")]
    pub tolerance_seconds: Option<Unknown<'a>>,
    /// The verification time: Unix seconds or a `Date` (default: the system clock).
    #[napi(ts_type = "number | Date")]
    pub now: Option<Unknown<'a>>,
    /// The largest accepted body in bytes (default 262144, boundary inclusive).
    #[napi(ts_type = "number | null")]
    pub max_body_bytes: Option<Unknown<'a>>,
    /// Asked only after the signature matched: true answers `duplicate_delivery` (409).
    #[napi(ts_type = "(deliveryId: string) => boolean")]
    pub is_duplicate_delivery: Option<Unknown<'a>>,
}

/// Verifies one delivery: a drop-in for the original TypeScript `verifyWebhookSignature`.
///
/// Same input fields and result shape `{ ok, status, code, message, usedPreviousSecret? }`;
/// `isDuplicateDelivery(deliveryId)` is consulted only after the signature matched.
/// Prefer a reusable `Verifier` on hot paths: it keys the HMAC once.
#[napi(ts_return_type = "VerificationResult")]
pub fn verify_webhook_signature<'env>(
    env: &'env Env,
    input: VerifyWebhookSignatureInput<'env>,
) -> Result<Object<'env>> {
    let mut fields = [
        input.secret,
        input.secret_previous,
        input.previous_secret_rotated_at,
        input.grace_window_seconds,
        input.tolerance_seconds,
        input.max_body_bytes,
    ]
    .into_iter();
    // Read in the facade's order: secret, previous secret, rotation time, grace, tolerance, limit.
    let settings = OwnedSettings::read(Spelling::JavaScript, Field::SecretPrevious, |_| {
        owned(fields.next().flatten())
    })?;
    let verifier = settings
        .validate(SecretRule::Optional)
        .map(Verifier::new)
        .map_err(|error| settings_error(env, error))?;
    let headers = field_headers(env, input.delivery_id, input.timestamp, input.signature)?;
    let raw_body = body(env, input.raw_body)?;
    let now = now_seconds(env, input.now)?;
    let callback = match input.is_duplicate_delivery {
        Some(value) if value.get_type()? == ValueType::Function => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be a function.
            let function = unsafe { value.cast::<Function<'env, String, Unknown<'env>>>() }?;
            Some(function)
        }
        Some(value) if !matches!(value.get_type()?, ValueType::Undefined | ValueType::Null) => {
            return Err(bad_argument(env, "isDuplicateDelivery must be a function"));
        }
        _ => None,
    };
    let outcome = match callback {
        None => verifier.verify(&headers, raw_body.bytes(), now, &mut NoReplayGuard),
        Some(callback) => match verifier.check(&headers, raw_body.bytes(), now) {
            Err(outcome) => outcome,
            Ok(accepted) => {
                let answer = callback.call(accepted.delivery_id_text())?;
                if answer.get_type()? == ValueType::Object && answer.is_promise()? {
                    return Err(throw(env, JsError::async_callback()));
                }
                accepted.conclude(if answer.coerce_to_bool()? {
                    ReplayVerdict::DuplicateDelivery
                } else {
                    ReplayVerdict::Fresh
                })
            }
        },
    };
    result_object(env, outcome, false)
}
