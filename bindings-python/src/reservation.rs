//! Two-phase replay for Python: the `Reservation` a verifier's `reserve` answers, and the
//! steps that finish an asynchronous store's I/O once Python awaited it.
//!
//! The awaiting itself is `fluxora_webhooks._aio` (three one-line coroutines): it awaits
//! the store's `run_script(...)` and hands the reply to a [`Step`], which concludes with
//! the facade (`redis::verdict`, `redis::settled`, `Accepted::conclude`).

use core::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use fluxora_webhooks_facade::core::{Outcome, ReplayVerdict};
use fluxora_webhooks_facade::{self as facade, Accepted, ReceivedHeaders};
use pyo3::prelude::*;
use pyo3::types::PyString;
use pyo3::{IntoPyObjectExt, intern};

use crate::outcome::{Verification, code_string};
use crate::replay::{Hold, RedisStore, redis_settled, redis_verdict};
use crate::settings::{Held, settings_error};

/// Calls one of `fluxora_webhooks._aio`'s coroutine functions: the awaitable it answers.
pub(crate) fn aio<'py>(
    py: Python<'py>,
    name: &Bound<'py, PyString>,
    args: impl pyo3::call::PyCallArgs<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    py.import(intern!(py, "fluxora_webhooks._aio"))?
        .getattr(name)?
        .call1(args)
}

/// An awaitable that answers `value` (no I/O was needed).
pub(crate) fn ready<'py>(
    py: Python<'py>,
    value: impl IntoPyObject<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let value = value.into_bound_py_any(py)?;
    aio(py, intern!(py, "ready"), (value,))
}

/// An awaitable that awaits the store's `io`, then answers `step(reply)`.
fn after<'py>(py: Python<'py>, step: Step, io: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let step = Bound::new(py, step)?;
    aio(py, intern!(py, "after"), (step, io))
}

/// The verification time: `now` as given, or `clock()`.
fn now_or(
    py: Python<'_>,
    now: Option<&Bound<'_, PyAny>>,
    clock: impl FnOnce() -> u64,
) -> PyResult<u64> {
    facade::now_from(Held::of(now).loose(), clock).map_err(|error| settings_error(py, error))
}

/// The verification time: `now` as given, or the system clock.
pub(crate) fn now_of(py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
    now_or(py, now, facade::system_now)
}

/// A held reservation and the clock it was made on.
pub(crate) struct Holding {
    hold: Hold,
    /// The reservation's `now` (the system clock's, or the one the caller gave).
    reserved_at: u64,
    /// When it was made, for the time elapsed since.
    started: Instant,
}

impl Holding {
    /// `hold`, reserved at `reserved_at` (Unix seconds).
    pub(crate) fn new(hold: Hold, reserved_at: u64) -> Self {
        Self {
            hold,
            reserved_at,
            started: Instant::now(),
        }
    }

    /// The settlement time: `now` as given, or the reservation's own clock moved on by the
    /// real time elapsed since (the system clock, unless the reservation was given `now`),
    /// so a lease is measured on the clock the reservation was made on.
    fn now(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        now_or(py, now, || {
            self.reserved_at
                .saturating_add(self.started.elapsed().as_secs())
        })
    }
}

/// The result of reserving one delivery (two-phase replay). Truthy only when ``ok``.
///
/// When ``ok``, the delivery id (and its signature) is held for the verifier's
/// ``reservation_lease_seconds``: ``commit()`` once the application handled the delivery
/// (every later attempt is then a ``duplicate_delivery``), ``release()`` when it failed
/// (the sender's retry is processed again). A reservation neither committed nor released
/// expires with its lease. Also a context manager (``with`` / ``async with``): commits on a
/// normal exit, releases on an exception. Settling a reservation that is not ``ok``, or a
/// second time, does nothing and answers False.
#[pyclass(module = "fluxora_webhooks", frozen)]
pub(crate) struct Reservation {
    verification: Py<Verification>,
    /// What the store holds; `None` when the delivery was refused.
    hold: Option<Holding>,
    /// Set once a commit or release got the store's answer.
    settled: AtomicBool,
}

impl Reservation {
    /// A reservation answering `outcome`: held when `hold` is given.
    pub(crate) fn new(
        py: Python<'_>,
        outcome: Outcome,
        headers: ReceivedHeaders,
        hold: Option<Holding>,
    ) -> PyResult<Self> {
        Ok(Self {
            verification: Py::new(py, Verification { outcome, headers })?,
            hold,
            settled: AtomicBool::new(false),
        })
    }

    /// A reserve's result: the held reservation, or the outcome that refused it.
    pub(crate) fn of(
        py: Python<'_>,
        headers: ReceivedHeaders,
        result: Result<(Outcome, Holding), Outcome>,
    ) -> PyResult<Self> {
        match result {
            Ok((outcome, hold)) => Self::new(py, outcome, headers, Some(hold)),
            Err(outcome) => Self::new(py, outcome, headers, None),
        }
    }

    fn outcome(&self) -> Outcome {
        self.verification.get().outcome
    }

    /// The hold still waiting for its commit or release.
    fn pending(&self) -> Option<&Holding> {
        self.hold
            .as_ref()
            .filter(|_| !self.settled.load(Ordering::Acquire))
    }

    /// Commits (`commit` true) or releases, synchronously.
    fn finish(
        &self,
        py: Python<'_>,
        commit: bool,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let Some(hold) = self.pending() else {
            return Ok(false);
        };
        let done = hold.hold.settle(py, commit, hold.now(py, now)?)?;
        self.settled.store(true, Ordering::Release);
        Ok(done)
    }

    /// Commits or releases; an awaitable answering whether it took effect.
    fn finish_async<'py>(
        slf: &Bound<'py, Self>,
        commit: bool,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let pending = this.pending();
        if let Some((holding, (store, accepted, token))) =
            pending.and_then(|holding| Some((holding, holding.hold.asynchronous()?)))
        {
            let call = store.settle_call(accepted, token, commit, holding.now(py, now)?);
            let io = store.run(py, call)?;
            return after(py, Step(StepKind::Settle(slf.clone().unbind())), io);
        }
        ready(py, this.finish(py, commit, now)?)
    }
}

/// Commit when the application answered below 500 (handled, 4xx included), release when it
/// answered 5xx: the facade's rule.
fn commits(status: u16) -> bool {
    fluxora_webhooks_facade::commits_on(status)
}

#[pymethods]
impl Reservation {
    /// True when the delivery verified and is now reserved.
    #[getter]
    fn ok(&self) -> bool {
        self.outcome().is_ok()
    }

    /// The HTTP status to answer when not ``ok`` (200 when ``ok``).
    #[getter]
    fn status(&self) -> u16 {
        self.outcome().status()
    }

    /// The contract's code, e.g. ``"ok"`` or ``"delivery_in_progress"``.
    #[getter]
    fn code<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        code_string(py, self.outcome().kind())
    }

    /// The contract's message.
    #[getter]
    fn message<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        PyString::new(py, self.outcome().message().as_str())
    }

    /// The verification result (headers, event, ``used_previous_secret``).
    #[getter]
    fn verification(&self, py: Python<'_>) -> Py<Verification> {
        self.verification.clone_ref(py)
    }

    /// True while the reservation waits for its commit or release.
    #[getter]
    fn held(&self) -> bool {
        self.pending().is_some()
    }

    /// Records the delivery as handled. False when the reservation was lost (its lease
    /// ran out), already settled, or never held.
    #[pyo3(signature = (*, now = None))]
    fn commit(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        self.finish(py, true, now)
    }

    /// Frees the delivery id so the sender's retry is processed again. False when the
    /// reservation was lost, already settled, or never held.
    #[pyo3(signature = (*, now = None))]
    fn release(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        self.finish(py, false, now)
    }

    /// Settles for the application's answer: commits below 500 (2xx, and 4xx: the
    /// delivery was handled), releases on 5xx.
    #[pyo3(signature = (status, *, now = None))]
    fn settle(
        &self,
        py: Python<'_>,
        status: u16,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.finish(py, commits(status), now)
    }

    /// ``commit`` for any store, awaitable (an asyncio Redis store's I/O is awaited).
    #[pyo3(signature = (*, now = None))]
    fn commit_async<'py>(
        slf: &Bound<'py, Self>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Self::finish_async(slf, true, now)
    }

    /// ``release`` for any store, awaitable.
    #[pyo3(signature = (*, now = None))]
    fn release_async<'py>(
        slf: &Bound<'py, Self>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Self::finish_async(slf, false, now)
    }

    /// ``settle`` for any store, awaitable.
    #[pyo3(signature = (status, *, now = None))]
    fn settle_async<'py>(
        slf: &Bound<'py, Self>,
        status: u16,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Self::finish_async(slf, commits(status), now)
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Commits on a normal exit, releases on an exception (which then propagates).
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        exc_value: &Bound<'_, PyAny>,
        traceback: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let _ = (exc_value, traceback);
        self.finish(py, exc_type.is_none(), None)?;
        Ok(())
    }

    fn __aenter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, PyAny>> {
        let py = slf.py();
        ready(py, slf)
    }

    /// ``__exit__`` for ``async with``.
    fn __aexit__<'py>(
        slf: &Bound<'py, Self>,
        exc_type: &Bound<'py, PyAny>,
        exc_value: &Bound<'py, PyAny>,
        traceback: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = (exc_value, traceback);
        let py = slf.py();
        // Answers None once settled: an `async with` never swallows the exception.
        let settling = Self::finish_async(slf, exc_type.is_none(), None)?;
        aio(py, intern!(py, "discard"), (settling,))
    }

    fn __bool__(&self) -> bool {
        self.ok()
    }

    fn __repr__(&self) -> String {
        let outcome = self.outcome();
        format!(
            "Reservation(ok={}, status={}, code={:?}, held={})",
            if outcome.is_ok() { "True" } else { "False" },
            outcome.status(),
            outcome.code(),
            if self.held() { "True" } else { "False" },
        )
    }
}

/// What finishes once an asynchronous store's reply arrived (called by `_aio.after`).
#[pyclass(module = "fluxora_webhooks._native", name = "_Step", frozen)]
pub(crate) struct Step(StepKind);

/// The kinds of [`Step`].
enum StepKind {
    /// A one-step record: answers the `Verification`.
    Record {
        accepted: Box<Accepted>,
        headers: ReceivedHeaders,
    },
    /// A reservation: answers the `Reservation`.
    Reserve {
        accepted: Box<Accepted>,
        headers: ReceivedHeaders,
        store: Arc<RedisStore>,
        token: String,
    },
    /// A commit or a release: answers whether it took effect.
    Settle(Py<Reservation>),
}

#[pymethods]
impl Step {
    fn __call__(&self, py: Python<'_>, reply: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match &self.0 {
            StepKind::Record { accepted, headers } => {
                let outcome = accepted.conclude(redis_verdict(reply)?);
                let headers = headers.clone();
                Ok(Py::new(py, Verification { outcome, headers })?.into_any())
            }
            StepKind::Reserve {
                accepted,
                headers,
                store,
                token,
            } => {
                let result = match redis_verdict(reply)? {
                    ReplayVerdict::Fresh => Ok((
                        accepted.conclude(ReplayVerdict::Fresh),
                        Holding::new(
                            Hold::Redis(Arc::clone(store), accepted.clone(), token.clone()),
                            accepted.now(),
                        ),
                    )),
                    verdict => Err(accepted.conclude(verdict)),
                };
                let reservation = Reservation::of(py, headers.clone(), result)?;
                Ok(Py::new(py, reservation)?.into_any())
            }
            StepKind::Settle(reservation) => {
                let done = redis_settled(reply)?;
                reservation.get().settled.store(true, Ordering::Release);
                Ok(done.into_py_any(py)?)
            }
        }
    }
}

/// Starts an asynchronous store's record of an accepted delivery.
pub(crate) fn record_async<'py>(
    py: Python<'py>,
    store: &Arc<RedisStore>,
    accepted: Accepted,
    headers: ReceivedHeaders,
) -> PyResult<Bound<'py, PyAny>> {
    let io = store.run(py, store.record_call(&accepted))?;
    let step = Step(StepKind::Record {
        accepted: Box::new(accepted),
        headers,
    });
    after(py, step, io)
}

/// Starts an asynchronous store's reservation of an accepted delivery.
pub(crate) fn reserve_async<'py>(
    py: Python<'py>,
    store: &Arc<RedisStore>,
    accepted: Accepted,
    headers: ReceivedHeaders,
    lease_seconds: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let (token, call) = store.reserve_call(&accepted, lease_seconds);
    let io = store.run(py, call)?;
    let step = Step(StepKind::Reserve {
        accepted: Box::new(accepted),
        headers,
        store: Arc::clone(store),
        token,
    });
    after(py, step, io)
}
