//! The verifier: settings validated by the facade, the checks run by the core, then the
//! replay step in whichever store was configured, concluded by the core.

use std::borrow::Cow;

use fluxora_webhooks_facade::core::{
    Checked, DeliveryHeaders, Outcome, ReplayEntry, ReplayGuard, ReplayVerdict,
    Verifier as CoreVerifier,
};
use fluxora_webhooks_facade::{
    self as facade, ContractHeader, Field, Problem, SecretRule, Settings, SettingsInput,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::body::Body;
use crate::headers;
use crate::outcome::{Verification, raise_for};
use crate::settings::{Held, settings_error};
use crate::store::{MemoryReplayStore, NoReplayStore};

/// Bodies at least this long are hashed with the GIL released (when immutable).
const GIL_RELEASE_BYTES: usize = 16 * 1024;

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
        py: Python<'_>,
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
                } else if store.hasattr(intern!(py, "check_and_record"))? {
                    Ok(Self::Store(store.clone().unbind()))
                } else {
                    Err(settings_error(
                        py,
                        facade::SettingsError {
                            field: Field::Replay,
                            problem: Problem::WrongType,
                        },
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

    /// The store's verdict on an accepted delivery (checked and recorded). A Python
    /// store's exception propagates unchanged.
    fn verdict(&self, py: Python<'_>, entry: &ReplayEntry<'_>) -> PyResult<ReplayVerdict> {
        // Only the stores written in Python get the id, as a `str`.
        let delivery_id = || String::from_utf8_lossy(entry.delivery_id);
        match self {
            Self::Nothing => Ok(ReplayVerdict::Fresh),
            Self::Memory(store) => Ok(store.get().lock().check_and_record(entry)),
            Self::IsDuplicate(callable) => {
                let duplicate = callable.bind(py).call1((delivery_id(),))?.is_truthy()?;
                Ok(if duplicate {
                    ReplayVerdict::DuplicateDelivery
                } else {
                    ReplayVerdict::Fresh
                })
            }
            Self::Store(store) => {
                let answer = store.bind(py).call_method1(
                    intern!(py, "check_and_record"),
                    (
                        delivery_id(),
                        entry.timestamp,
                        PyBytes::new(py, &entry.signature),
                        entry.now,
                        entry.signature_expires_at,
                    ),
                )?;
                let code = answer.extract::<Cow<'_, str>>()?;
                facade::verdict_from_code(&code)
                    .map_err(|error| PyValueError::new_err(error.to_string()))
            }
        }
    }
}

/// Verifies one delivery: every check up to the replay step in the core (the body hashed
/// with the GIL released when large), then the store's verdict, concluded by the core.
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    core: &CoreVerifier,
    replay: &Replay,
    body: &Bound<'_, PyAny>,
    headers: Option<&Bound<'_, PyAny>>,
    delivery_id: Option<&Bound<'_, PyAny>>,
    timestamp: Option<&Bound<'_, PyAny>>,
    signature: Option<&Bound<'_, PyAny>>,
    now: Option<&Bound<'_, PyAny>>,
) -> PyResult<Verification> {
    let body = Body::borrow(body)?;
    let received = headers::received(
        headers,
        [
            (ContractHeader::DeliveryId, delivery_id),
            (ContractHeader::Timestamp, timestamp),
            (ContractHeader::Signature, signature),
        ],
    )?;
    let now = facade::now_from(Held::of(now).loose(), facade::system_now)
        .map_err(|error| settings_error(py, error))?;
    let delivery = received.delivery();
    let outcome = match check(py, core, &delivery, &body, now) {
        Ok(checked) => checked.conclude(replay.verdict(py, &checked.entry())?),
        Err(outcome) => outcome,
    };
    Ok(Verification {
        outcome,
        headers: received,
    })
}

/// Steps 1 to 8 in the core. A large immutable body is hashed detached (the headers are
/// checked first); a small or mutable one in place.
fn check<'a>(
    py: Python<'_>,
    core: &CoreVerifier,
    delivery: &DeliveryHeaders<'a>,
    body: &Body<'_, '_>,
    now: u64,
) -> Result<Checked<'a>, Outcome> {
    let bytes = body.as_slice();
    if bytes.len() >= GIL_RELEASE_BYTES && body.is_immutable() {
        let mut streaming = core.start(delivery, now)?;
        py.detach(|| streaming.update(bytes))?;
        streaming.check()
    } else {
        core.check(delivery, bytes, now)
    }
}

/// A webhook verifier, prepared once and reused for every request; safe to share
/// between threads.
///
/// ``replay_store`` defaults to a fresh ``MemoryReplayStore()``; pass ``NoReplayStore()``
/// when de-duplicating elsewhere, a ``RedisReplayStore`` for several worker processes,
/// or ``is_duplicate_delivery`` (a callable taking the delivery id) instead. Numeric
/// options left as None take the contract's defaults; an unusable option raises
/// ``SettingsError``. Secrets are never shown in ``repr`` or in errors.
#[pyclass(module = "fluxora_webhooks", frozen)]
pub(crate) struct Verifier {
    inner: facade::Verifier,
    replay: Replay,
}

/// A verifier's options as given (a keyword left out is `None`).
struct Options<'a, 'py> {
    secret: Option<&'a Bound<'py, PyAny>>,
    previous_secret: Option<&'a Bound<'py, PyAny>>,
    previous_secret_rotated_at: Option<&'a Bound<'py, PyAny>>,
    grace_window_seconds: Option<&'a Bound<'py, PyAny>>,
    tolerance_seconds: Option<&'a Bound<'py, PyAny>>,
    max_body_bytes: Option<&'a Bound<'py, PyAny>>,
}

impl Options<'_, '_> {
    /// The facade's validated settings, or the `SettingsError` raised.
    fn settings(self, py: Python<'_>, rule: SecretRule) -> PyResult<Settings> {
        let held = [
            self.secret,
            self.previous_secret,
            self.previous_secret_rotated_at,
            self.grace_window_seconds,
            self.tolerance_seconds,
            self.max_body_bytes,
        ]
        .map(Held::of);
        let [
            secret,
            previous,
            rotated_at,
            grace_window,
            tolerance,
            max_body,
        ] = &held;
        let input = SettingsInput {
            secret: secret.loose(),
            previous_secret: previous.loose(),
            previous_secret_field: None,
            previous_secret_rotated_at: rotated_at.loose(),
            grace_window_seconds: grace_window.loose(),
            tolerance_seconds: tolerance.loose(),
            max_body_bytes: max_body.loose(),
        };
        Settings::from_input(&input, rule).map_err(|error| settings_error(py, error))
    }
}

#[pymethods]
impl Verifier {
    #[new]
    #[pyo3(signature = (
        secret = None,
        *,
        previous_secret = None,
        previous_secret_rotated_at = None,
        grace_window_seconds = None,
        tolerance_seconds = None,
        max_body_bytes = None,
        replay_store = None,
        is_duplicate_delivery = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        secret: Option<&Bound<'_, PyAny>>,
        previous_secret: Option<&Bound<'_, PyAny>>,
        previous_secret_rotated_at: Option<&Bound<'_, PyAny>>,
        grace_window_seconds: Option<&Bound<'_, PyAny>>,
        tolerance_seconds: Option<&Bound<'_, PyAny>>,
        max_body_bytes: Option<&Bound<'_, PyAny>>,
        replay_store: Option<&Bound<'_, PyAny>>,
        is_duplicate_delivery: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let settings = Options {
            secret,
            previous_secret,
            previous_secret_rotated_at,
            grace_window_seconds,
            tolerance_seconds,
            max_body_bytes,
        }
        .settings(py, SecretRule::Required)?;
        let replay = Replay::from_python(py, replay_store, is_duplicate_delivery, || {
            Ok(Replay::Memory(Py::new(
                py,
                MemoryReplayStore::default_store(),
            )?))
        })?;
        Ok(Self {
            inner: facade::Verifier::new(settings),
            replay,
        })
    }

    /// Verifies one delivery. ``body`` is the raw request body (bytes, bytearray or
    /// memoryview; never str). Header values come from ``headers`` (a mapping, a list of
    /// (name, value) pairs or a framework's header object; names in any case, repeated
    /// fields combined) unless given explicitly. ``now`` defaults to the clock.
    #[pyo3(signature = (body, headers = None, *, delivery_id = None, timestamp = None, signature = None, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn verify(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        delivery_id: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
        signature: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Verification> {
        run(
            py,
            self.inner.core(),
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
        delivery_id: Option<&Bound<'py, PyAny>>,
        timestamp: Option<&Bound<'py, PyAny>>,
        signature: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
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
        self.inner.settings().tolerance_seconds()
    }

    /// The largest accepted body, in bytes.
    #[getter]
    fn max_body_bytes(&self) -> u64 {
        self.inner.settings().max_body_bytes()
    }

    /// How long the previous secret stays valid after its rotation, in seconds.
    #[getter]
    fn grace_window_seconds(&self) -> u64 {
        self.inner.settings().grace_window_seconds()
    }

    /// The replay store in use (None when nothing is remembered).
    #[getter]
    fn replay_store(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.replay.as_python(py)
    }

    fn __repr__(&self) -> String {
        let settings = self.inner.settings();
        format!(
            "Verifier(secret=<redacted>, previous_secret={}, previous_secret_rotated_at={}, grace_window_seconds={}, tolerance_seconds={}, max_body_bytes={})",
            if settings.has_previous_secret() {
                "<redacted>"
            } else {
                "None"
            },
            settings
                .previous_secret_rotated_at()
                .map_or_else(|| "None".to_owned(), |t| t.to_string()),
            settings.grace_window_seconds(),
            settings.tolerance_seconds(),
            settings.max_body_bytes(),
        )
    }
}

/// The one-call form: builds a verifier for this delivery and verifies it. Remembers
/// nothing unless ``is_duplicate_delivery`` is given. No secret answers
/// ``missing_secret`` (500) rather than raising.
#[pyfunction]
#[pyo3(signature = (
    secret,
    body,
    delivery_id = None,
    timestamp = None,
    signature = None,
    now = None,
    tolerance_seconds = None,
    max_body_bytes = None,
    previous_secret = None,
    previous_secret_rotated_at = None,
    grace_window_seconds = None,
    is_duplicate_delivery = None,
    *,
    headers = None,
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn verify(
    py: Python<'_>,
    secret: Option<&Bound<'_, PyAny>>,
    body: &Bound<'_, PyAny>,
    delivery_id: Option<&Bound<'_, PyAny>>,
    timestamp: Option<&Bound<'_, PyAny>>,
    signature: Option<&Bound<'_, PyAny>>,
    now: Option<&Bound<'_, PyAny>>,
    tolerance_seconds: Option<&Bound<'_, PyAny>>,
    max_body_bytes: Option<&Bound<'_, PyAny>>,
    previous_secret: Option<&Bound<'_, PyAny>>,
    previous_secret_rotated_at: Option<&Bound<'_, PyAny>>,
    grace_window_seconds: Option<&Bound<'_, PyAny>>,
    is_duplicate_delivery: Option<&Bound<'_, PyAny>>,
    headers: Option<&Bound<'_, PyAny>>,
) -> PyResult<Verification> {
    let core = Options {
        secret,
        previous_secret,
        previous_secret_rotated_at,
        grace_window_seconds,
        tolerance_seconds,
        max_body_bytes,
    }
    .settings(py, SecretRule::Optional)?
    .core_verifier();
    let replay = Replay::from_python(py, None, is_duplicate_delivery, || Ok(Replay::Nothing))?;
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
