//! `verifyWebhookSignature`: the drop-in for the original TypeScript helper.

use fluxora_webhooks_facade::core::ReplayVerdict;
use fluxora_webhooks_facade::{Field, JsError, OwnedSettings, SecretRule, Spelling, Verifier};
use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::convert::{body, check, field_headers, now_seconds, owned, property};
use crate::errors::{bad_argument, fail, settings_error};
use crate::results::result_object;

/// Verifies one delivery: a drop-in for the original TypeScript `verifyWebhookSignature`.
/// Same input fields and result shape `{ ok, status, code, message, usedPreviousSecret? }`;
/// `isDuplicateDelivery(deliveryId)` is consulted only after the signature matched.
/// Prefer a reusable `Verifier` on hot paths: it keys the HMAC once.
#[wasm_bindgen(js_name = verifyWebhookSignature)]
pub fn verify_webhook_signature(input: JsValue) -> Result<JsValue, JsValue> {
    if !input.is_object() {
        return Err(bad_argument("input must be an object"));
    }
    let settings = OwnedSettings::read(Spelling::JavaScript, Field::SecretPrevious, |name| {
        Ok::<_, JsValue>(owned(&property(&input, name)))
    })?;
    let verifier = settings
        .validate(SecretRule::Optional)
        .map(Verifier::new)
        .map_err(settings_error)?;
    let headers = field_headers(&input)?;
    let raw_body = body(&property(&input, "rawBody"))?;
    let now = now_seconds(&property(&input, "now"))?;
    let callback = property(&input, "isDuplicateDelivery");
    let callback = if callback.is_undefined() || callback.is_null() {
        None
    } else {
        Some(
            callback
                .dyn_into::<Function>()
                .map_err(|_| bad_argument("isDuplicateDelivery must be a function"))?,
        )
    };
    let outcome = match check(&verifier, &headers, &raw_body, now) {
        Err(outcome) => outcome,
        Ok(checked) => match callback {
            None => checked.conclude(ReplayVerdict::Fresh),
            Some(callback) => {
                let id = String::from_utf8_lossy(checked.entry().delivery_id).into_owned();
                let answer = callback.call1(&JsValue::UNDEFINED, &JsValue::from_str(&id))?;
                if answer.is_object() && property(&answer, "then").is_function() {
                    return Err(fail(JsError::async_callback()));
                }
                checked.conclude(if answer.is_truthy() {
                    ReplayVerdict::DuplicateDelivery
                } else {
                    ReplayVerdict::Fresh
                })
            }
        },
    };
    Ok(result_object(outcome))
}
