//! The in-memory replay store: the core's indexed [`CoreStore`], shared between threads.

use std::sync::{Mutex, MutexGuard, PoisonError};

use fluxora_webhooks_facade::ReplaySettings;
use fluxora_webhooks_facade::core::MemoryReplayStore as CoreStore;
use pyo3::prelude::*;

use crate::settings::{Held, settings_error};

/// An in-process replay store: bounded, TTL-aware and safe to share between threads.
///
/// Remembers each accepted delivery id for ``delivery_retention_seconds`` and each
/// (timestamp, signature) pair until ``timestamp + tolerance``. It never forgets an
/// unexpired entry to make room: once ``capacity`` deliveries are remembered, new ones
/// are answered ``consumer_overloaded`` (429) until entries expire. A reservation
/// (``Verifier.reserve``) holds its delivery id until its commit, its release or the end
/// of its lease, and takes a place meanwhile. One process only (its reservations end with
/// it); use ``RedisReplayStore`` for several worker processes.
#[pyclass(module = "fluxora_webhooks", frozen)]
pub(crate) struct MemoryReplayStore {
    inner: Mutex<CoreStore>,
}

impl MemoryReplayStore {
    /// The store of the facade's default settings (a verifier's default).
    pub(crate) fn default_store() -> Self {
        Self::from_settings(ReplaySettings::DEFAULT)
    }

    fn from_settings(settings: ReplaySettings) -> Self {
        Self {
            inner: Mutex::new(settings.store().unwrap_or_default()),
        }
    }

    /// Locks the store. A poisoned lock still holds consistent maps (no code that can
    /// panic runs while it is held), so it is taken over rather than propagated.
    pub(crate) fn lock(&self) -> MutexGuard<'_, CoreStore> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl MemoryReplayStore {
    #[new]
    #[pyo3(signature = (capacity = None, delivery_retention_seconds = None))]
    fn new(
        py: Python<'_>,
        capacity: Option<&Bound<'_, PyAny>>,
        delivery_retention_seconds: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let (capacity, retention) = (Held::of(capacity), Held::of(delivery_retention_seconds));
        ReplaySettings::memory(capacity.loose(), retention.loose())
            .map(Self::from_settings)
            .map_err(|error| settings_error(py, error))
    }

    /// The most deliveries remembered at once.
    #[getter]
    fn capacity(&self) -> usize {
        self.lock().capacity()
    }

    /// How long an accepted delivery id is remembered, in seconds.
    #[getter]
    fn delivery_retention_seconds(&self) -> u64 {
        self.lock().delivery_retention_seconds()
    }

    /// How many deliveries are still remembered at ``now`` (Unix seconds).
    fn live_entries(&self, now: u64) -> usize {
        self.lock().live_entries(now)
    }

    /// Forgets everything (for tests).
    fn clear(&self) {
        let mut store = self.lock();
        *store = CoreStore::with_delivery_retention(
            store.capacity(),
            store.delivery_retention_seconds(),
        );
    }

    fn __repr__(&self) -> String {
        let store = self.lock();
        format!(
            "MemoryReplayStore(capacity={}, delivery_retention_seconds={})",
            store.capacity(),
            store.delivery_retention_seconds()
        )
    }
}

/// A replay store that remembers nothing: every signed delivery is fresh.
///
/// For receivers that de-duplicate elsewhere (for instance in their own database). A
/// reservation in it holds nothing: its commit and release have nothing to do.
#[pyclass(module = "fluxora_webhooks", frozen)]
pub(crate) struct NoReplayStore;

#[pymethods]
impl NoReplayStore {
    #[new]
    fn new() -> Self {
        Self
    }

    fn __repr__(&self) -> &'static str {
        "NoReplayStore()"
    }
}
