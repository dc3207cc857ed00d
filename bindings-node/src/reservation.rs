//! `Reservation`: a verified delivery held in the in-memory replay store until the
//! application commits it (handled) or releases it (failed).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use fluxora_webhooks_facade::Accepted;
use fluxora_webhooks_facade::core::{
    MemoryReplayStore, Outcome, ReplayReservations, ReplayVerdict, Reservation as Held,
};
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

/// What a reservation holds: nothing (verification failed, or the verifier keeps no
/// store), or a reservation in the store, until settled.
enum Hold {
    Nothing,
    Store(SharedStore, Held),
    Settled,
}

/// A verified delivery reserved in the verifier's replay store (from `Verifier.reserve`).
///
/// `result` is the verification's result: when it is not ok, nothing is held. When it is ok,
/// `commit()` once the application handled the delivery (answered 2xx or 4xx), `release()`
/// when it failed (threw or answered 5xx) so that the sender's retry is processed again.
#[napi]
pub struct Reservation {
    outcome: Outcome,
    delivery_id: Option<String>,
    hold: Hold,
}

impl Reservation {
    /// Verification failed before the replay step.
    pub(crate) fn failed(outcome: Outcome) -> Self {
        Self {
            outcome,
            delivery_id: None,
            hold: Hold::Nothing,
        }
    }

    /// Verified, with no store to hold it in (`replay: false`).
    pub(crate) fn unheld(accepted: &Accepted) -> Self {
        Self {
            outcome: accepted.conclude(ReplayVerdict::Fresh),
            delivery_id: Some(accepted.delivery_id_text()),
            hold: Hold::Nothing,
        }
    }

    /// Verified: reserves it in `store`, or answers the store's verdict.
    pub(crate) fn reserve(accepted: &Accepted, store: &SharedStore, lease_seconds: u64) -> Self {
        let reserved = accepted.reserve(&mut *store.lock(), lease_seconds);
        match reserved {
            Ok(held) => Self {
                outcome: accepted.conclude(ReplayVerdict::Fresh),
                delivery_id: Some(accepted.delivery_id_text()),
                hold: Hold::Store(store.clone(), held),
            },
            Err(outcome) => Self::failed(outcome),
        }
    }

    fn settle(
        &mut self,
        env: &Env,
        now: Option<Unknown<'_>>,
        settle: fn(&mut MemoryReplayStore, &Held, u64) -> bool,
    ) -> Result<bool> {
        let now = now_seconds(env, now)?;
        Ok(match std::mem::replace(&mut self.hold, Hold::Settled) {
            Hold::Store(store, held) => settle(&mut store.lock(), &held, now),
            Hold::Nothing => {
                self.hold = Hold::Nothing;
                self.outcome.is_ok()
            }
            Hold::Settled => false,
        })
    }
}

#[napi]
impl Reservation {
    /// The verification's result (ok when the delivery is reserved, or passed without a store).
    #[napi(getter, ts_return_type = "VerificationResult")]
    pub fn result<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        result_object(env, self.outcome, false)
    }

    /// True when the delivery verified and is held for the application.
    #[napi(getter)]
    pub fn ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// The delivery id, when the delivery verified.
    #[napi(getter)]
    pub fn delivery_id(&self) -> Option<String> {
        self.delivery_id.clone()
    }

    /// The application handled the delivery: every later attempt is a duplicate (409). False
    /// when nothing was held or the reservation was lost (its lease had run out).
    #[napi(ts_args_type = "now?: number | Date")]
    pub fn commit(&mut self, env: &Env, now: Option<Unknown<'_>>) -> Result<bool> {
        self.settle(env, now, |store, held, now| store.commit(held, now))
    }

    /// The application failed: the id is free again, so the sender's retry is processed.
    /// False when nothing was held or the reservation was lost.
    #[napi(ts_args_type = "now?: number | Date")]
    pub fn release(&mut self, env: &Env, now: Option<Unknown<'_>>) -> Result<bool> {
        self.settle(env, now, |store, held, now| store.release(held, now))
    }
}
