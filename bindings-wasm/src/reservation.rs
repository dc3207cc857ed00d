//! `Reservation`: a verified delivery held in the in-memory replay store until the
//! application commits it (handled) or releases it (failed).

use std::cell::{Ref, RefCell, RefMut};
use std::rc::Rc;

use fluxora_webhooks_facade::core::MemoryReplayStore;
use fluxora_webhooks_facade::{Holding, StoreHandle};
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

impl StoreHandle for SharedStore {
    fn with<R>(&self, f: impl FnOnce(&mut MemoryReplayStore) -> R) -> R {
        f(&mut self.borrow_mut())
    }
}

/// A verified delivery reserved in the verifier's replay store (from `Verifier.reserve`):
/// `commit()` once handled, `release()` when the handler failed.
#[wasm_bindgen]
pub struct Reservation(Holding<SharedStore>);

impl Reservation {
    pub(crate) fn new(holding: Holding<SharedStore>) -> Self {
        Self(holding)
    }
}

#[wasm_bindgen]
impl Reservation {
    /// The verification's result (ok when the delivery is reserved).
    #[wasm_bindgen(getter)]
    pub fn result(&self) -> JsValue {
        result_object(self.0.outcome())
    }

    /// True when the delivery verified and is held for the application.
    #[wasm_bindgen(getter)]
    pub fn ok(&self) -> bool {
        self.0.outcome().is_ok()
    }

    /// The delivery id, when the delivery verified.
    #[wasm_bindgen(getter, js_name = deliveryId)]
    pub fn delivery_id(&self) -> Option<String> {
        self.0.delivery_id().map(str::to_owned)
    }

    /// The application handled the delivery: every later attempt is a duplicate (409).
    pub fn commit(&mut self, now: JsValue) -> Result<bool, JsValue> {
        Ok(self.0.commit(now_seconds(&now)?))
    }

    /// The application failed: the id is free again, so the sender's retry is processed.
    pub fn release(&mut self, now: JsValue) -> Result<bool, JsValue> {
        Ok(self.0.release(now_seconds(&now)?))
    }
}
