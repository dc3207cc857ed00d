//! The verifier: settings validated by the facade, the checks run by the core, then the
//! replay step in whichever store was configured, concluded by the core.

use fluxora_webhooks_facade::core::{
    Checked, DeliveryHeaders, Outcome, ReplayVerdict, Verifier as CoreVerifier,
};
use fluxora_webhooks_facade::{
    self as facade, Accepted, ContractHeader, ReceivedHeaders, SecretRule, Settings, SettingsInput,
};
use pyo3::prelude::*;

use crate::body::Body;
use crate::headers;
use crate::outcome::{Verification, raise_for};
use crate::replay::Replay;
use crate::reservation::{self, Holding, Reservation, now_of, ready};
use crate::settings::{Held, settings_error};
use crate::store::MemoryReplayStore;

/// Bodies at least this long are hashed with the GIL released (when immutable).
const GIL_RELEASE_BYTES: usize = 16 * 1024;

/// The contract headers and steps 1 to 8 of one delivery (the body hashed with the GIL
/// released when large); `then` takes the core's answer to the replay step.
#[allow(clippy::too_many_arguments)]
fn run<R>(
    py: Python<'_>,
    core: &CoreVerifier,
    body: &Bound<'_, PyAny>,
    headers: Option<&Bound<'_, PyAny>>,
    delivery_id: Option<&Bound<'_, PyAny>>,
    timestamp: Option<&Bound<'_, PyAny>>,
    signature: Option<&Bound<'_, PyAny>>,
    now: Option<&Bound<'_, PyAny>>,
    then: impl FnOnce(Result<&Checked<'_>, Outcome>) -> PyResult<R>,
) -> PyResult<(ReceivedHeaders, R)> {
    let body = Body::borrow(body)?;
    let received = headers::received(
        headers,
        [
            (ContractHeader::DeliveryId, delivery_id),
            (ContractHeader::Timestamp, timestamp),
            (ContractHeader::Signature, signature),
        ],
    )?;
    let now = now_of(py, now)?;
    let delivery = received.delivery();
    let result = match check(py, core, &delivery, &body, now) {
        Ok(checked) => then(Ok(&checked))?,
        Err(outcome) => then(Err(outcome))?,
    };
    Ok((received, result))
}

/// One-step verification: the checks, then the replay step recorded at once.
#[allow(clippy::too_many_arguments)]
fn verify_once(
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
    let (headers, outcome) = run(
        py,
        core,
        body,
        headers,
        delivery_id,
        timestamp,
        signature,
        now,
        |checked| match checked {
            Ok(checked) => replay.record(py, checked),
            Err(outcome) => Ok(outcome),
        },
    )?;
    Ok(Verification { outcome, headers })
}

/// The accepted delivery, owned, for a store whose I/O is awaited later.
fn accepted(checked: Result<&Checked<'_>, Outcome>) -> PyResult<Result<Accepted, Outcome>> {
    Ok(checked.map(Accepted::from_checked))
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
/// when de-duplicating elsewhere, a ``RedisReplayStore`` (or ``AsyncRedisReplayStore``)
/// for several worker processes, or ``is_duplicate_delivery`` (a callable taking the
/// delivery id) instead. ``reservation_lease_seconds`` (default 60) is how long
/// ``reserve`` holds a delivery before its commit or release. Numeric
/// options left as None take the contract's defaults; an unusable option raises
/// ``SettingsError``. Secrets are never shown in ``repr`` or in errors.
#[pyclass(module = "fluxora_webhooks", frozen)]
pub(crate) struct Verifier {
    inner: facade::Verifier,
    replay: Replay,
    lease_seconds: u64,
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
        reservation_lease_seconds = None,
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
        reservation_lease_seconds: Option<&Bound<'_, PyAny>>,
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
        let lease_seconds =
            facade::reservation_lease_seconds(Held::of(reservation_lease_seconds).loose())
                .map_err(|error| settings_error(py, error))?;
        Ok(Self {
            inner: facade::Verifier::new(settings),
            replay,
            lease_seconds,
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
        verify_once(
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

    /// Two-phase verification: the checks of ``verify``, then the delivery is reserved in
    /// the replay store for ``reservation_lease_seconds`` instead of recorded. Answers a
    /// ``Reservation``: when ``ok``, ``commit()`` it once the delivery was handled or
    /// ``release()`` it when handling failed (or use it as a context manager). A
    /// concurrent attempt of a reserved delivery answers ``delivery_in_progress`` (429).
    #[pyo3(signature = (body, headers = None, *, delivery_id = None, timestamp = None, signature = None, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn reserve(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        delivery_id: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
        signature: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Reservation> {
        let (headers, result) = run(
            py,
            self.inner.core(),
            body,
            headers,
            delivery_id,
            timestamp,
            signature,
            now,
            |checked| self.reserve_checked(py, checked),
        )?;
        Reservation::of(py, headers, result)
    }

    /// ``verify`` for asyncio receivers: awaitable. The checks run at once; an
    /// ``AsyncRedisReplayStore``'s I/O is awaited (any other store answers at once).
    #[pyo3(signature = (body, headers = None, *, delivery_id = None, timestamp = None, signature = None, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn verify_async<'py>(
        &self,
        py: Python<'py>,
        body: &Bound<'py, PyAny>,
        headers: Option<&Bound<'py, PyAny>>,
        delivery_id: Option<&Bound<'py, PyAny>>,
        timestamp: Option<&Bound<'py, PyAny>>,
        signature: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let Some(store) = self.replay.asynchronous() else {
            let result = self.verify(py, body, headers, delivery_id, timestamp, signature, now)?;
            return ready(py, result);
        };
        let core = self.inner.core();
        let (headers, result) = run(
            py,
            core,
            body,
            headers,
            delivery_id,
            timestamp,
            signature,
            now,
            accepted,
        )?;
        match result {
            Ok(accepted) => reservation::record_async(py, store, accepted, headers),
            Err(outcome) => ready(py, Verification { outcome, headers }),
        }
    }

    /// ``reserve`` for asyncio receivers: awaitable, answering the ``Reservation``.
    #[pyo3(signature = (body, headers = None, *, delivery_id = None, timestamp = None, signature = None, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn reserve_async<'py>(
        &self,
        py: Python<'py>,
        body: &Bound<'py, PyAny>,
        headers: Option<&Bound<'py, PyAny>>,
        delivery_id: Option<&Bound<'py, PyAny>>,
        timestamp: Option<&Bound<'py, PyAny>>,
        signature: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let Some(store) = self.replay.asynchronous() else {
            let result = self.reserve(py, body, headers, delivery_id, timestamp, signature, now)?;
            return ready(py, result);
        };
        let core = self.inner.core();
        let (headers, result) = run(
            py,
            core,
            body,
            headers,
            delivery_id,
            timestamp,
            signature,
            now,
            accepted,
        )?;
        match result {
            Ok(accepted) => {
                reservation::reserve_async(py, store, accepted, headers, self.lease_seconds)
            }
            Err(outcome) => ready(py, Reservation::new(py, outcome, headers, None)?),
        }
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

    /// How long ``reserve`` holds a delivery before its commit or release, in seconds.
    #[getter]
    fn reservation_lease_seconds(&self) -> u64 {
        self.lease_seconds
    }

    /// The replay store in use (None when nothing is remembered).
    #[getter]
    fn replay_store(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.replay.as_python(py)
    }

    fn __repr__(&self) -> String {
        let settings = self.inner.settings();
        format!(
            "Verifier(secret=<redacted>, previous_secret={}, previous_secret_rotated_at={}, grace_window_seconds={}, tolerance_seconds={}, max_body_bytes={}, reservation_lease_seconds={})",
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
            self.lease_seconds,
        )
    }
}

impl Verifier {
    /// The replay step of `reserve`: the outcome and what the store holds, or the outcome
    /// that refused the delivery.
    fn reserve_checked(
        &self,
        py: Python<'_>,
        checked: Result<&Checked<'_>, Outcome>,
    ) -> PyResult<Result<(Outcome, Holding), Outcome>> {
        let checked = match checked {
            Ok(checked) => checked,
            Err(outcome) => return Ok(Err(outcome)),
        };
        Ok(self
            .replay
            .reserve(py, checked, self.lease_seconds)?
            .map(|hold| {
                let holding = Holding::new(hold, checked.entry().now);
                (checked.conclude(ReplayVerdict::Fresh), holding)
            }))
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
    verify_once(
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
