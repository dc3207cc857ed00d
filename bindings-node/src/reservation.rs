//! `Reservation`: a verified delivery held in the in-memory replay store until the
//! application commits it (handled) or releases it (failed).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use fluxora_webhooks_facade::core::MemoryReplayStore;
use fluxora_webhooks_facade::{Holding, StoreHandle};
use napi::Env;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::now_seconds;
use crate::results::result_object;

/// A verifier's in-memory replay store, shared with the reservations it made.
#[derive(Clone)]
pub(crate) struct SharedStore(Arc<Mutex<MemoryReplayStore>>);

impl SharedStore {
    pub(crate) fn new(store: MemoryReplayStore) -> Self {
        Self(Arc::new(Mutex::new(store)))
    }

    /// Locks the store. A poisoned lock still holds consistent maps (no code that can panic
    /// runs while it is held), so it is taken over rather than propagated.
    pub(crate) fn lock(&self) -> MutexGuard<'_, MemoryReplayStore> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl StoreHandle for SharedStore {
    fn with<R>(&self, f: impl FnOnce(&mut MemoryReplayStore) -> R) -> R {
        f(&mut self.lock())
    }
}

/// A verified delivery reserved in the verifier's replay store (from `Verifier.reserve`).
///
/// `result` is the verification's result: when it is not ok, nothing is held. When it is ok,
/// `commit()` once the application handled the delivery (answered 2xx or 4xx), `release()`
/// when it failed (threw or answered 5xx) so that the sender's retry is processed again.
#[napi]
pub struct Reservation(Holding<SharedStore>);

impl Reservation {
    pub(crate) fn new(holding: Holding<SharedStore>) -> Self {
        Self(holding)
    }
}

#[napi]
impl Reservation {
    /// The verification's result (ok when the delivery is reserved, or passed without a store).
    #[napi(getter, ts_return_type = "VerificationResult")]
    pub fn result<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        result_object(env, self.0.outcome(), false)
    }

    /// True when the delivery verified and is held for the application.
    #[napi(getter)]
    pub fn ok(&self) -> bool {
        self.0.outcome().is_ok()
    }

    /// The delivery id, when the delivery verified.
    #[napi(getter)]
    pub fn delivery_id(&self) -> Option<String> {
        self.0.delivery_id().map(str::to_owned)
    }

    /// The application handled the delivery: every later attempt is a duplicate (409). False
    /// when nothing was held or the reservation was lost (its lease had run out).
    #[napi(ts_args_type = "now?: number | Date")]
    pub fn commit(&mut self, env: &Env, now: Option<Unknown<'_>>) -> Result<bool> {
        Ok(self.0.commit(now_seconds(env, now)?))
    }

    /// The application failed: the id is free again, so the sender's retry is processed.
    /// False when nothing was held or the reservation was lost.
    #[napi(ts_args_type = "now?: number | Date")]
    pub fn release(&mut self, env: &Env, now: Option<Unknown<'_>>) -> Result<bool> {
        Ok(self.0.release(now_seconds(env, now)?))
    }
}
