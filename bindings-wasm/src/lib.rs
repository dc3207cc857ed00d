//! WebAssembly bindings (wasm-bindgen) for the Fluxora webhooks core: the npm package
//! `@fluxora/webhooks-wasm`.
//!
//! These exports are the package's private layer: `js/api.js` checks every JavaScript
//! argument, throws the package's coded errors, and calls in here with plain strings,
//! numbers and byte views. This crate only hands those to `fluxora-webhooks` and reports
//! what it answered; every parse, hash, comparison, code, status and message is the core's.
//!
//! Nothing here can panic on any input: numbers arrive as `f64` and are converted with
//! saturating casts, indices are looked up with `get`, and bodies are copied out of their
//! JavaScript view in bounded chunks (so a body far over the limit is never copied whole).

use fluxora_webhooks::decimal::{self, DecimalError};
use fluxora_webhooks::{
    DEFAULT_DELIVERY_RETENTION_SECONDS, DEFAULT_GRACE_WINDOW_SECONDS, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TOLERANCE_SECONDS, DeliveryHeaders, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE,
    HEADER_TIMESTAMP, NoReplayGuard, Outcome, OutcomeCode, ReplayEntry, ReplayGuard, ReplayVerdict,
    Signer, Verifier,
};
use js_sys::{Function, Uint8Array};
use wasm_bindgen::prelude::*;

use fluxora_webhooks::MemoryReplayStore;

// ---------------------------------------------------------------------------------------------
// Conversions.
// ---------------------------------------------------------------------------------------------

/// A whole number of seconds or bytes from a JS number; the wrapper has already rejected
/// negative and non-finite values, and `as` saturates, so this never fails.
fn whole(value: f64, default: u64) -> u64 {
    if value.is_finite() && value >= 0.0 {
        value as u64
    } else {
        default
    }
}

/// `previousSecretRotatedAt`: a negative or NaN value means "not set".
fn optional_whole(value: f64) -> Option<u64> {
    (value.is_finite() && value >= 0.0).then_some(value as u64)
}

/// The three headers; the wrapper passes `""` for an absent header (the same for the core).
fn delivery_headers<'a>(
    delivery_id: &'a str,
    timestamp: &'a str,
    signature: &'a str,
) -> DeliveryHeaders<'a> {
    DeliveryHeaders::new(delivery_id, timestamp, signature)
}

/// Bytes copied out of a JavaScript body view per step.
const CHUNK_BYTES: u32 = 64 * 1024;

/// Verifies with the core's incremental API, copying the body out of its JavaScript view
/// one chunk at a time: the core fails with `payload_too_large` as soon as the running
/// length passes the limit, and copying stops there.
fn verify_view<G: ReplayGuard + ?Sized>(
    verifier: &Verifier,
    headers: &DeliveryHeaders<'_>,
    body: &Uint8Array,
    now: u64,
    guard: &mut G,
) -> Outcome {
    let mut verification = match verifier.start(headers, now) {
        Ok(verification) => verification,
        Err(outcome) => return outcome,
    };
    let length = body.length();
    if length <= CHUNK_BYTES {
        if let Err(outcome) = verification.update(&body.to_vec()) {
            return outcome;
        }
    } else {
        let mut start = 0;
        while start < length {
            let end = start.saturating_add(CHUNK_BYTES).min(length);
            if let Err(outcome) = verification.update(&body.subarray(start, end).to_vec()) {
                return outcome;
            }
            start = end;
        }
    }
    verification.finish(guard)
}

// ---------------------------------------------------------------------------------------------
// Outcomes: an outcome crosses the boundary as a small index; its code, status and message
// are read from the core once per verifier and cached on the JavaScript side.
// ---------------------------------------------------------------------------------------------

/// Index of `ok` with `usedPreviousSecret: true` (after every index of `OutcomeCode::ALL`).
const OK_BY_PREVIOUS_SECRET: u32 = OutcomeCode::ALL.len() as u32;

fn outcome_index(outcome: Outcome) -> u32 {
    if outcome.used_previous_secret() {
        return OK_BY_PREVIOUS_SECRET;
    }
    let kind = outcome.kind();
    OutcomeCode::ALL
        .iter()
        .position(|code| *code == kind)
        .and_then(|position| u32::try_from(position).ok())
        .unwrap_or(OK_BY_PREVIOUS_SECRET + 1)
}

/// The outcome an index stands for under a configuration (`SignatureMismatch` for an
/// unknown index, which the wrapper never asks for).
fn outcome_for(index: u32, tolerance_seconds: u64, max_body_bytes: u64) -> Outcome {
    if index == OK_BY_PREVIOUS_SECRET {
        return Outcome::Verified {
            used_previous_secret: true,
        };
    }
    let code = usize::try_from(index)
        .ok()
        .and_then(|index| OutcomeCode::ALL.get(index).copied());
    match code {
        Some(OutcomeCode::Ok) => Outcome::Verified {
            used_previous_secret: false,
        },
        Some(OutcomeCode::MissingSecret) => Outcome::MissingSecret,
        Some(OutcomeCode::MissingDeliveryId) => Outcome::MissingDeliveryId,
        Some(OutcomeCode::MissingTimestamp) => Outcome::MissingTimestamp,
        Some(OutcomeCode::MissingSignature) => Outcome::MissingSignature,
        Some(OutcomeCode::PayloadTooLarge) => Outcome::PayloadTooLarge {
            limit: max_body_bytes,
        },
        Some(OutcomeCode::InvalidTimestamp) => Outcome::InvalidTimestamp,
        Some(OutcomeCode::TimestampOutsideTolerance) => {
            Outcome::TimestampOutsideTolerance { tolerance_seconds }
        }
        Some(OutcomeCode::PreviousSecretExpired) => Outcome::PreviousSecretExpired,
        Some(OutcomeCode::DuplicateDelivery) => Outcome::DuplicateDelivery,
        Some(OutcomeCode::ReplayedSignature) => Outcome::ReplayedSignature,
        Some(OutcomeCode::ConsumerOverloaded) => Outcome::ConsumerOverloaded,
        _ => Outcome::SignatureMismatch,
    }
}

/// How many outcome indices there are: every code, plus `ok` by the previous secret.
#[wasm_bindgen(js_name = outcomeCount)]
pub fn outcome_count() -> u32 {
    OK_BY_PREVIOUS_SECRET + 1
}

/// The contract code of an outcome index, e.g. `"signature_mismatch"`.
#[wasm_bindgen(js_name = outcomeCode)]
pub fn outcome_code(index: u32) -> String {
    outcome_for(index, DEFAULT_TOLERANCE_SECONDS, DEFAULT_MAX_BODY_BYTES)
        .code()
        .to_owned()
}

/// The HTTP status of an outcome index.
#[wasm_bindgen(js_name = outcomeStatus)]
pub fn outcome_status(index: u32) -> u16 {
    outcome_for(index, DEFAULT_TOLERANCE_SECONDS, DEFAULT_MAX_BODY_BYTES).status()
}

/// The contract message of an outcome index under a tolerance and body limit.
#[wasm_bindgen(js_name = outcomeMessage)]
pub fn outcome_message(index: u32, tolerance_seconds: f64, max_body_bytes: f64) -> String {
    let outcome = outcome_for(
        index,
        whole(tolerance_seconds, DEFAULT_TOLERANCE_SECONDS),
        whole(max_body_bytes, DEFAULT_MAX_BODY_BYTES),
    );
    outcome.message().as_str().to_owned()
}

/// The index of `ok` by the previous secret (the one index outside `OutcomeCode::ALL`).
#[wasm_bindgen(js_name = okByPreviousSecret)]
pub fn ok_by_previous_secret() -> u32 {
    OK_BY_PREVIOUS_SECRET
}

/// A header name of the wire contract: 0 delivery id, 1 timestamp, 2 signature, 3 event.
#[wasm_bindgen(js_name = headerName)]
pub fn header_name(index: u32) -> String {
    match index {
        0 => HEADER_DELIVERY_ID,
        1 => HEADER_TIMESTAMP,
        2 => HEADER_SIGNATURE,
        _ => HEADER_EVENT,
    }
    .to_owned()
}

/// The core's defaults: 0 tolerance, 1 body limit, 2 grace window, 3 delivery retention,
/// 4 replay capacity.
#[wasm_bindgen(js_name = defaultSetting)]
pub fn default_setting(index: u32) -> f64 {
    let value = match index {
        0 => DEFAULT_TOLERANCE_SECONDS,
        1 => DEFAULT_MAX_BODY_BYTES,
        2 => DEFAULT_GRACE_WINDOW_SECONDS,
        3 => DEFAULT_DELIVERY_RETENTION_SECONDS,
        _ => u64::try_from(MemoryReplayStore::DEFAULT_CAPACITY).unwrap_or(u64::MAX),
    };
    value as f64
}

// ---------------------------------------------------------------------------------------------
// Replay guards that live for one call.
// ---------------------------------------------------------------------------------------------

/// Asks `isDuplicateDelivery(deliveryId)` (already wrapped by `api.js` to refuse promises);
/// a thrown error is kept and rethrown once the core has finished.
struct CallbackGuard<'a> {
    callback: &'a Function,
    error: Option<JsValue>,
}

impl ReplayGuard for CallbackGuard<'_> {
    fn check_and_record(&mut self, entry: &ReplayEntry<'_>) -> ReplayVerdict {
        let id = JsValue::from_str(&String::from_utf8_lossy(entry.delivery_id));
        match self.callback.call1(&JsValue::UNDEFINED, &id) {
            Ok(answer) if answer.is_truthy() => ReplayVerdict::DuplicateDelivery,
            Ok(_) => ReplayVerdict::Fresh,
            Err(error) => {
                self.error = Some(error);
                ReplayVerdict::Fresh
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The one-shot drop-in.
// ---------------------------------------------------------------------------------------------

/// One verification with a verifier built for this call (`verifyWebhookSignature`).
/// Returns the outcome index; rethrows what `is_duplicate` threw.
#[wasm_bindgen(js_name = verifyOnce)]
#[allow(clippy::too_many_arguments)]
pub fn verify_once(
    secret: &str,
    previous_secret: &str,
    previous_secret_rotated_at: f64,
    grace_window_seconds: f64,
    tolerance_seconds: f64,
    max_body_bytes: f64,
    delivery_id: &str,
    timestamp: &str,
    signature: &str,
    body: &Uint8Array,
    now: f64,
    is_duplicate: Option<Function>,
) -> Result<u32, JsValue> {
    let verifier = Verifier::new(secret.as_bytes())
        .with_previous_secret(
            previous_secret.as_bytes(),
            optional_whole(previous_secret_rotated_at),
        )
        .with_grace_window_seconds(whole(grace_window_seconds, DEFAULT_GRACE_WINDOW_SECONDS))
        .with_tolerance_seconds(whole(tolerance_seconds, DEFAULT_TOLERANCE_SECONDS))
        .with_max_body_bytes(whole(max_body_bytes, DEFAULT_MAX_BODY_BYTES));
    let headers = delivery_headers(delivery_id, timestamp, signature);
    let now = whole(now, 0);
    let outcome = match &is_duplicate {
        Some(callback) => {
            let mut guard = CallbackGuard {
                callback,
                error: None,
            };
            let outcome = verify_view(&verifier, &headers, body, now, &mut guard);
            if let Some(error) = guard.error {
                return Err(error);
            }
            outcome
        }
        None => verify_view(&verifier, &headers, body, now, &mut NoReplayGuard),
    };
    Ok(outcome_index(outcome))
}

// ---------------------------------------------------------------------------------------------
// The reusable verifier.
// ---------------------------------------------------------------------------------------------

enum Guard {
    None,
    Memory(MemoryReplayStore),
}

/// A verifier keyed once, with its optional in-memory replay store (`Verifier` in JS).
#[wasm_bindgen(js_name = NativeVerifier)]
pub struct NativeVerifier {
    inner: Verifier,
    guard: Guard,
}

#[wasm_bindgen(js_class = NativeVerifier)]
impl NativeVerifier {
    /// Keys each secret into HMAC-SHA256, once. A negative `replay_capacity` means no store.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        secret: &str,
        previous_secret: &str,
        previous_secret_rotated_at: f64,
        grace_window_seconds: f64,
        tolerance_seconds: f64,
        max_body_bytes: f64,
        replay_capacity: f64,
        delivery_retention_seconds: f64,
    ) -> NativeVerifier {
        let inner = Verifier::new(secret.as_bytes())
            .with_previous_secret(
                previous_secret.as_bytes(),
                optional_whole(previous_secret_rotated_at),
            )
            .with_grace_window_seconds(whole(grace_window_seconds, DEFAULT_GRACE_WINDOW_SECONDS))
            .with_tolerance_seconds(whole(tolerance_seconds, DEFAULT_TOLERANCE_SECONDS))
            .with_max_body_bytes(whole(max_body_bytes, DEFAULT_MAX_BODY_BYTES));
        let guard = if replay_capacity.is_finite() && replay_capacity >= 0.0 {
            Guard::Memory(MemoryReplayStore::with_delivery_retention(
                replay_capacity as usize,
                whole(
                    delivery_retention_seconds,
                    DEFAULT_DELIVERY_RETENTION_SECONDS,
                ),
            ))
        } else {
            Guard::None
        };
        NativeVerifier { inner, guard }
    }

    /// Verifies one delivery; returns the outcome index.
    pub fn verify(
        &mut self,
        delivery_id: &str,
        timestamp: &str,
        signature: &str,
        body: &Uint8Array,
        now: f64,
    ) -> u32 {
        let headers = delivery_headers(delivery_id, timestamp, signature);
        let now = whole(now, 0);
        let outcome = match &mut self.guard {
            Guard::None => verify_view(&self.inner, &headers, body, now, &mut NoReplayGuard),
            Guard::Memory(store) => verify_view(&self.inner, &headers, body, now, store),
        };
        outcome_index(outcome)
    }

    /// The message of an outcome index under this verifier's tolerance and body limit.
    pub fn message(&self, index: u32) -> String {
        outcome_for(
            index,
            self.inner.tolerance_seconds(),
            self.inner.max_body_bytes(),
        )
        .message()
        .as_str()
        .to_owned()
    }

    /// The configured freshness window in seconds.
    #[wasm_bindgen(getter, js_name = toleranceSeconds)]
    pub fn tolerance_seconds(&self) -> f64 {
        self.inner.tolerance_seconds() as f64
    }

    /// The configured body limit in bytes.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        self.inner.max_body_bytes() as f64
    }

    /// The configured grace window of the previous secret in seconds.
    #[wasm_bindgen(getter, js_name = graceWindowSeconds)]
    pub fn grace_window_seconds(&self) -> f64 {
        self.inner.grace_window_seconds() as f64
    }

    /// The store's capacity, or -1 without a store.
    #[wasm_bindgen(getter, js_name = replayCapacity)]
    pub fn replay_capacity(&self) -> f64 {
        match &self.guard {
            Guard::None => -1.0,
            Guard::Memory(store) => store.capacity() as f64,
        }
    }

    /// The store's delivery-id retention in seconds, or -1 without a store.
    #[wasm_bindgen(getter, js_name = deliveryRetentionSeconds)]
    pub fn delivery_retention_seconds(&self) -> f64 {
        match &self.guard {
            Guard::None => -1.0,
            Guard::Memory(store) => store.delivery_retention_seconds() as f64,
        }
    }

    /// Deliveries the store holds at `now` (0 without a store).
    #[wasm_bindgen(js_name = replayEntries)]
    pub fn replay_entries(&mut self, now: f64) -> f64 {
        match &mut self.guard {
            Guard::None => 0.0,
            Guard::Memory(store) => store.live_entries(whole(now, 0)) as f64,
        }
    }

    /// The core's description of the configuration, secrets redacted.
    pub fn describe(&self) -> String {
        format!("{:?}", self.inner)
    }
}

// ---------------------------------------------------------------------------------------------
// Signing.
// ---------------------------------------------------------------------------------------------

/// The `x-fluxora-signature` value: lowercase hex HMAC-SHA256(secret, `timestamp.body`).
/// The body is copied out of its JavaScript view one chunk at a time, so any size signs
/// without a second whole copy inside the module.
#[wasm_bindgen]
pub fn sign(secret: &str, timestamp: &str, body: &Uint8Array) -> String {
    let mut signing = Signer::new(secret.as_bytes()).start(timestamp.as_bytes());
    let length = body.length();
    let mut start = 0;
    while start < length {
        let end = start.saturating_add(CHUNK_BYTES).min(length);
        signing.update(&body.subarray(start, end).to_vec());
        start = end;
    }
    signing.finish().as_str().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Decimals: a failure crosses the boundary as an index into `DecimalError::ALL`.
// ---------------------------------------------------------------------------------------------

fn decimal_index(error: DecimalError) -> u32 {
    DecimalError::ALL
        .iter()
        .position(|candidate| *candidate == error)
        .and_then(|position| u32::try_from(position).ok())
        .unwrap_or(0)
}

fn checked_decimal(value: &str, amount: bool) -> Result<decimal::Decimal<'_>, DecimalError> {
    if amount {
        decimal::parse_amount(value)
    } else {
        decimal::parse(value)
    }
}

/// The normalized decimal, or `""` when it is invalid (then ask `decimalError`).
#[wasm_bindgen(js_name = normalizeDecimal)]
pub fn normalize_decimal(value: &str, amount: bool) -> String {
    checked_decimal(value, amount).map_or_else(|_| String::new(), |d| d.as_str().to_owned())
}

/// Why a decimal is invalid, as an index into the error table (-1 when it is valid).
#[wasm_bindgen(js_name = decimalError)]
pub fn decimal_error(value: &str, amount: bool) -> i32 {
    match checked_decimal(value, amount) {
        Ok(_) => -1,
        Err(error) => i32::try_from(decimal_index(error)).unwrap_or(0),
    }
}

/// How many decimal errors there are.
#[wasm_bindgen(js_name = decimalErrorCount)]
pub fn decimal_error_count() -> u32 {
    DecimalError::ALL.len() as u32
}

fn decimal_error_at(index: u32) -> DecimalError {
    usize::try_from(index)
        .ok()
        .and_then(|index| DecimalError::ALL.get(index).copied())
        .unwrap_or(DecimalError::InvalidFormat)
}

/// The `DECIMAL_*` code of an error index.
#[wasm_bindgen(js_name = decimalErrorCode)]
pub fn decimal_error_code(index: u32) -> String {
    decimal_error_at(index).code().to_owned()
}

/// The message of an error index.
#[wasm_bindgen(js_name = decimalErrorMessage)]
pub fn decimal_error_message(index: u32) -> String {
    decimal_error_at(index).to_string()
}

/// An amount in stroops, or the error index as `Err` (the wrapper turns it into a coded Error).
#[wasm_bindgen(js_name = toStroops)]
pub fn to_stroops(value: &str) -> Result<i128, u32> {
    decimal::to_stroops(value).map_err(decimal_index)
}

/// Stroops as a normalized amount string: 15000000 is `"1.5"`.
#[wasm_bindgen(js_name = formatStroops)]
pub fn format_stroops(stroops: i128) -> String {
    decimal::format_stroops(stroops).as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_index_round_trips() {
        for (index, code) in OutcomeCode::ALL.iter().enumerate() {
            let index = u32::try_from(index).unwrap();
            let outcome = outcome_for(index, 300, 262_144);
            assert_eq!(outcome.kind(), *code);
            assert_eq!(outcome_index(outcome), index);
        }
        let previous = outcome_for(OK_BY_PREVIOUS_SECRET, 300, 262_144);
        assert!(previous.used_previous_secret());
        assert_eq!(outcome_index(previous), OK_BY_PREVIOUS_SECRET);
        assert_eq!(outcome_count(), 14);
    }

    #[test]
    fn messages_carry_the_configuration() {
        let payload = OutcomeCode::ALL
            .iter()
            .position(|c| *c == OutcomeCode::PayloadTooLarge)
            .unwrap();
        assert_eq!(
            outcome_message(u32::try_from(payload).unwrap(), 300.0, 16.0),
            "Payload exceeds 16 bytes"
        );
    }

    #[test]
    fn conversions_saturate_instead_of_failing() {
        assert_eq!(whole(f64::NAN, 7), 7);
        assert_eq!(whole(-1.0, 7), 7);
        assert_eq!(whole(1e300, 7), u64::MAX);
        assert_eq!(whole(12.9, 7), 12);
        assert_eq!(optional_whole(-1.0), None);
        assert_eq!(optional_whole(5.0), Some(5));
    }

    #[test]
    fn decimals_report_indices_into_the_core_table() {
        assert_eq!(normalize_decimal("100.50", true), "100.5");
        assert_eq!(decimal_error("100.50", true), -1);
        let index = u32::try_from(decimal_error(".5", false)).unwrap();
        assert_eq!(decimal_error_code(index), "DECIMAL_INVALID_FORMAT");
        assert_eq!(normalize_decimal(".5", false), "");
    }
}
