//! `Reservation`: a verified delivery held in the in-memory replay store until the
//! application commits it (handled) or releases it (failed).

use std::cell::{Ref, RefCell, RefMut};
use std::rc::Rc;

use fluxora_webhooks_facade::Accepted;
use fluxora_webhooks_facade::core::{
    MemoryReplayStore, Outcome, ReplayReservations, ReplayVerdict, Reservation as Held,
};
use wasm_bindgen::prelude::*;

use crate::convert::now_seconds;
use crate::results::result_object;

/// A verifier's in-memory replay store, shared with the reservations it made (the module is
/// single-threaded).
#[derive(Clone)]
pub(crate) struct SharedStore(Rc<RefCell<MemoryReplayStore>>);

impl SharedStore {
    pub(crate) fn new(store: MemoryReplayStore) -> Self {
        Self(Rc::new(RefCell::new(store)))
    }

    pub(crate) fn borrow(&self) -> Ref<'_, MemoryReplayStore> {
        self.0.borrow()
    }

    pub(crate) fn borrow_mut(&self) -> RefMut<'_, MemoryReplayStore> {
        self.0.borrow_mut()
    }
}

enum Hold {
    Nothing,
    Store(SharedStore, Held),
    Settled,
}

/// A verified delivery reserved in the verifier's replay store (from `Verifier.reserve`):
/// `commit()` once handled, `release()` when the handler failed.
#[wasm_bindgen]
pub struct Reservation {
    outcome: Outcome,
    delivery_id: Option<String>,
    hold: Hold,
}

impl Reservation {
    pub(crate) fn failed(outcome: Outcome) -> Self {
        Self {
            outcome,
            delivery_id: None,
            hold: Hold::Nothing,
        }
    }

    pub(crate) fn unheld(accepted: &Accepted) -> Self {
        Self {
            outcome: accepted.conclude(ReplayVerdict::Fresh),
            delivery_id: Some(accepted.delivery_id_text()),
            hold: Hold::Nothing,
        }
    }

    pub(crate) fn reserve(accepted: &Accepted, store: &SharedStore, lease_seconds: u64) -> Self {
        let reserved = accepted.reserve(&mut *store.borrow_mut(), lease_seconds);
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
        now: &JsValue,
        settle: fn(&mut MemoryReplayStore, &Held, u64) -> bool,
    ) -> Result<bool, JsValue> {
        let now = now_seconds(now)?;
        Ok(match std::mem::replace(&mut self.hold, Hold::Settled) {
            Hold::Store(store, held) => settle(&mut store.borrow_mut(), &held, now),
            Hold::Nothing => {
                self.hold = Hold::Nothing;
                self.outcome.is_ok()
            }
            Hold::Settled => false,
        })
    }
}

#[wasm_bindgen]
impl Reservation {
    /// The verification's result (ok when the delivery is reserved).
    #[wasm_bindgen(getter)]
    pub fn result(&self) -> JsValue {
        result_object(self.outcome)
    }

    /// True when the delivery verified and is held for the application.
    #[wasm_bindgen(getter)]
    pub fn ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// The delivery id, when the delivery verified.
    #[wasm_bindgen(getter, js_name = deliveryId)]
    pub fn delivery_id(&self) -> Option<String> {
        self.delivery_id.clone()
    }

    /// The application handled the delivery: every later attempt is a duplicate (409).
    pub fn commit(&mut self, now: JsValue) -> Result<bool, JsValue> {
        self.settle(&now, |store, held, now| store.commit(held, now))
    }

    /// The application failed: the id is free again, so the sender's retry is processed.
    pub fn release(&mut self, now: JsValue) -> Result<bool, JsValue> {
        self.settle(&now, |store, held, now| store.release(held, now))
    }
}
