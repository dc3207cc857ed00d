//! Node.js bindings (napi-rs) for the Fluxora webhooks core: the npm package `@fluxora/webhooks`.
//!
//! This crate only converts JavaScript values into the facade's inputs and its results back
//! (`convert`, `results`) and throws errors in one function (`errors::throw`). Every header
//! lookup, setting, replay verdict, signed header set, decimal and Redis rule is the
//! facade's (`fluxora-webhooks-facade`); every parse, hash, code, status and message is the
//! core's.
#![deny(clippy::all)]

mod convert;
mod decimal;
mod dropin;
mod errors;
mod reservation;
mod results;
mod signing;
mod verifier;

use fluxora_webhooks_facade::core::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_TOLERANCE_SECONDS, OutcomeCode,
};
use fluxora_webhooks_facade::{ContractHeader, outcome_table, redis};
use napi_derive::napi;

pub use decimal::{DecimalOptions, format_from_stroops, parse_to_stroops, validate_decimal_string};
pub use dropin::{VerifyWebhookSignatureInput, verify_webhook_signature};
pub use reservation::Reservation;
pub use signing::{
    SignOptions, build_webhook_signing_payload, compute_webhook_signature, sign_delivery,
};
pub use verifier::{Checked, DeliveryInput, MemoryReplayOptions, RedisEval, Verifier};

/// The result of a verification, with the same field names as the original TypeScript helper.
#[napi(object, object_to_js = false)]
pub struct VerificationResult {
    /// True only when every check passed.
    pub ok: bool,
    /// The HTTP status to answer with (200 when ok).
    pub status: u32,
    /// The stable outcome code, e.g. `"ok"` or `"signature_mismatch"`.
    pub code: String,
    /// The contract's human-readable message.
    pub message: String,
    /// Present when ok: true when only the previous (rotated-out) secret matched.
    pub used_previous_secret: Option<bool>,
}

/// One outcome code with its HTTP status and its message under the default configuration.
#[napi(object)]
pub struct OutcomeInfo {
    /// The stable code, e.g. `"duplicate_delivery"`.
    pub code: String,
    /// The HTTP status a receiver answers with.
    pub status: u32,
    /// The message under the default tolerance (300 s) and body limit (262144 bytes).
    pub message: String,
}

/// Every outcome code, in the order the checks run (`ok` first), from the core.
#[napi]
pub fn outcome_codes() -> Vec<OutcomeInfo> {
    outcome_table(DEFAULT_TOLERANCE_SECONDS, DEFAULT_MAX_BODY_BYTES)
        .into_iter()
        .zip(OutcomeCode::ALL)
        .map(|(outcome, code)| OutcomeInfo {
            code: code.as_str().to_owned(),
            status: u32::from(outcome.status()),
            message: outcome.message().as_str().to_owned(),
        })
        .collect()
}

/// The header names of the wire contract.
#[napi(object)]
pub struct HeaderNames {
    /// `x-fluxora-delivery-id`
    pub delivery_id: String,
    /// `x-fluxora-timestamp`
    pub timestamp: String,
    /// `x-fluxora-signature`
    pub signature: String,
    /// `x-fluxora-event` (not signed)
    pub event: String,
}

/// The header names of the wire contract, from the core.
#[napi]
pub fn header_names() -> HeaderNames {
    HeaderNames {
        delivery_id: ContractHeader::DeliveryId.name().to_owned(),
        timestamp: ContractHeader::Timestamp.name().to_owned(),
        signature: ContractHeader::Signature.name().to_owned(),
        event: ContractHeader::Event.name().to_owned(),
    }
}

/// The Redis replay script shared with the Python package (run it with `EVAL`, the keys
/// and arguments from `Checked.redisEval`).
#[napi]
pub fn redis_script() -> &'static str {
    redis::SCRIPT
}

/// The Redis replay store's default key prefix.
#[napi]
pub fn redis_default_prefix() -> &'static str {
    redis::DEFAULT_PREFIX
}

/// The contract headers of a request, as the one lookup finds them (case-insensitive
/// names, repeated fields combined with `", "`).
#[napi(object)]
pub struct ContractHeaderValues {
    /// `x-fluxora-delivery-id`
    pub delivery_id: Option<String>,
    /// `x-fluxora-timestamp`
    pub timestamp: Option<String>,
    /// `x-fluxora-signature`
    pub signature: Option<String>,
    /// `x-fluxora-event` (not signed: route on the signed body)
    pub event: Option<String>,
}

/// Reads the contract headers from any header form `Verifier.verifyHeaders` accepts.
#[napi(ts_args_type = "headers: HeaderInput")]
pub fn read_headers(
    env: &napi::Env,
    headers: napi::bindgen_prelude::Unknown<'_>,
) -> napi::Result<ContractHeaderValues> {
    let received = convert::request_headers(env, headers)?;
    let text = |header| {
        received
            .get(header)
            .map(|value| String::from_utf8_lossy(value).into_owned())
    };
    Ok(ContractHeaderValues {
        delivery_id: text(ContractHeader::DeliveryId),
        timestamp: text(ContractHeader::Timestamp),
        signature: text(ContractHeader::Signature),
        event: text(ContractHeader::Event),
    })
}

/// Checks a Redis store's `deliveryRetentionSeconds` (whole seconds, at least 1), returning it.
#[napi(ts_args_type = "value: number | undefined")]
pub fn check_delivery_retention(
    env: &napi::Env,
    value: Option<napi::bindgen_prelude::Unknown<'_>>,
) -> napi::Result<f64> {
    let value = convert::owned(value)?;
    fluxora_webhooks_facade::delivery_retention_seconds(value.loose())
        .map(|seconds| seconds as f64)
        .map_err(|error| convert::settings_error(env, error))
}

/// Whether an application's answer `status` settles its reservation by a commit (below 500:
/// handled) rather than a release (500 and above: the sender's retry is processed again).
#[napi]
pub fn commits_on(status: u32) -> bool {
    u16::try_from(status).is_ok_and(fluxora_webhooks_facade::commits_on)
}
