//! `fluxora_webhooks._native`: the PyO3 facade over the `fluxora-webhooks` core.
//!
//! The facade converts Python values to the core's types and back, and maps the core's
//! outcomes to Python results and exceptions in one place ([`verification`] and
//! [`raise_for`]). It parses and hashes nothing itself: every code, status and message
//! comes from the core. No function here can panic on user input.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use fluxora_webhooks::decimal::{self, DecimalError as CoreDecimalError};
use fluxora_webhooks::{
    DeliveryHeaders, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    NoReplayGuard, Outcome, OutcomeCode, ReplayEntry, ReplayGuard, ReplayVerdict,
    Verifier as CoreVerifier, parse_timestamp,
};
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};

mod body;
mod store;
mod text;

use body::Body;
use store::{MemoryReplayStore, NoReplayStore};
use text::Utf8;

// The Python signatures spell the defaults as literals (so `__text_signature__` shows
// them); these checks keep them equal to the core's constants.
const _: () = assert!(fluxora_webhooks::DEFAULT_TOLERANCE_SECONDS == 300);
const _: () = assert!(fluxora_webhooks::DEFAULT_MAX_BODY_BYTES == 262_144);
const _: () = assert!(fluxora_webhooks::DEFAULT_GRACE_WINDOW_SECONDS == 86_400);
const _: () = assert!(fluxora_webhooks::DEFAULT_DELIVERY_RETENTION_SECONDS == 86_400);
const _: () = assert!(store::DEFAULT_CAPACITY == 100_000);

/// Bodies at least this long are hashed with the GIL released (when immutable).
const GIL_RELEASE_BYTES: usize = 16 * 1024;

pyo3::create_exception!(
    fluxora_webhooks,
    WebhookVerificationError,
    PyException,
    "A delivery failed verification. `.code`, `.status` and `.message` are the contract's."
);
pyo3::create_exception!(
    fluxora_webhooks,
    WebhookConfigurationError,
    WebhookVerificationError,
    "The receiver is misconfigured (`missing_secret`, 500): never acknowledge, so the sender retries."
);
pyo3::create_exception!(
    fluxora_webhooks,
    MissingHeaderError,
    WebhookVerificationError,
    "A required header is absent or empty (`missing_delivery_id`, `missing_timestamp`, `missing_signature`)."
);
pyo3::create_exception!(
    fluxora_webhooks,
    PayloadTooLargeError,
    WebhookVerificationError,
    "The body is longer than the configured limit (`payload_too_large`, 413)."
);
pyo3::create_exception!(
    fluxora_webhooks,
    TimestampError,
    WebhookVerificationError,
    "The timestamp is malformed (`invalid_timestamp`) or outside the window (`timestamp_outside_tolerance`)."
);
pyo3::create_exception!(
    fluxora_webhooks,
    SignatureVerificationError,
    WebhookVerificationError,
    "No valid secret produced the signature (`signature_mismatch`, `previous_secret_expired`)."
);
pyo3::create_exception!(
    fluxora_webhooks,
    ReplayDetectedError,
    WebhookVerificationError,
    "Already accepted (`duplicate_delivery`, `replayed_signature`, 409): a sender records 409 as delivered."
);
pyo3::create_exception!(
    fluxora_webhooks,
    ConsumerOverloadedError,
    WebhookVerificationError,
    "The replay store is full of unexpired entries (`consumer_overloaded`, 429): retry later."
);
pyo3::create_exception!(
    fluxora_webhooks,
    DecimalError,
    PyValueError,
    "A value is not an acceptable decimal amount. `.code` is a DECIMAL_* code, `.field` the field name or None."
);

/// The outcome code strings, interned once (at module import) and shared by every
/// `Verification.code` and the module's constants (`OK`, `SIGNATURE_MISMATCH`, ...),
/// in the order of `OutcomeCode::ALL`.
static CODES: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();

/// The interned Python string of an outcome code.
fn code_string(py: Python<'_>, kind: OutcomeCode) -> Bound<'_, PyString> {
    let codes = CODES.get_or_init(py, || {
        OutcomeCode::ALL
            .iter()
            .map(|code| PyString::intern(py, code.as_str()).unbind())
            .collect()
    });
    match OutcomeCode::ALL.iter().position(|code| *code == kind) {
        Some(index) => codes[index].bind(py).clone(),
        None => PyString::new(py, kind.as_str()),
    }
}

/// The result of verifying one delivery. Truthy only when ``ok``.
///
/// ``event`` is the ``x-fluxora-event`` header as received: it is NOT signed, so never
/// route on it without checking the signed body.
#[pyclass(module = "fluxora_webhooks", frozen)]
pub struct Verification {
    /// The core's answer: `ok`, `status`, `code`, `message` and `used_previous_secret`
    /// are derived from it on access (nothing is formatted or allocated per call).
    outcome: Outcome,
    delivery_id: Option<Py<PyString>>,
    timestamp: Option<u64>,
    event: Option<Py<PyString>>,
}

#[pymethods]
impl Verification {
    /// True when every check passed.
    #[getter]
    fn ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// The HTTP status a receiver answers with.
    #[getter]
    fn status(&self) -> u16 {
        self.outcome.status()
    }

    /// The contract's code, e.g. ``"ok"`` or ``"signature_mismatch"``.
    #[getter]
    fn code<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        code_string(py, self.outcome.kind())
    }

    /// The contract's human-readable message.
    #[getter]
    fn message<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        PyString::new(py, self.outcome.message().as_str())
    }

    /// True when only the previous secret (inside its grace window) matched.
    #[getter]
    fn used_previous_secret(&self) -> bool {
        self.outcome.used_previous_secret()
    }

    /// The ``x-fluxora-delivery-id`` header as received, or None.
    #[getter]
    fn delivery_id(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.delivery_id.as_ref().map(|value| value.clone_ref(py))
    }

    /// The timestamp as parsed by the core, or None when absent or malformed.
    #[getter]
    fn timestamp(&self) -> Option<u64> {
        self.timestamp
    }

    /// The ``x-fluxora-event`` header as received (unsigned), or None.
    #[getter]
    fn event(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.event.as_ref().map(|value| value.clone_ref(py))
    }

    fn __bool__(&self) -> bool {
        self.outcome.is_ok()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let text = |value: &Option<Py<PyString>>| {
            value.as_ref().map_or_else(
                || "None".to_owned(),
                |v| format!("{:?}", v.bind(py).to_string_lossy()),
            )
        };
        format!(
            "Verification(ok={}, status={}, code={:?}, message={:?}, used_previous_secret={}, delivery_id={}, timestamp={}, event={})",
            if self.outcome.is_ok() {
                "True"
            } else {
                "False"
            },
            self.outcome.status(),
            self.outcome.code(),
            self.outcome.message().as_str(),
            if self.outcome.used_previous_secret() {
                "True"
            } else {
                "False"
            },
            text(&self.delivery_id),
            self.timestamp
                .map_or_else(|| "None".to_owned(), |t| t.to_string()),
            text(&self.event),
        )
    }

    /// Raises the exception of this outcome's family unless ``ok``; returns self.
    fn raise_for_status(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        match raise_for(&slf) {
            Some(error) => Err(error),
            None => Ok(slf),
        }
    }
}

/// The header values a delivery carries, as received.
struct Received<'py> {
    delivery_id: Option<Bound<'py, PyAny>>,
    timestamp: Option<Bound<'py, PyAny>>,
    signature: Option<Bound<'py, PyAny>>,
    event: Option<Bound<'py, PyAny>>,
}

/// The four header names, in the order [`Received::gather`] fills them.
const NAMES: [&str; 4] = [
    HEADER_DELIVERY_ID,
    HEADER_TIMESTAMP,
    HEADER_SIGNATURE,
    HEADER_EVENT,
];

/// The four header names as interned Python strings (created once, hash cached), so a
/// dict lookup costs no allocation and no hashing.
fn interned_names(py: Python<'_>) -> [&Bound<'_, PyString>; 4] {
    [
        intern!(py, HEADER_DELIVERY_ID),
        intern!(py, HEADER_TIMESTAMP),
        intern!(py, HEADER_SIGNATURE),
        intern!(py, HEADER_EVENT),
    ]
}

/// Looks the headers up in any mapping: the exact lowercase name first (a plain dict
/// lookup for dicts; `get` for the case-insensitive header objects of Starlette,
/// Werkzeug and Django), then, only for names still missing, one case-insensitive pass
/// over `items()` for plain mappings spelled otherwise.
fn lookup<'py>(
    headers: &Bound<'py, PyAny>,
    wanted: [bool; 4],
) -> PyResult<[Option<Bound<'py, PyAny>>; 4]> {
    let py = headers.py();
    let mut found: [Option<Bound<'py, PyAny>>; 4] = [None, None, None, None];
    let dict = headers.cast::<PyDict>().ok();
    for (index, name) in interned_names(py).into_iter().enumerate() {
        if !wanted[index] {
            continue;
        }
        let value = match dict {
            Some(dict) => dict.get_item(name)?,
            None => Some(headers.call_method1(intern!(py, "get"), (name,))?),
        };
        found[index] = value.filter(|v| !v.is_none());
    }
    let missing = |found: &[Option<Bound<'py, PyAny>>; 4], index: usize| {
        wanted[index] && found[index].is_none()
    };
    if !(0..4).any(|index| missing(&found, index)) {
        return Ok(found);
    }
    // A dict holding nothing but the headers already found has nothing left to scan.
    let found_count = found.iter().filter(|value| value.is_some()).count();
    if dict.is_some_and(|dict| dict.len() <= found_count) {
        return Ok(found);
    }
    let items = match dict {
        Some(dict) => dict.items().into_any(),
        None => headers.call_method0(intern!(py, "items"))?,
    };
    for item in items.try_iter()? {
        let (key, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item?.extract()?;
        if value.is_none() {
            continue;
        }
        let key_bytes = if let Ok(key) = key.cast::<PyString>() {
            HeaderBytes::Text(Utf8::of(key))
        } else if let Ok(key) = key.cast::<PyBytes>() {
            HeaderBytes::Bytes(key.as_bytes())
        } else {
            continue;
        };
        for index in 0..4 {
            if missing(&found, index)
                && key_bytes
                    .as_slice()
                    .eq_ignore_ascii_case(NAMES[index].as_bytes())
            {
                found[index] = Some(value.clone());
            }
        }
    }
    Ok(found)
}

impl<'py> Received<'py> {
    fn gather(
        headers: Option<&Bound<'py, PyAny>>,
        delivery_id: Option<Bound<'py, PyAny>>,
        timestamp: Option<Bound<'py, PyAny>>,
        signature: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        let wanted = [
            delivery_id.is_none(),
            timestamp.is_none(),
            signature.is_none(),
            true,
        ];
        let [id, stamp, sig, event] = match headers {
            Some(headers) => lookup(headers, wanted)?,
            None => [None, None, None, None],
        };
        Ok(Self {
            delivery_id: delivery_id.or(id),
            timestamp: timestamp.or(stamp),
            signature: signature.or(sig),
            event,
        })
    }
}

/// A header value's bytes, borrowed from the Python object whenever possible.
enum HeaderBytes<'a, 'py> {
    /// A `str`, as UTF-8.
    Text(Utf8<'a, 'py>),
    /// A `bytes` object, as is.
    Bytes(&'a [u8]),
    /// An `int` (a timestamp), in decimal.
    Number(Vec<u8>),
}

impl HeaderBytes<'_, '_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Bytes(bytes) => bytes,
            Self::Number(digits) => digits,
        }
    }
}

/// A header value's bytes: `str` as UTF-8, `bytes` as is, `int` (a timestamp) in decimal.
fn value_bytes<'a, 'py>(
    value: &'a Bound<'py, PyAny>,
    what: &str,
) -> PyResult<HeaderBytes<'a, 'py>> {
    if let Ok(text) = value.cast::<PyString>() {
        // Lossy: a lone surrogate cannot be a valid header byte anyway; the core answers it.
        return Ok(HeaderBytes::Text(Utf8::of(text)));
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(HeaderBytes::Bytes(bytes.as_bytes()));
    }
    if let Ok(number) = value.extract::<u64>() {
        return Ok(HeaderBytes::Number(number.to_string().into_bytes()));
    }
    Err(PyTypeError::new_err(format!("{what} must be str or bytes")))
}

fn optional_bytes<'a, 'py>(
    value: &'a Option<Bound<'py, PyAny>>,
    what: &str,
) -> PyResult<Option<HeaderBytes<'a, 'py>>> {
    value.as_ref().map(|v| value_bytes(v, what)).transpose()
}

fn as_text(py: Python<'_>, value: &Option<Bound<'_, PyAny>>) -> Option<Py<PyString>> {
    let value = value.as_ref()?;
    if let Ok(text) = value.cast::<PyString>() {
        return Some(text.clone().unbind());
    }
    let text = match value.cast::<PyBytes>() {
        Ok(bytes) => String::from_utf8_lossy(bytes.as_bytes()).into_owned(),
        Err(_) => value.str().ok()?.to_string_lossy().into_owned(),
    };
    Some(PyString::new(py, &text).unbind())
}

/// A secret's bytes: `str` as UTF-8, `bytes` as is, None as empty (`missing_secret`).
/// Errors never echo the value.
fn secret_bytes(secret: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Vec<u8>> {
    let Some(secret) = secret.filter(|s| !s.is_none()) else {
        return Ok(Vec::new());
    };
    if let Ok(text) = secret.cast::<PyString>() {
        return text
            .to_cow()
            .map(|text| text.as_bytes().to_vec())
            .map_err(|_| {
                PyValueError::new_err(format!("{what} must be valid UTF-8 text or bytes"))
            });
    }
    if let Ok(bytes) = secret.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(format!("{what} must be str or bytes")))
}

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Where accepted deliveries are remembered.
enum Replay {
    /// Nothing is remembered.
    Nothing,
    /// The native in-memory store.
    Memory(Py<MemoryReplayStore>),
    /// A Python object with `check_and_record(delivery_id, timestamp, signature, now,
    /// signature_expires_at) -> str` answering an outcome code (e.g. `RedisReplayStore`).
    Store(Py<PyAny>),
    /// A callable `is_duplicate_delivery(delivery_id) -> bool`.
    IsDuplicate(Py<PyAny>),
}

impl Replay {
    fn from_python(
        store: Option<&Bound<'_, PyAny>>,
        is_duplicate_delivery: Option<&Bound<'_, PyAny>>,
        default: impl FnOnce() -> PyResult<Self>,
    ) -> PyResult<Self> {
        match (store, is_duplicate_delivery) {
            (Some(_), Some(_)) => Err(PyValueError::new_err(
                "pass either replay_store or is_duplicate_delivery, not both",
            )),
            (None, Some(callable)) if callable.is_callable() => {
                Ok(Self::IsDuplicate(callable.clone().unbind()))
            }
            (None, Some(_)) => Err(PyTypeError::new_err(
                "is_duplicate_delivery must be callable",
            )),
            (None, None) => default(),
            (Some(store), None) => {
                if let Ok(memory) = store.cast::<MemoryReplayStore>() {
                    Ok(Self::Memory(memory.clone().unbind()))
                } else if store.is_instance_of::<NoReplayStore>() {
                    Ok(Self::Nothing)
                } else if store.hasattr("check_and_record")? {
                    Ok(Self::Store(store.clone().unbind()))
                } else {
                    Err(PyTypeError::new_err(
                        "replay_store must be MemoryReplayStore, NoReplayStore, RedisReplayStore or an object with check_and_record()",
                    ))
                }
            }
        }
    }

    fn as_python(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        match self {
            Self::Nothing => None,
            Self::Memory(store) => Some(store.clone_ref(py).into_any()),
            Self::Store(store) | Self::IsDuplicate(store) => Some(store.clone_ref(py)),
        }
    }
}

/// The core's replay guard contract over a [`Replay`], keeping the first Python error.
struct Guard<'a, 'py> {
    py: Python<'py>,
    replay: &'a Replay,
    error: Option<PyErr>,
}

impl Guard<'_, '_> {
    fn ask(&self, entry: &ReplayEntry<'_>) -> PyResult<ReplayVerdict> {
        // Only the stores written in Python get the id as a `str`.
        let delivery_id = || String::from_utf8_lossy(entry.delivery_id);
        match self.replay {
            Replay::Nothing => Ok(NoReplayGuard.check_and_record(entry)),
            Replay::Memory(store) => Ok(store.get().lock().check_and_record(entry)),
            Replay::IsDuplicate(callable) => {
                let duplicate = callable
                    .bind(self.py)
                    .call1((delivery_id(),))?
                    .is_truthy()?;
                Ok(if duplicate {
                    ReplayVerdict::DuplicateDelivery
                } else {
                    ReplayVerdict::Fresh
                })
            }
            Replay::Store(store) => {
                let answer = store.bind(self.py).call_method1(
                    intern!(self.py, "check_and_record"),
                    (
                        delivery_id(),
                        entry.timestamp,
                        PyBytes::new(self.py, &entry.signature),
                        entry.now,
                        entry.signature_expires_at,
                    ),
                )?;
                let code = answer.extract::<Cow<'_, str>>()?;
                match OutcomeCode::from_code(&code) {
                    Some(OutcomeCode::Ok) => Ok(ReplayVerdict::Fresh),
                    Some(OutcomeCode::DuplicateDelivery) => Ok(ReplayVerdict::DuplicateDelivery),
                    Some(OutcomeCode::ReplayedSignature) => Ok(ReplayVerdict::ReplayedSignature),
                    Some(OutcomeCode::ConsumerOverloaded) => Ok(ReplayVerdict::Full),
                    _ => Err(PyValueError::new_err(format!(
                        "check_and_record() must answer 'ok', 'duplicate_delivery', 'replayed_signature' or 'consumer_overloaded', not {code:?}"
                    ))),
                }
            }
        }
    }
}

impl ReplayGuard for Guard<'_, '_> {
    fn check_and_record(&mut self, entry: &ReplayEntry<'_>) -> ReplayVerdict {
        match self.ask(entry) {
            Ok(verdict) => verdict,
            Err(error) => {
                // Not acknowledged: the error is raised once the core returns.
                self.error = Some(error);
                ReplayVerdict::Full
            }
        }
    }
}

/// Runs the core on one delivery and converts the outcome.
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    core: &CoreVerifier,
    replay: &Replay,
    body: &Bound<'_, PyAny>,
    headers: Option<&Bound<'_, PyAny>>,
    delivery_id: Option<Bound<'_, PyAny>>,
    timestamp: Option<Bound<'_, PyAny>>,
    signature: Option<Bound<'_, PyAny>>,
    now: Option<u64>,
) -> PyResult<Verification> {
    let body = Body::borrow(body)?;
    let received = Received::gather(headers, delivery_id, timestamp, signature)?;
    let id_bytes = optional_bytes(&received.delivery_id, "delivery_id")?;
    let timestamp_bytes = optional_bytes(&received.timestamp, "timestamp")?;
    let signature_bytes = optional_bytes(&received.signature, "signature")?;
    let delivery = DeliveryHeaders {
        delivery_id: id_bytes.as_ref().map(HeaderBytes::as_slice),
        timestamp: timestamp_bytes.as_ref().map(HeaderBytes::as_slice),
        signature: signature_bytes.as_ref().map(HeaderBytes::as_slice),
    };
    let now = now.unwrap_or_else(system_now);

    let bytes = body.as_slice();
    let mut guard = Guard {
        py,
        replay,
        error: None,
    };
    let outcome = if bytes.len() >= GIL_RELEASE_BYTES && body.is_immutable() {
        // Large: the headers are checked first, then the body is hashed detached.
        match core.start(&delivery, now) {
            Err(outcome) => outcome,
            Ok(mut streaming) => match py.detach(|| streaming.update(bytes)) {
                Err(outcome) => outcome,
                Ok(()) => streaming.finish(&mut guard),
            },
        }
    } else {
        // Small (or mutable): the core's one-shot verify, hashed in place.
        core.verify(&delivery, bytes, now, &mut guard)
    };
    if let Some(error) = guard.error {
        return Err(error);
    }
    Ok(verification(
        py,
        outcome,
        &received,
        timestamp_bytes
            .as_ref()
            .and_then(|stamp| parse_timestamp(stamp.as_slice())),
    ))
}

/// Outcome -> `Verification`: every field comes from the core.
fn verification(
    py: Python<'_>,
    outcome: Outcome,
    received: &Received<'_>,
    timestamp: Option<u64>,
) -> Verification {
    Verification {
        outcome,
        delivery_id: as_text(py, &received.delivery_id),
        timestamp,
        event: as_text(py, &received.event),
    }
}

/// `Verification` -> the exception of its family, or None when ok. The one mapping.
fn raise_for(verification: &Bound<'_, Verification>) -> Option<PyErr> {
    let py = verification.py();
    let outcome = verification.get().outcome;
    let kind = outcome.kind();
    if kind == OutcomeCode::Ok {
        return None;
    }
    let message = PyString::new(py, outcome.message().as_str()).unbind();
    let family: fn(Py<PyString>) -> PyErr = match kind {
        OutcomeCode::MissingSecret => WebhookConfigurationError::new_err,
        OutcomeCode::MissingDeliveryId
        | OutcomeCode::MissingTimestamp
        | OutcomeCode::MissingSignature => MissingHeaderError::new_err,
        OutcomeCode::PayloadTooLarge => PayloadTooLargeError::new_err,
        OutcomeCode::InvalidTimestamp | OutcomeCode::TimestampOutsideTolerance => {
            TimestampError::new_err
        }
        OutcomeCode::PreviousSecretExpired | OutcomeCode::SignatureMismatch => {
            SignatureVerificationError::new_err
        }
        OutcomeCode::DuplicateDelivery | OutcomeCode::ReplayedSignature => {
            ReplayDetectedError::new_err
        }
        OutcomeCode::ConsumerOverloaded => ConsumerOverloadedError::new_err,
        _ => WebhookVerificationError::new_err,
    };
    let error = family(message.clone_ref(py));
    let value = error.value(py);
    let set = value
        .setattr(intern!(py, "code"), code_string(py, kind))
        .and_then(|()| value.setattr(intern!(py, "status"), outcome.status()))
        .and_then(|()| value.setattr(intern!(py, "message"), message))
        .and_then(|()| value.setattr(intern!(py, "verification"), verification));
    Some(match set {
        Ok(()) => error,
        Err(other) => other,
    })
}

/// The core verifier for the secrets (already converted) and the limits.
fn core_verifier(
    secret: &[u8],
    previous: &[u8],
    previous_rotated_at: Option<u64>,
    grace_window_seconds: u64,
    tolerance_seconds: u64,
    max_body_bytes: u64,
) -> CoreVerifier {
    CoreVerifier::new(secret)
        .with_previous_secret(previous, previous_rotated_at)
        .with_grace_window_seconds(grace_window_seconds)
        .with_tolerance_seconds(tolerance_seconds)
        .with_max_body_bytes(max_body_bytes)
}

/// A webhook verifier, prepared once and reused for every request; safe to share
/// between threads.
///
/// ``replay_store`` defaults to a fresh ``MemoryReplayStore()``; pass ``NoReplayStore()``
/// when de-duplicating elsewhere, a ``RedisReplayStore`` for several worker processes,
/// or ``is_duplicate_delivery`` (a callable taking the delivery id) instead.
/// Secrets are never shown in ``repr`` or in errors.
#[pyclass(module = "fluxora_webhooks", frozen)]
pub struct Verifier {
    core: CoreVerifier,
    replay: Replay,
    has_previous: bool,
    previous_rotated_at: Option<u64>,
}

#[pymethods]
impl Verifier {
    #[new]
    #[pyo3(signature = (
        secret,
        *,
        previous_secret = None,
        previous_secret_rotated_at = None,
        grace_window_seconds = 86400,
        tolerance_seconds = 300,
        max_body_bytes = 262144,
        replay_store = None,
        is_duplicate_delivery = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        secret: Option<&Bound<'_, PyAny>>,
        previous_secret: Option<&Bound<'_, PyAny>>,
        previous_secret_rotated_at: Option<u64>,
        grace_window_seconds: u64,
        tolerance_seconds: u64,
        max_body_bytes: u64,
        replay_store: Option<&Bound<'_, PyAny>>,
        is_duplicate_delivery: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let previous = secret_bytes(previous_secret, "previous_secret")?;
        let core = core_verifier(
            &secret_bytes(secret, "secret")?,
            &previous,
            previous_secret_rotated_at,
            grace_window_seconds,
            tolerance_seconds,
            max_body_bytes,
        );
        let replay = Replay::from_python(replay_store, is_duplicate_delivery, || {
            Ok(Replay::Memory(Py::new(
                py,
                MemoryReplayStore::new(
                    store::DEFAULT_CAPACITY,
                    fluxora_webhooks::DEFAULT_DELIVERY_RETENTION_SECONDS,
                )?,
            )?))
        })?;
        Ok(Self {
            core,
            replay,
            has_previous: !previous.is_empty(),
            previous_rotated_at: previous_secret_rotated_at,
        })
    }

    /// Verifies one delivery. ``body`` is the raw request body (bytes, bytearray or
    /// memoryview; never str). Header values come from ``headers`` (any mapping, looked
    /// up case-insensitively) unless given explicitly. ``now`` defaults to the clock.
    #[pyo3(signature = (body, headers = None, *, delivery_id = None, timestamp = None, signature = None, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn verify(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        delivery_id: Option<Bound<'_, PyAny>>,
        timestamp: Option<Bound<'_, PyAny>>,
        signature: Option<Bound<'_, PyAny>>,
        now: Option<u64>,
    ) -> PyResult<Verification> {
        run(
            py,
            &self.core,
            &self.replay,
            body,
            headers,
            delivery_id,
            timestamp,
            signature,
            now,
        )
    }

    /// Like ``verify``, but raises the ``WebhookVerificationError`` subclass of the
    /// outcome's family unless ok.
    #[pyo3(signature = (body, headers = None, *, delivery_id = None, timestamp = None, signature = None, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn verify_or_raise<'py>(
        &self,
        py: Python<'py>,
        body: &Bound<'py, PyAny>,
        headers: Option<&Bound<'py, PyAny>>,
        delivery_id: Option<Bound<'py, PyAny>>,
        timestamp: Option<Bound<'py, PyAny>>,
        signature: Option<Bound<'py, PyAny>>,
        now: Option<u64>,
    ) -> PyResult<Bound<'py, Verification>> {
        let result = self.verify(py, body, headers, delivery_id, timestamp, signature, now)?;
        let result = Bound::new(py, result)?;
        match raise_for(&result) {
            Some(error) => Err(error),
            None => Ok(result),
        }
    }

    /// The freshness window either side of now, in seconds.
    #[getter]
    fn tolerance_seconds(&self) -> u64 {
        self.core.tolerance_seconds()
    }

    /// The largest accepted body, in bytes.
    #[getter]
    fn max_body_bytes(&self) -> u64 {
        self.core.max_body_bytes()
    }

    /// How long the previous secret stays valid after its rotation, in seconds.
    #[getter]
    fn grace_window_seconds(&self) -> u64 {
        self.core.grace_window_seconds()
    }

    /// The replay store in use (None when nothing is remembered).
    #[getter]
    fn replay_store(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.replay.as_python(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "Verifier(secret=<redacted>, previous_secret={}, previous_secret_rotated_at={}, grace_window_seconds={}, tolerance_seconds={}, max_body_bytes={})",
            if self.has_previous {
                "<redacted>"
            } else {
                "None"
            },
            self.previous_rotated_at
                .map_or_else(|| "None".to_owned(), |t| t.to_string()),
            self.core.grace_window_seconds(),
            self.core.tolerance_seconds(),
            self.core.max_body_bytes(),
        )
    }
}

/// The one-call form: builds a verifier for this delivery and verifies it. Remembers
/// nothing unless ``is_duplicate_delivery`` is given.
#[pyfunction]
#[pyo3(signature = (
    secret,
    body,
    delivery_id = None,
    timestamp = None,
    signature = None,
    now = None,
    tolerance_seconds = 300,
    max_body_bytes = 262144,
    previous_secret = None,
    previous_secret_rotated_at = None,
    grace_window_seconds = 86400,
    is_duplicate_delivery = None,
    *,
    headers = None,
))]
#[allow(clippy::too_many_arguments)]
fn verify(
    py: Python<'_>,
    secret: Option<&Bound<'_, PyAny>>,
    body: &Bound<'_, PyAny>,
    delivery_id: Option<Bound<'_, PyAny>>,
    timestamp: Option<Bound<'_, PyAny>>,
    signature: Option<Bound<'_, PyAny>>,
    now: Option<u64>,
    tolerance_seconds: u64,
    max_body_bytes: u64,
    previous_secret: Option<&Bound<'_, PyAny>>,
    previous_secret_rotated_at: Option<u64>,
    grace_window_seconds: u64,
    is_duplicate_delivery: Option<&Bound<'_, PyAny>>,
    headers: Option<&Bound<'_, PyAny>>,
) -> PyResult<Verification> {
    let core = core_verifier(
        &secret_bytes(secret, "secret")?,
        &secret_bytes(previous_secret, "previous_secret")?,
        previous_secret_rotated_at,
        grace_window_seconds,
        tolerance_seconds,
        max_body_bytes,
    );
    let replay = Replay::from_python(None, is_duplicate_delivery, || Ok(Replay::Nothing))?;
    run(
        py,
        &core,
        &replay,
        body,
        headers,
        delivery_id,
        timestamp,
        signature,
        now,
    )
}

/// The ``x-fluxora-signature`` value for ``timestamp`` and ``body``: 64 lowercase hex
/// digits of HMAC-SHA256(secret, timestamp + "." + body).
#[pyfunction]
fn compute_signature(
    secret: &Bound<'_, PyAny>,
    timestamp: &Bound<'_, PyAny>,
    body: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let secret = secret_bytes(Some(secret), "secret")?;
    let timestamp = value_bytes(timestamp, "timestamp")?;
    let body = Body::borrow(body)?;
    Ok(
        fluxora_webhooks::sign(&secret, timestamp.as_slice(), body.as_slice())
            .as_str()
            .to_owned(),
    )
}

/// The core's decimal error as a Python `DecimalError`. The one mapping for decimals.
fn decimal_error(error: CoreDecimalError, field: Option<&str>) -> PyErr {
    let message = error.to_string();
    let shown = match field {
        Some(field) => format!("{field}: {message}"),
        None => message.clone(),
    };
    Python::attach(|py| {
        let error_object = DecimalError::new_err(shown);
        let value = error_object.value(py);
        let set = value
            .setattr("code", error.code())
            .and_then(|()| value.setattr("field", field))
            .and_then(|()| value.setattr("message", message));
        match set {
            Ok(()) => error_object,
            Err(other) => other,
        }
    })
}

/// Only strings reach the core's parser: None is empty, any other type is invalid.
fn decimal_text<'a>(value: &'a Bound<'_, PyAny>, field: Option<&str>) -> PyResult<Cow<'a, str>> {
    if value.is_none() {
        return Err(decimal_error(CoreDecimalError::EmptyValue, field));
    }
    match value.cast::<PyString>() {
        Ok(text) => text
            .to_cow()
            .map_err(|_| decimal_error(CoreDecimalError::InvalidFormat, field)),
        Err(_) => Err(decimal_error(CoreDecimalError::InvalidType, field)),
    }
}

/// `value` checked by one of the core's decimal parsers, normalized.
fn normalized(
    value: &Bound<'_, PyAny>,
    field: Option<&str>,
    parse: for<'a> fn(&'a str) -> Result<decimal::Decimal<'a>, CoreDecimalError>,
) -> PyResult<String> {
    let text = decimal_text(value, field)?;
    parse(&text)
        .map(|d| d.as_str().to_owned())
        .map_err(|e| decimal_error(e, field))
}

/// Validates a decimal string and returns it normalized (trailing fractional zeros
/// stripped). Raises ``DecimalError``; any non-``str`` is ``DECIMAL_INVALID_TYPE``.
#[pyfunction]
#[pyo3(signature = (value, field = None))]
fn parse_decimal(value: &Bound<'_, PyAny>, field: Option<&str>) -> PyResult<String> {
    normalized(value, field, decimal::parse)
}

/// Like ``parse_decimal``, plus Stellar precision (at most 7 fractional digits).
#[pyfunction]
#[pyo3(signature = (value, field = None))]
fn parse_amount(value: &Bound<'_, PyAny>, field: Option<&str>) -> PyResult<String> {
    normalized(value, field, decimal::parse_amount)
}

/// An amount string in stroops (1 unit = 10**7 stroops): ``"-1.5"`` is ``-15000000``.
#[pyfunction]
#[pyo3(signature = (value, field = None))]
fn to_stroops(value: &Bound<'_, PyAny>, field: Option<&str>) -> PyResult<i128> {
    let text = decimal_text(value, field)?;
    decimal::to_stroops(&text).map_err(|e| decimal_error(e, field))
}

/// The PyO3 facade of the Fluxora webhooks core.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    text::init(py);
    m.add_class::<Verifier>()?;
    m.add_class::<Verification>()?;
    m.add_class::<MemoryReplayStore>()?;
    m.add_class::<NoReplayStore>()?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(compute_signature, m)?)?;
    m.add_function(wrap_pyfunction!(parse_decimal, m)?)?;
    m.add_function(wrap_pyfunction!(parse_amount, m)?)?;
    m.add_function(wrap_pyfunction!(to_stroops, m)?)?;
    m.add(
        "WebhookVerificationError",
        py.get_type::<WebhookVerificationError>(),
    )?;
    m.add(
        "WebhookConfigurationError",
        py.get_type::<WebhookConfigurationError>(),
    )?;
    m.add("MissingHeaderError", py.get_type::<MissingHeaderError>())?;
    m.add(
        "PayloadTooLargeError",
        py.get_type::<PayloadTooLargeError>(),
    )?;
    m.add("TimestampError", py.get_type::<TimestampError>())?;
    m.add(
        "SignatureVerificationError",
        py.get_type::<SignatureVerificationError>(),
    )?;
    m.add("ReplayDetectedError", py.get_type::<ReplayDetectedError>())?;
    m.add(
        "ConsumerOverloadedError",
        py.get_type::<ConsumerOverloadedError>(),
    )?;
    m.add("DecimalError", py.get_type::<DecimalError>())?;

    // Constants, generated from the core's lists: never retyped.
    // The same interned objects as `Verification.code`, so `result.code is OK` holds.
    let mut codes = Vec::new();
    for code in OutcomeCode::ALL {
        let value = code_string(py, code);
        m.add(code.as_str().to_ascii_uppercase(), &value)?;
        codes.push(value);
    }
    m.add("OUTCOME_CODES", pyo3::types::PyTuple::new(py, codes)?)?;
    let statuses = PyDict::new(py);
    for code in OutcomeCode::ALL {
        statuses.set_item(code.as_str(), code.status())?;
    }
    m.add("OUTCOME_STATUSES", statuses)?;
    let mut decimal_codes = Vec::new();
    for error in CoreDecimalError::ALL {
        m.add(error.code(), error.code())?;
        decimal_codes.push(error.code());
    }
    m.add(
        "DECIMAL_CODES",
        pyo3::types::PyTuple::new(py, decimal_codes)?,
    )?;
    m.add("HEADER_DELIVERY_ID", HEADER_DELIVERY_ID)?;
    m.add("HEADER_TIMESTAMP", HEADER_TIMESTAMP)?;
    m.add("HEADER_SIGNATURE", HEADER_SIGNATURE)?;
    m.add("HEADER_EVENT", HEADER_EVENT)?;
    m.add(
        "DEFAULT_TOLERANCE_SECONDS",
        fluxora_webhooks::DEFAULT_TOLERANCE_SECONDS,
    )?;
    m.add(
        "DEFAULT_MAX_BODY_BYTES",
        fluxora_webhooks::DEFAULT_MAX_BODY_BYTES,
    )?;
    m.add(
        "DEFAULT_GRACE_WINDOW_SECONDS",
        fluxora_webhooks::DEFAULT_GRACE_WINDOW_SECONDS,
    )?;
    m.add(
        "DEFAULT_DELIVERY_RETENTION_SECONDS",
        fluxora_webhooks::DEFAULT_DELIVERY_RETENTION_SECONDS,
    )?;
    m.add("DEFAULT_REPLAY_CAPACITY", store::DEFAULT_CAPACITY)?;
    Ok(())
}
