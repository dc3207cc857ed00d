//! The replay step in whichever store a verifier was given, in both forms: the one-step
//! record and the two-phase reservation (reserve, then commit or release).
//!
//! Every verdict, outcome, Redis key, argument, mode, expiry and token is the facade's or
//! the core's; the Python stores only do I/O. A Redis store (sync or asyncio) is any
//! object with `prefix`, `delivery_retention_seconds` and `run_script(keys, args)`, which
//! runs the facade's `REDIS_SCRIPT` and answers its integer reply (awaitable when
//! `run_script` is a coroutine function).

use std::borrow::Cow;
use std::sync::Arc;

use fluxora_webhooks_facade::core::{
    Checked, Outcome, ReplayGuard, ReplayReservations, ReplayVerdict, Reservation as CoreHeld,
};
use fluxora_webhooks_facade::{self as facade, Accepted, Field, Problem, redis as facade_redis};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::settings::{Held, settings_error};
use crate::store::{MemoryReplayStore, NoReplayStore};

/// A Redis store written in Python: where the facade's script runs.
pub(crate) struct RedisStore {
    /// The Python object (`RedisReplayStore`, `AsyncRedisReplayStore`, or the like).
    object: Py<PyAny>,
    /// The key prefix.
    prefix: String,
    /// How long a committed delivery id is remembered, validated by the facade.
    retention: u64,
    /// True when `run_script` is a coroutine function (`redis.asyncio`).
    pub(crate) asynchronous: bool,
}

impl RedisStore {
    /// The store's Redis binding, when `store` has `run_script`.
    fn from_python(store: &Bound<'_, PyAny>) -> PyResult<Option<Self>> {
        let py = store.py();
        let Some(run_script) = store.getattr_opt(intern!(py, "run_script"))? else {
            return Ok(None);
        };
        let prefix = store
            .getattr(intern!(py, "prefix"))?
            .extract::<Cow<'_, str>>()?
            .into_owned();
        let retention = store.getattr(intern!(py, "delivery_retention_seconds"))?;
        let retention = facade::delivery_retention_seconds(Held::of(Some(&retention)).loose())
            .map_err(|error| settings_error(py, error))?;
        let asynchronous = py
            .import(intern!(py, "inspect"))?
            .call_method1(intern!(py, "iscoroutinefunction"), (run_script,))?
            .is_truthy()?;
        Ok(Some(Self {
            object: store.clone().unbind(),
            prefix,
            retention,
            asynchronous,
        }))
    }

    /// Calls `run_script(keys, args)`: the reply, or (asynchronous stores) its awaitable.
    pub(crate) fn run<'py>(
        &self,
        py: Python<'py>,
        call: facade_redis::Call,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.object
            .bind(py)
            .call_method1(intern!(py, "run_script"), (call.keys, call.args))
    }

    /// A synchronous store's reply; an asynchronous store cannot answer here.
    fn run_now(&self, py: Python<'_>, call: facade_redis::Call, form: &str) -> PyResult<i64> {
        if self.asynchronous {
            return Err(PyTypeError::new_err(format!(
                "this replay store is asynchronous (redis.asyncio): use `await {form}_async(...)`"
            )));
        }
        self.run(py, call)?.extract()
    }

    /// The one-step record of an accepted delivery.
    pub(crate) fn record_call(&self, accepted: &Accepted) -> facade_redis::Call {
        facade_redis::call(&self.prefix, &accepted.entry(), self.retention)
    }

    /// A reservation of an accepted delivery under a fresh token.
    pub(crate) fn reserve_call(
        &self,
        accepted: &Accepted,
        lease_seconds: u64,
    ) -> (String, facade_redis::Call) {
        let token = facade_redis::new_token();
        let call =
            facade_redis::reserve_call(&self.prefix, &accepted.entry(), &token, lease_seconds);
        (token, call)
    }

    /// The commit (`commit` true) or the release of a reservation.
    pub(crate) fn settle_call(
        &self,
        accepted: &Accepted,
        token: &str,
        commit: bool,
        now: u64,
    ) -> facade_redis::Call {
        if commit {
            facade_redis::commit_call(&self.prefix, &accepted.entry(), token, self.retention, now)
        } else {
            facade_redis::release_call(&self.prefix, &accepted.entry(), token)
        }
    }
}

/// The verdict of the script's reply to a record or a reservation.
pub(crate) fn redis_verdict(reply: &Bound<'_, PyAny>) -> PyResult<ReplayVerdict> {
    facade_redis::verdict(reply.extract()?)
        .map_err(|error| PyValueError::new_err(error.to_string()))
}

/// Whether the script's reply to a commit or a release took effect.
pub(crate) fn redis_settled(reply: &Bound<'_, PyAny>) -> PyResult<bool> {
    facade_redis::settled(reply.extract()?)
        .map_err(|error| PyValueError::new_err(error.to_string()))
}

/// Where accepted deliveries are remembered.
pub(crate) enum Replay {
    /// Nothing is remembered.
    Nothing,
    /// The native in-memory store.
    Memory(Py<MemoryReplayStore>),
    /// A Redis store written in Python (sync or asyncio).
    Redis(Arc<RedisStore>),
    /// A Python object with `check_and_record(delivery_id, timestamp, signature, now,
    /// signature_expires_at) -> str` answering an outcome code (one step only).
    Store(Py<PyAny>),
    /// A callable `is_duplicate_delivery(delivery_id) -> bool`.
    IsDuplicate(Py<PyAny>),
}

/// What a successful reservation holds until it is committed or released.
pub(crate) enum Hold {
    /// A store that remembers nothing (or an `is_duplicate_delivery` callable): commit and
    /// release have nothing to do.
    Nothing,
    /// A store with only `check_and_record`: the delivery was recorded when reserved, so a
    /// commit has nothing left to do and a release cannot undo it.
    Recorded,
    /// A reservation in the native in-memory store.
    Memory(Py<MemoryReplayStore>, CoreHeld),
    /// A reservation in Redis: the delivery, the store and the reservation's token.
    Redis(Arc<RedisStore>, Box<Accepted>, String),
}

impl Replay {
    pub(crate) fn from_python(
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
                } else if let Some(redis) = RedisStore::from_python(store)? {
                    Ok(Self::Redis(Arc::new(redis)))
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

    pub(crate) fn as_python(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        match self {
            Self::Nothing => None,
            Self::Memory(store) => Some(store.clone_ref(py).into_any()),
            Self::Redis(store) => Some(store.object.clone_ref(py)),
            Self::Store(store) | Self::IsDuplicate(store) => Some(store.clone_ref(py)),
        }
    }

    /// The asynchronous Redis store, when this is one (its I/O must be awaited).
    pub(crate) fn asynchronous(&self) -> Option<&Arc<RedisStore>> {
        match self {
            Self::Redis(store) if store.asynchronous => Some(store),
            _ => None,
        }
    }

    /// Only the stores written in Python get the id, as a `str`.
    fn delivery_id<'a>(checked: &'a Checked<'_>) -> Cow<'a, str> {
        String::from_utf8_lossy(checked.entry().delivery_id)
    }

    /// Asks a Python `check_and_record` store for its verdict.
    fn ask_store(store: &Bound<'_, PyAny>, checked: &Checked<'_>) -> PyResult<ReplayVerdict> {
        let py = store.py();
        let entry = checked.entry();
        let answer = store.call_method1(
            intern!(py, "check_and_record"),
            (
                Self::delivery_id(checked),
                entry.timestamp,
                PyBytes::new(py, &entry.signature),
                entry.now,
                entry.signature_expires_at,
            ),
        )?;
        let code = answer.extract::<Cow<'_, str>>()?;
        facade::verdict_from_code(&code).map_err(|error| PyValueError::new_err(error.to_string()))
    }

    /// Asks an `is_duplicate_delivery` callable.
    fn ask_callable(callable: &Bound<'_, PyAny>, checked: &Checked<'_>) -> PyResult<ReplayVerdict> {
        let duplicate = callable.call1((Self::delivery_id(checked),))?.is_truthy()?;
        Ok(if duplicate {
            ReplayVerdict::DuplicateDelivery
        } else {
            ReplayVerdict::Fresh
        })
    }

    /// The one-step outcome of an accepted delivery (checked and recorded at once). A
    /// Python store's exception propagates unchanged.
    pub(crate) fn record(&self, py: Python<'_>, checked: &Checked<'_>) -> PyResult<Outcome> {
        let verdict = match self {
            Self::Nothing => ReplayVerdict::Fresh,
            Self::Memory(store) => store.get().lock().check_and_record(&checked.entry()),
            Self::IsDuplicate(callable) => Self::ask_callable(callable.bind(py), checked)?,
            Self::Store(store) => Self::ask_store(store.bind(py), checked)?,
            Self::Redis(store) => {
                let call = store.record_call(&Accepted::from_checked(checked));
                let reply = store.run_now(py, call, "verifier.verify")?;
                facade_redis::verdict(reply)
                    .map_err(|error| PyValueError::new_err(error.to_string()))?
            }
        };
        Ok(checked.conclude(verdict))
    }

    /// Reserves an accepted delivery for `lease_seconds`: what the reservation holds, or
    /// the outcome to answer.
    pub(crate) fn reserve(
        &self,
        py: Python<'_>,
        checked: &Checked<'_>,
        lease_seconds: u64,
    ) -> PyResult<Result<Hold, Outcome>> {
        let fresh = |verdict: ReplayVerdict, hold: Hold| match verdict {
            ReplayVerdict::Fresh => Ok(hold),
            verdict => Err(checked.conclude(verdict)),
        };
        Ok(match self {
            Self::Nothing => Ok(Hold::Nothing),
            Self::Memory(store) => checked
                .reserve(&mut *store.get().lock(), lease_seconds)
                .map(|held| Hold::Memory(store.clone_ref(py), held)),
            Self::IsDuplicate(callable) => fresh(
                Self::ask_callable(callable.bind(py), checked)?,
                Hold::Nothing,
            ),
            Self::Store(store) => fresh(Self::ask_store(store.bind(py), checked)?, Hold::Recorded),
            Self::Redis(store) => {
                let accepted = Accepted::from_checked(checked);
                let (token, call) = store.reserve_call(&accepted, lease_seconds);
                let reply = store.run_now(py, call, "verifier.reserve")?;
                let verdict = facade_redis::verdict(reply)
                    .map_err(|error| PyValueError::new_err(error.to_string()))?;
                fresh(
                    verdict,
                    Hold::Redis(Arc::clone(store), Box::new(accepted), token),
                )
            }
        })
    }
}

impl Hold {
    /// Commits (`commit` true) or releases the reservation at `now`: whether it took
    /// effect (false: the lease had run out, or it was already settled).
    pub(crate) fn settle(&self, py: Python<'_>, commit: bool, now: u64) -> PyResult<bool> {
        match self {
            Self::Nothing => Ok(true),
            Self::Recorded => Ok(commit),
            Self::Memory(store, held) => {
                let mut store = store.get().lock();
                Ok(if commit {
                    store.commit(held, now)
                } else {
                    store.release(held, now)
                })
            }
            Self::Redis(store, accepted, token) => {
                let call = store.settle_call(accepted, token, commit, now);
                let form = if commit {
                    "reservation.commit"
                } else {
                    "reservation.release"
                };
                let reply = store.run_now(py, call, form)?;
                facade_redis::settled(reply)
                    .map_err(|error| PyValueError::new_err(error.to_string()))
            }
        }
    }

    /// The asynchronous Redis store this reservation lives in, when it is one.
    pub(crate) fn asynchronous(&self) -> Option<(&Arc<RedisStore>, &Accepted, &str)> {
        match self {
            Self::Redis(store, accepted, token) if store.asynchronous => {
                Some((store, accepted, token))
            }
            _ => None,
        }
    }
}
