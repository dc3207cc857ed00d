//! Node.js bindings (napi-rs) for the Fluxora webhooks core: the npm package `@fluxora/webhooks`.
//!
//! This crate only converts types between JavaScript and the core and maps errors; every
//! parse, hash, comparison, code, status and message comes from `fluxora-webhooks`.
#![deny(clippy::all)]

use std::time::{SystemTime, UNIX_EPOCH};

use fluxora_webhooks::decimal::{self, DecimalError};
use fluxora_webhooks::{
    DEFAULT_DELIVERY_RETENTION_SECONDS, DEFAULT_GRACE_WINDOW_SECONDS, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TOLERANCE_SECONDS, DeliveryHeaders, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE,
    HEADER_TIMESTAMP, MemoryReplayStore, NoReplayGuard, Outcome, OutcomeCode, ReplayEntry,
    ReplayGuard, ReplayVerdict, Signer,
};
use napi::bindgen_prelude::*;
use napi::{Env, JsValue, ValueType};
use napi_derive::napi;

// ---------------------------------------------------------------------------------------------
// Errors: every error this package throws is made here, as a JS Error with a `code`.
// ---------------------------------------------------------------------------------------------

/// Code of the error thrown for a body that is not raw bytes (e.g. a parsed JSON object).
const ERR_INVALID_BODY: &str = "ERR_FLUXORA_INVALID_BODY";
/// Code of the error thrown for any other argument of the wrong type or range.
const ERR_INVALID_ARGUMENT: &str = "ERR_FLUXORA_INVALID_ARGUMENT";
/// Code of the error thrown when `isDuplicateDelivery` returns a promise.
const ERR_ASYNC_CALLBACK: &str = "ERR_FLUXORA_ASYNC_CALLBACK";

/// What went wrong at the boundary, before or after the core ran.
enum Failure {
    /// A value of the wrong type or range (thrown as `TypeError`).
    Argument(&'static str, String),
    /// A decimal the core rejected (thrown as `Error` with the DECIMAL_* code).
    Decimal(DecimalError),
}

/// The one place where failures become thrown JS errors: the error is thrown on `env` with
/// its `code`, and the returned napi error tells napi-rs that an exception is pending.
/// Messages never contain a secret.
fn throw(env: &Env, failure: Failure) -> Error {
    let (code, message, type_error) = match failure {
        Failure::Argument(code, message) => (code, message, true),
        Failure::Decimal(error) => (error.code(), error.to_string(), false),
    };
    let thrown = if type_error {
        env.throw_type_error(&message, Some(code))
    } else {
        env.throw_error(&message, Some(code))
    };
    match thrown {
        Ok(()) => Error::new(Status::PendingException, message),
        Err(error) => error,
    }
}

fn bad_argument(env: &Env, message: impl Into<String>) -> Error {
    throw(env, Failure::Argument(ERR_INVALID_ARGUMENT, message.into()))
}

// ---------------------------------------------------------------------------------------------
// Conversions from JS values.
// ---------------------------------------------------------------------------------------------

/// The raw body: borrowed from a Buffer/Uint8Array without copying, or a string's UTF-8.
enum Body<'a> {
    Borrowed(BufferSlice<'a>),
    Text(String),
}

impl Body<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Body::Borrowed(slice) => slice,
            Body::Text(text) => text.as_bytes(),
        }
    }
}

const BODY_HINT: &str = "rawBody must be the raw request body as a Buffer, Uint8Array or string, exactly as received; \
a parsed JSON object cannot be verified because re-serializing changes the signed bytes \
(read the body with a raw parser, e.g. express.raw({ type: '*/*' }) or await request.arrayBuffer())";

fn body<'a>(env: &Env, value: impl Into<Option<Unknown<'a>>>) -> Result<Body<'a>> {
    let Some(value) = value.into() else {
        return Err(throw(
            env,
            Failure::Argument(ERR_INVALID_BODY, format!("rawBody is missing: {BODY_HINT}")),
        ));
    };
    // Fast path: one napi call for Buffers and every other ArrayBufferView.
    #[allow(unsafe_code)]
    // SAFETY: `BufferSlice::from_napi_value` calls `napi_get_buffer_info`, which checks the
    // value's type itself and fails (without a pending exception) for anything else.
    if let Ok(slice) = unsafe { value.cast::<BufferSlice<'a>>() } {
        return Ok(Body::Borrowed(slice));
    }
    match value.get_type()? {
        ValueType::String => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be a string.
            let text = unsafe { value.cast::<String>() }?;
            Ok(Body::Text(text))
        }
        ValueType::Undefined | ValueType::Null => Err(throw(
            env,
            Failure::Argument(ERR_INVALID_BODY, format!("rawBody is missing: {BODY_HINT}")),
        )),
        other => Err(throw(
            env,
            Failure::Argument(
                ERR_INVALID_BODY,
                format!("rawBody is {}: {BODY_HINT}", type_name(other)),
            ),
        )),
    }
}

fn type_name(value_type: ValueType) -> &'static str {
    match value_type {
        ValueType::Object => "an object",
        ValueType::Number => "a number",
        ValueType::Boolean => "a boolean",
        ValueType::BigInt => "a bigint",
        ValueType::Function => "a function",
        ValueType::Symbol => "a symbol",
        _ => "not a string or bytes",
    }
}

/// A header value as received: absent, a string, or (duplicated headers) an array joined
/// with `", "` as Node does. Absent and empty are the same for the core.
fn header(env: &Env, name: &str, value: Option<Unknown<'_>>) -> Result<Option<String>> {
    let Some(value) = value else { return Ok(None) };
    match value.get_type()? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        ValueType::String => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be a string.
            let text = unsafe { value.cast::<String>() }?;
            Ok(Some(text))
        }
        ValueType::Object if value.is_array()? => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be an array.
            let parts = unsafe { value.cast::<Vec<String>>() }
                .map_err(|_| bad_argument(env, format!("{name} must be a string")))?;
            Ok(Some(parts.join(", ")))
        }
        _ => Err(bad_argument(env, format!("{name} must be a string"))),
    }
}

/// A whole number of seconds or bytes from a JS number (non-negative, finite).
fn whole(env: &Env, name: &str, value: Option<f64>, default: u64) -> Result<u64> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && v >= 0.0 && v <= u64::MAX as f64 => Ok(v.floor() as u64),
        Some(_) => Err(bad_argument(
            env,
            format!("{name} must be a non-negative number"),
        )),
    }
}

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// `now` as Unix seconds: absent means the system clock; a number is seconds; a `Date` is
/// converted from its milliseconds.
fn now_seconds(env: &Env, value: Option<Unknown<'_>>) -> Result<u64> {
    let Some(value) = value else {
        return Ok(system_now());
    };
    let invalid = || bad_argument(env, "now must be Unix seconds (a number) or a Date");
    match value.get_type()? {
        ValueType::Undefined | ValueType::Null => Ok(system_now()),
        ValueType::Number => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be a number.
            let seconds = unsafe { value.cast::<f64>() }?;
            whole(env, "now", Some(seconds), 0)
        }
        ValueType::Object if value.is_date()? => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be a Date.
            let date = unsafe { value.cast::<napi::JsDate<'_>>() }?;
            let millis = date.value_of()?;
            if !millis.is_finite() || millis < 0.0 {
                return Err(invalid());
            }
            Ok((millis / 1000.0).floor() as u64)
        }
        _ => Err(invalid()),
    }
}

fn optional_unknown<'a>(object: &Object<'a>, name: &str) -> Result<Option<Unknown<'a>>> {
    object.get_named_property::<Option<Unknown<'a>>>(name)
}

/// The signed headers of one delivery, converted from JS values (absent and empty are the
/// same for the core).
struct SignedHeaders {
    delivery_id: Option<String>,
    timestamp: Option<String>,
    signature: Option<String>,
}

impl SignedHeaders {
    /// From a delivery given as fields (`deliveryId`, `timestamp`, `signature`).
    fn from_fields(
        env: &Env,
        delivery_id: Option<Unknown<'_>>,
        timestamp: Option<Unknown<'_>>,
        signature: Option<Unknown<'_>>,
    ) -> Result<Self> {
        Ok(Self {
            delivery_id: header(env, "deliveryId", delivery_id)?,
            timestamp: header(env, "timestamp", timestamp)?,
            signature: header(env, "signature", signature)?,
        })
    }

    /// From a request's header object (the `x-fluxora-*` keys), read in that order.
    fn from_object(env: &Env, headers: &Object<'_>) -> Result<Self> {
        let read = |name: &str| header(env, name, optional_unknown(headers, name)?);
        Ok(Self {
            delivery_id: read(HEADER_DELIVERY_ID)?,
            timestamp: read(HEADER_TIMESTAMP)?,
            signature: read(HEADER_SIGNATURE)?,
        })
    }

    /// The core's view of the headers, borrowed.
    fn delivery(&self) -> DeliveryHeaders<'_> {
        DeliveryHeaders {
            delivery_id: self.delivery_id.as_deref().map(str::as_bytes),
            timestamp: self.timestamp.as_deref().map(str::as_bytes),
            signature: self.signature.as_deref().map(str::as_bytes),
        }
    }
}

/// The limits shared by `verifyWebhookSignature` and `new Verifier(...)`, as JS numbers.
struct Limits {
    previous_secret_rotated_at: Option<f64>,
    grace_window_seconds: Option<f64>,
    tolerance_seconds: Option<f64>,
    max_body_bytes: Option<f64>,
}

/// A core verifier keyed with the secrets and configured with the checked limits.
fn core_verifier(
    env: &Env,
    secret: &[u8],
    previous: &[u8],
    limits: Limits,
) -> Result<fluxora_webhooks::Verifier> {
    let rotated_at = limits
        .previous_secret_rotated_at
        .map(|v| whole(env, "previousSecretRotatedAt", Some(v), 0))
        .transpose()?;
    Ok(fluxora_webhooks::Verifier::new(secret)
        .with_previous_secret(previous, rotated_at)
        .with_grace_window_seconds(whole(
            env,
            "graceWindowSeconds",
            limits.grace_window_seconds,
            DEFAULT_GRACE_WINDOW_SECONDS,
        )?)
        .with_tolerance_seconds(whole(
            env,
            "toleranceSeconds",
            limits.tolerance_seconds,
            DEFAULT_TOLERANCE_SECONDS,
        )?)
        .with_max_body_bytes(whole(
            env,
            "maxBodyBytes",
            limits.max_body_bytes,
            DEFAULT_MAX_BODY_BYTES,
        )?))
}

// ---------------------------------------------------------------------------------------------
// Results.
// ---------------------------------------------------------------------------------------------

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

/// Builds the plain JS result object for an outcome (frozen when `freeze`, for caching).
fn result_object<'env>(env: &'env Env, outcome: Outcome, freeze: bool) -> Result<Object<'env>> {
    let mut object = Object::new(env)?;
    object.set_named_property("ok", outcome.is_ok())?;
    object.set_named_property("status", u32::from(outcome.status()))?;
    object.set_named_property("code", outcome.code())?;
    object.set_named_property("message", outcome.message().as_str())?;
    if outcome.is_ok() {
        object.set_named_property("usedPreviousSecret", outcome.used_previous_secret())?;
    }
    if freeze {
        object.freeze()?;
    }
    Ok(object)
}

/// Index of an outcome in a verifier's result cache (every code, twice for `ok`).
fn cache_index(outcome: Outcome) -> usize {
    let kind = outcome.kind();
    let position = OutcomeCode::ALL
        .iter()
        .position(|code| *code == kind)
        .unwrap_or(0);
    if outcome.used_previous_secret() {
        OutcomeCode::ALL.len()
    } else {
        position
    }
}

const CACHE_SIZE: usize = OutcomeCode::ALL.len() + 1;

/// The outcome for a parameterless code, or `None` for `payload_too_large` and
/// `timestamp_outside_tolerance`, which carry the verifier's configured limits.
fn outcome_for(code: OutcomeCode, tolerance_seconds: u64, max_body_bytes: u64) -> Outcome {
    match code {
        OutcomeCode::Ok => Outcome::Verified {
            used_previous_secret: false,
        },
        OutcomeCode::MissingSecret => Outcome::MissingSecret,
        OutcomeCode::MissingDeliveryId => Outcome::MissingDeliveryId,
        OutcomeCode::MissingTimestamp => Outcome::MissingTimestamp,
        OutcomeCode::MissingSignature => Outcome::MissingSignature,
        OutcomeCode::PayloadTooLarge => Outcome::PayloadTooLarge {
            limit: max_body_bytes,
        },
        OutcomeCode::InvalidTimestamp => Outcome::InvalidTimestamp,
        OutcomeCode::TimestampOutsideTolerance => {
            Outcome::TimestampOutsideTolerance { tolerance_seconds }
        }
        OutcomeCode::PreviousSecretExpired => Outcome::PreviousSecretExpired,
        OutcomeCode::DuplicateDelivery => Outcome::DuplicateDelivery,
        OutcomeCode::ReplayedSignature => Outcome::ReplayedSignature,
        OutcomeCode::ConsumerOverloaded => Outcome::ConsumerOverloaded,
        _ => Outcome::SignatureMismatch,
    }
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
    OutcomeCode::ALL
        .iter()
        .map(|&code| {
            let outcome = outcome_for(code, DEFAULT_TOLERANCE_SECONDS, DEFAULT_MAX_BODY_BYTES);
            OutcomeInfo {
                code: code.as_str().to_owned(),
                status: u32::from(code.status()),
                message: outcome.message().as_str().to_owned(),
            }
        })
        .collect()
}

/// The result object for a replay verdict reached outside the core (e.g. by a Redis store):
/// `"duplicate_delivery"`, `"replayed_signature"` or `"consumer_overloaded"`.
#[napi(ts_return_type = "VerificationResult")]
pub fn replay_result<'env>(env: &'env Env, code: String) -> Result<Object<'env>> {
    let outcome = match OutcomeCode::from_code(&code) {
        Some(
            kind @ (OutcomeCode::DuplicateDelivery
            | OutcomeCode::ReplayedSignature
            | OutcomeCode::ConsumerOverloaded),
        ) => outcome_for(kind, DEFAULT_TOLERANCE_SECONDS, DEFAULT_MAX_BODY_BYTES),
        _ => {
            return Err(bad_argument(
                env,
                "code must be duplicate_delivery, replayed_signature or consumer_overloaded",
            ));
        }
    };
    result_object(env, outcome, false)
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
        delivery_id: HEADER_DELIVERY_ID.to_owned(),
        timestamp: HEADER_TIMESTAMP.to_owned(),
        signature: HEADER_SIGNATURE.to_owned(),
        event: HEADER_EVENT.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Replay guards that live only for one call.
// ---------------------------------------------------------------------------------------------

/// Asks a JS `isDuplicateDelivery(deliveryId)` callback; any error is kept and rethrown.
struct CallbackGuard<'a, 'env> {
    env: &'env Env,
    callback: &'a Function<'env, String, Unknown<'env>>,
    error: Option<Error>,
}

impl ReplayGuard for CallbackGuard<'_, '_> {
    fn check_and_record(&mut self, entry: &ReplayEntry<'_>) -> ReplayVerdict {
        let id = String::from_utf8_lossy(entry.delivery_id).into_owned();
        let answer = self.callback.call(id).and_then(|value| {
            if value.get_type()? == ValueType::Object && value.is_promise()? {
                return Err(throw(
                    self.env,
                    Failure::Argument(
                        ERR_ASYNC_CALLBACK,
                        "isDuplicateDelivery must return a boolean synchronously; \
                         for an asynchronous store use RedisReplayStore or verify first and \
                         de-duplicate afterwards"
                            .to_owned(),
                    ),
                ));
            }
            value.coerce_to_bool()
        });
        match answer {
            Ok(true) => ReplayVerdict::DuplicateDelivery,
            Ok(false) => ReplayVerdict::Fresh,
            Err(error) => {
                self.error = Some(error);
                ReplayVerdict::Fresh
            }
        }
    }
}

/// Records the signed entry for an asynchronous store to check afterwards.
#[derive(Default)]
struct CaptureGuard {
    entry: Option<PendingReplayEntry>,
}

/// A verified delivery that an external (asynchronous) replay store must still check and record.
#[napi(object)]
pub struct PendingReplayEntry {
    /// The delivery id header, as received.
    pub delivery_id: String,
    /// The signed timestamp, in Unix seconds.
    pub timestamp: i64,
    /// The signature as 64 lowercase hex digits (canonical whatever the header's case).
    pub signature: String,
    /// The verification time, in Unix seconds.
    pub now: i64,
    /// Until when (inclusive, Unix seconds) the (timestamp, signature) pair must be remembered.
    pub signature_expires_at: i64,
}

fn seconds_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl ReplayGuard for CaptureGuard {
    fn check_and_record(&mut self, entry: &ReplayEntry<'_>) -> ReplayVerdict {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let signature = entry
            .signature
            .iter()
            .flat_map(|byte| {
                [
                    char::from(DIGITS[usize::from(byte >> 4)]),
                    char::from(DIGITS[usize::from(byte & 0x0f)]),
                ]
            })
            .collect();
        self.entry = Some(PendingReplayEntry {
            delivery_id: String::from_utf8_lossy(entry.delivery_id).into_owned(),
            timestamp: seconds_i64(entry.timestamp),
            signature,
            now: seconds_i64(entry.now),
            signature_expires_at: seconds_i64(entry.signature_expires_at),
        });
        ReplayVerdict::Fresh
    }
}

// ---------------------------------------------------------------------------------------------
// The one-shot drop-in.
// ---------------------------------------------------------------------------------------------

fn secret_bytes(env: &Env, name: &str, value: Option<Unknown<'_>>) -> Result<Vec<u8>> {
    match header(env, name, value)? {
        Some(text) => Ok(text.into_bytes()),
        None => Ok(Vec::new()),
    }
}

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
    pub previous_secret_rotated_at: Option<f64>,
    /// How long the previous secret stays valid after `previousSecretRotatedAt` (default 86400).
    pub grace_window_seconds: Option<f64>,
    /// The `x-fluxora-delivery-id` header.
    #[napi(ts_type = "string | null")]
    pub delivery_id: Option<Unknown<'a>>,
    /// The `x-fluxora-timestamp` header, as received.
    #[napi(ts_type = "string | null")]
    pub timestamp: Option<Unknown<'a>>,
    /// The `x-fluxora-signature` header, as received.
    #[napi(ts_type = "string | null")]
    pub signature: Option<Unknown<'a>>,
    /// The raw request body, exactly as received.
    #[napi(ts_type = "Buffer | Uint8Array | string")]
    pub raw_body: Option<Unknown<'a>>,
    /// The freshness window either side of `now` (default 300, boundary inclusive).
    pub tolerance_seconds: Option<f64>,
    /// The verification time: Unix seconds or a `Date` (default: the system clock).
    #[napi(ts_type = "number | Date")]
    pub now: Option<Unknown<'a>>,
    /// The largest accepted body in bytes (default 262144, boundary inclusive).
    pub max_body_bytes: Option<f64>,
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
    let secret = secret_bytes(env, "secret", input.secret)?;
    let previous = secret_bytes(env, "secretPrevious", input.secret_previous)?;
    let verifier = core_verifier(
        env,
        &secret,
        &previous,
        Limits {
            previous_secret_rotated_at: input.previous_secret_rotated_at,
            grace_window_seconds: input.grace_window_seconds,
            tolerance_seconds: input.tolerance_seconds,
            max_body_bytes: input.max_body_bytes,
        },
    )?;
    let received =
        SignedHeaders::from_fields(env, input.delivery_id, input.timestamp, input.signature)?;
    let raw_body = body(env, input.raw_body)?;
    let now = now_seconds(env, input.now)?;
    let headers = received.delivery();

    let callback = match input.is_duplicate_delivery {
        Some(value) if value.get_type()? == ValueType::Function => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be a function.
            let function = unsafe { value.cast::<Function<'env, String, Unknown<'env>>>() }?;
            Some(function)
        }
        Some(value) if matches!(value.get_type()?, ValueType::Undefined | ValueType::Null) => None,
        None => None,
        Some(_) => return Err(bad_argument(env, "isDuplicateDelivery must be a function")),
    };
    let outcome = match &callback {
        Some(callback) => {
            let mut guard = CallbackGuard {
                env,
                callback,
                error: None,
            };
            let outcome = verifier.verify(&headers, raw_body.bytes(), now, &mut guard);
            if let Some(error) = guard.error {
                return Err(error);
            }
            outcome
        }
        None => verifier.verify(&headers, raw_body.bytes(), now, &mut NoReplayGuard),
    };
    result_object(env, outcome, false)
}

// ---------------------------------------------------------------------------------------------
// The reusable verifier.
// ---------------------------------------------------------------------------------------------

/// Options of the in-memory replay store.
#[napi(object)]
pub struct MemoryReplayOptions {
    /// How many deliveries are remembered at once (default 100000). When every slot holds
    /// an unexpired delivery, verification answers `consumer_overloaded` (429).
    pub capacity: Option<u32>,
    /// How long an accepted delivery id is remembered, in seconds (default 86400).
    pub delivery_retention_seconds: Option<f64>,
}

enum Guard {
    None,
    Memory(MemoryReplayStore),
}

impl Guard {
    /// The in-memory store with the default capacity and retention.
    fn default_memory() -> Self {
        Guard::Memory(MemoryReplayStore::with_delivery_retention(
            MemoryReplayStore::DEFAULT_CAPACITY,
            DEFAULT_DELIVERY_RETENTION_SECONDS,
        ))
    }
}

/// Verifies Fluxora deliveries with a key prepared once: the fast path.
///
/// Options: `secret`, `previousSecret`, `previousSecretRotatedAt`, `graceWindowSeconds`,
/// `toleranceSeconds`, `maxBodyBytes`, and `replay`: an in-memory replay store by default
/// (bounded and TTL-aware; `{ capacity, deliveryRetentionSeconds }` to size it), or `false`
/// to de-duplicate elsewhere (e.g. with `RedisReplayStore`). Secrets never appear in
/// errors or when the verifier is inspected.
#[napi(custom_finalize)]
pub struct Verifier {
    inner: fluxora_webhooks::Verifier,
    guard: Guard,
    cache: Vec<Option<ObjectRef<false>>>,
}

impl ObjectFinalize for Verifier {
    fn finalize(self, env: Env) -> Result<()> {
        for cached in self.cache.into_iter().flatten() {
            cached.unref(&env)?;
        }
        Ok(())
    }
}

/// One delivery as fields, for `Verifier.verify`.
#[napi(object, object_to_js = false)]
pub struct DeliveryInput<'a> {
    /// The `x-fluxora-delivery-id` header.
    #[napi(ts_type = "string | null")]
    pub delivery_id: Option<Unknown<'a>>,
    /// The `x-fluxora-timestamp` header, as received.
    #[napi(ts_type = "string | null")]
    pub timestamp: Option<Unknown<'a>>,
    /// The `x-fluxora-signature` header, as received.
    #[napi(ts_type = "string | null")]
    pub signature: Option<Unknown<'a>>,
    /// The raw request body, exactly as received.
    #[napi(ts_type = "Buffer | Uint8Array | string")]
    pub raw_body: Option<Unknown<'a>>,
    /// The verification time: Unix seconds or a `Date` (default: the system clock).
    #[napi(ts_type = "number | Date")]
    pub now: Option<Unknown<'a>>,
}

/// Options of a `Verifier`.
#[napi(object, object_to_js = false)]
pub struct VerifierOptions<'a> {
    /// The current secret (its UTF-8 bytes are the HMAC key, exactly as given).
    pub secret: Option<String>,
    /// The previous secret, accepted during rotation.
    pub previous_secret: Option<String>,
    /// When the previous secret was rotated out (Unix seconds); without it, it never expires.
    pub previous_secret_rotated_at: Option<f64>,
    /// How long the previous secret stays valid after `previousSecretRotatedAt` (default 86400).
    pub grace_window_seconds: Option<f64>,
    /// The freshness window either side of `now` (default 300, boundary inclusive).
    pub tolerance_seconds: Option<f64>,
    /// The largest accepted body in bytes (default 262144, boundary inclusive).
    pub max_body_bytes: Option<f64>,
    /// The replay store: in-memory by default; `false` for none.
    #[napi(ts_type = "false | MemoryReplayOptions")]
    pub replay: Option<Unknown<'a>>,
}

#[napi]
impl Verifier {
    /// Builds a verifier; each secret is keyed into HMAC-SHA256 here, once.
    #[napi(constructor)]
    pub fn new(env: &Env, options: VerifierOptions<'_>) -> Result<Self> {
        let secret = options.secret.unwrap_or_default();
        let previous = options.previous_secret.unwrap_or_default();
        let inner = core_verifier(
            env,
            secret.as_bytes(),
            previous.as_bytes(),
            Limits {
                previous_secret_rotated_at: options.previous_secret_rotated_at,
                grace_window_seconds: options.grace_window_seconds,
                tolerance_seconds: options.tolerance_seconds,
                max_body_bytes: options.max_body_bytes,
            },
        )?;
        let guard = match options.replay {
            None => Guard::default_memory(),
            Some(value) => match value.get_type()? {
                ValueType::Undefined => Guard::default_memory(),
                ValueType::Null => Guard::None,
                ValueType::Boolean => {
                    #[allow(unsafe_code)]
                    // SAFETY: the value was just checked to be a boolean.
                    let enabled = unsafe { value.cast::<bool>() }?;
                    if enabled {
                        Guard::default_memory()
                    } else {
                        Guard::None
                    }
                }
                ValueType::Object => {
                    #[allow(unsafe_code)]
                    // SAFETY: the value was just checked to be an object.
                    let replay = unsafe { value.cast::<MemoryReplayOptions>() }?;
                    let retention = whole(
                        env,
                        "replay.deliveryRetentionSeconds",
                        replay.delivery_retention_seconds,
                        DEFAULT_DELIVERY_RETENTION_SECONDS,
                    )?;
                    let capacity = replay
                        .capacity
                        .map_or(MemoryReplayStore::DEFAULT_CAPACITY, |c| {
                            usize::try_from(c).unwrap_or(usize::MAX)
                        });
                    Guard::Memory(MemoryReplayStore::with_delivery_retention(
                        capacity, retention,
                    ))
                }
                _ => {
                    return Err(bad_argument(
                        env,
                        "replay must be false or { capacity, deliveryRetentionSeconds }",
                    ));
                }
            },
        };
        Ok(Self {
            inner,
            guard,
            cache: (0..CACHE_SIZE).map(|_| None).collect(),
        })
    }

    /// The cached, frozen result object for an outcome (built once per verifier).
    fn answer<'env>(&mut self, env: &'env Env, outcome: Outcome) -> Result<Object<'env>> {
        let index = cache_index(outcome);
        if let Some(Some(cached)) = self.cache.get(index) {
            return cached.get_value(env);
        }
        let object = result_object(env, outcome, true)?;
        if let Some(slot) = self.cache.get_mut(index) {
            *slot = Some(object.create_ref::<false>()?);
        }
        Ok(object)
    }

    /// Verifies converted input against this verifier's replay store and answers with the
    /// cached result object.
    fn verify_converted<'env>(
        &mut self,
        env: &'env Env,
        received: &SignedHeaders,
        raw_body: &Body<'_>,
        now: u64,
    ) -> Result<Object<'env>> {
        let headers = received.delivery();
        let body = raw_body.bytes();
        let outcome = match &mut self.guard {
            Guard::None => self.inner.verify(&headers, body, now, &mut NoReplayGuard),
            Guard::Memory(store) => self.inner.verify(&headers, body, now, store),
        };
        self.answer(env, outcome)
    }

    /// Verifies one delivery from its request headers (Node's lowercase `IncomingHttpHeaders`
    /// or any object with the `x-fluxora-*` keys) and raw body, at `now` (Unix seconds or a
    /// `Date`; default: the system clock). Returns a frozen `VerificationResult`, the same
    /// object for the same outcome.
    #[napi(
        ts_args_type = "headers: Record<string, string | string[] | undefined>, rawBody: Buffer | Uint8Array | string, now?: number | Date",
        ts_return_type = "VerificationResult"
    )]
    pub fn verify_headers<'env>(
        &mut self,
        env: &'env Env,
        headers: Object<'env>,
        raw_body: Unknown<'env>,
        now: Option<Unknown<'env>>,
    ) -> Result<Object<'env>> {
        let received = SignedHeaders::from_object(env, &headers)?;
        let raw_body = body(env, raw_body)?;
        let now = now_seconds(env, now)?;
        self.verify_converted(env, &received, &raw_body, now)
    }

    /// Verifies one delivery given as fields: `{ deliveryId, timestamp, signature, rawBody, now? }`.
    #[napi(ts_return_type = "VerificationResult")]
    pub fn verify<'env>(
        &mut self,
        env: &'env Env,
        delivery: DeliveryInput<'env>,
    ) -> Result<Object<'env>> {
        let received = SignedHeaders::from_fields(
            env,
            delivery.delivery_id,
            delivery.timestamp,
            delivery.signature,
        )?;
        let raw_body = body(env, delivery.raw_body)?;
        let now = now_seconds(env, delivery.now)?;
        self.verify_converted(env, &received, &raw_body, now)
    }

    /// Verifies everything except replay, for an asynchronous store: when the signature
    /// matched, `entry` holds what the store must check and record (delivery id first, then
    /// the (timestamp, signature) pair). Used by `RedisReplayStore`.
    #[napi(
        ts_args_type = "headers: Record<string, string | string[] | undefined>, rawBody: Buffer | Uint8Array | string, now?: number | Date"
    )]
    pub fn verify_pending<'env>(
        &mut self,
        env: &'env Env,
        headers: Object<'env>,
        raw_body: Unknown<'env>,
        now: Option<Unknown<'env>>,
    ) -> Result<PendingVerification<'env>> {
        let received = SignedHeaders::from_object(env, &headers)?;
        let raw_body = body(env, raw_body)?;
        let now = now_seconds(env, now)?;
        let mut capture = CaptureGuard::default();
        let outcome = self
            .inner
            .verify(&received.delivery(), raw_body.bytes(), now, &mut capture);
        Ok(PendingVerification {
            result: self.answer(env, outcome)?,
            entry: if outcome.is_ok() { capture.entry } else { None },
        })
    }

    /// The configured freshness window in seconds.
    #[napi(getter)]
    pub fn tolerance_seconds(&self) -> f64 {
        self.inner.tolerance_seconds() as f64
    }

    /// The configured body limit in bytes.
    #[napi(getter)]
    pub fn max_body_bytes(&self) -> f64 {
        self.inner.max_body_bytes() as f64
    }

    /// The configured grace window of the previous secret in seconds.
    #[napi(getter)]
    pub fn grace_window_seconds(&self) -> f64 {
        self.inner.grace_window_seconds() as f64
    }

    /// Deliveries the in-memory replay store holds at `now` (0 without a store).
    #[napi(ts_args_type = "now?: number | Date")]
    pub fn replay_entries(&mut self, env: &Env, now: Option<Unknown<'_>>) -> Result<u32> {
        let now = now_seconds(env, now)?;
        Ok(match &mut self.guard {
            Guard::None => 0,
            Guard::Memory(store) => u32::try_from(store.live_entries(now)).unwrap_or(u32::MAX),
        })
    }

    /// The in-memory replay store's configuration, or `null` without one.
    #[napi(getter)]
    pub fn replay(&self) -> Option<MemoryReplayOptions> {
        match &self.guard {
            Guard::None => None,
            Guard::Memory(store) => Some(MemoryReplayOptions {
                capacity: Some(u32::try_from(store.capacity()).unwrap_or(u32::MAX)),
                delivery_retention_seconds: Some(store.delivery_retention_seconds() as f64),
            }),
        }
    }

    /// A description without secrets, also used by `util.inspect`.
    #[napi(js_name = "toString")]
    pub fn describe(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// The result of `Verifier.verifyPending`.
#[napi(object, object_from_js = false)]
pub struct PendingVerification<'env> {
    /// The verification result (before replay checks).
    #[napi(ts_type = "VerificationResult")]
    pub result: Object<'env>,
    /// When the signature matched: the entry an external replay store must check and record.
    pub entry: Option<PendingReplayEntry>,
}

// ---------------------------------------------------------------------------------------------
// Signing.
// ---------------------------------------------------------------------------------------------

fn timestamp_text(env: &Env, value: Option<Unknown<'_>>) -> Result<String> {
    let Some(value) = value else {
        return Ok(system_now().to_string());
    };
    match value.get_type()? {
        ValueType::Undefined | ValueType::Null => Ok(system_now().to_string()),
        ValueType::String => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be a string.
            let text = unsafe { value.cast::<String>() }?;
            Ok(text)
        }
        ValueType::Number => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be a number.
            let seconds = unsafe { value.cast::<f64>() }?;
            Ok(whole(env, "timestamp", Some(seconds), 0)?.to_string())
        }
        _ => Err(bad_argument(
            env,
            "timestamp must be a string or a number of Unix seconds",
        )),
    }
}

/// Computes the `x-fluxora-signature` value: lowercase hex HMAC-SHA256(secret, `timestamp.rawBody`).
#[napi(
    ts_args_type = "secret: string, timestamp: string | number, rawBody: Buffer | Uint8Array | string"
)]
pub fn compute_webhook_signature(
    env: &Env,
    secret: String,
    timestamp: Unknown<'_>,
    raw_body: Unknown<'_>,
) -> Result<String> {
    let timestamp = timestamp_text(env, Some(timestamp))?;
    let raw_body = body(env, raw_body)?;
    let signature = Signer::new(secret.as_bytes()).sign(timestamp.as_bytes(), raw_body.bytes());
    Ok(signature.as_str().to_owned())
}

/// The exact bytes that are signed: the timestamp, one `.`, then the raw body.
#[napi(ts_args_type = "timestamp: string | number, rawBody: Buffer | Uint8Array | string")]
pub fn build_webhook_signing_payload(
    env: &Env,
    timestamp: Unknown<'_>,
    raw_body: Unknown<'_>,
) -> Result<Buffer> {
    let timestamp = timestamp_text(env, Some(timestamp))?;
    let raw_body = body(env, raw_body)?;
    let mut payload = Vec::with_capacity(timestamp.len() + 1 + raw_body.bytes().len());
    payload.extend_from_slice(timestamp.as_bytes());
    payload.push(b'.');
    payload.extend_from_slice(raw_body.bytes());
    Ok(payload.into())
}

/// Options of `signDelivery`.
#[napi(object, object_to_js = false)]
pub struct SignOptions<'a> {
    /// The delivery id (default: a fresh `dlv_...` id).
    pub delivery_id: Option<String>,
    /// The event name, sent as `x-fluxora-event` (not signed).
    pub event: Option<String>,
    /// The timestamp to sign (default: now).
    #[napi(ts_type = "string | number")]
    pub timestamp: Option<Unknown<'a>>,
}

fn fresh_delivery_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("dlv_{nanos:x}{count:04x}")
}

/// Signs a delivery and returns its complete header set (for tests and senders):
/// `x-fluxora-delivery-id`, `x-fluxora-timestamp`, `x-fluxora-signature` and, when given,
/// `x-fluxora-event`.
#[napi(
    ts_args_type = "secret: string, rawBody: Buffer | Uint8Array | string, options?: SignOptions",
    ts_return_type = "{ 'x-fluxora-delivery-id': string; 'x-fluxora-timestamp': string; 'x-fluxora-signature': string; 'x-fluxora-event'?: string }"
)]
pub fn sign_delivery<'env>(
    env: &'env Env,
    secret: String,
    raw_body: Unknown<'env>,
    options: Option<SignOptions<'env>>,
) -> Result<Object<'env>> {
    let (delivery_id, event, timestamp) = match options {
        Some(options) => (options.delivery_id, options.event, options.timestamp),
        None => (None, None, None),
    };
    let timestamp = timestamp_text(env, timestamp)?;
    let raw_body = body(env, raw_body)?;
    let signature = Signer::new(secret.as_bytes()).sign(timestamp.as_bytes(), raw_body.bytes());
    let mut headers = Object::new(env)?;
    headers.set_named_property(
        HEADER_DELIVERY_ID,
        delivery_id.unwrap_or_else(fresh_delivery_id),
    )?;
    headers.set_named_property(HEADER_TIMESTAMP, timestamp)?;
    headers.set_named_property(HEADER_SIGNATURE, signature.as_str())?;
    if let Some(event) = event {
        headers.set_named_property(HEADER_EVENT, event)?;
    }
    Ok(headers)
}

// ---------------------------------------------------------------------------------------------
// Decimals.
// ---------------------------------------------------------------------------------------------

/// Options of `validateDecimalString`.
#[napi(object)]
pub struct DecimalOptions {
    /// Also require Stellar precision (at most 7 fractional digits), as for amount fields.
    pub amount: Option<bool>,
}

/// Validates a decimal string as it crosses the API: `{ valid: true, value }` with the
/// normalized value, or `{ valid: false, code, message, field }` with a `DECIMAL_*` code.
#[napi(
    ts_args_type = "value: unknown, field?: string, options?: DecimalOptions",
    ts_return_type = "{ valid: true; value: string } | { valid: false; code: string; message: string; field: string }"
)]
pub fn validate_decimal_string<'env>(
    env: &'env Env,
    value: Unknown<'env>,
    field: Option<String>,
    options: Option<DecimalOptions>,
) -> Result<Object<'env>> {
    let amount = options.and_then(|o| o.amount).unwrap_or(false);
    let checked = match value.get_type()? {
        ValueType::Undefined | ValueType::Null => Err(DecimalError::EmptyValue),
        ValueType::String => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be a string.
            let text = unsafe { value.cast::<String>() }?;
            let parsed = if amount {
                decimal::parse_amount(&text)
            } else {
                decimal::parse(&text)
            };
            parsed.map(|d| d.as_str().to_owned())
        }
        _ => Err(DecimalError::InvalidType),
    };
    let mut result = Object::new(env)?;
    match checked {
        Ok(normalized) => {
            result.set_named_property("valid", true)?;
            result.set_named_property("value", normalized)?;
        }
        Err(error) => {
            result.set_named_property("valid", false)?;
            result.set_named_property("code", error.code())?;
            result.set_named_property("message", error.to_string())?;
            result.set_named_property("field", field.as_deref().unwrap_or("value"))?;
        }
    }
    Ok(result)
}

/// Converts an amount string to stroops (1 unit = 10^7 stroops): `"1.5"` is `15000000n`.
/// Throws an `Error` whose `code` is the `DECIMAL_*` code for an invalid amount.
#[napi(ts_args_type = "value: string")]
pub fn parse_to_stroops(env: &Env, value: Unknown<'_>) -> Result<i128> {
    let text = match value.get_type()? {
        ValueType::Undefined | ValueType::Null => {
            return Err(throw(env, Failure::Decimal(DecimalError::EmptyValue)));
        }
        ValueType::String => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be a string.
            let text = unsafe { value.cast::<String>() }?;
            text
        }
        _ => return Err(throw(env, Failure::Decimal(DecimalError::InvalidType))),
    };
    decimal::to_stroops(&text).map_err(|error| throw(env, Failure::Decimal(error)))
}

/// Formats stroops as a normalized amount string: `15000000n` is `"1.5"`.
#[napi]
pub fn format_from_stroops(env: &Env, stroops: BigInt) -> Result<String> {
    let (value, lossless) = stroops.get_i128();
    if !lossless {
        return Err(bad_argument(
            env,
            "stroops must fit in a signed 128-bit integer",
        ));
    }
    Ok(decimal::format_stroops(value).as_str().to_owned())
}
