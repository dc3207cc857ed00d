//! Outcomes as the plain result objects of the original TypeScript helper:
//! `{ ok, status, code, message, usedPreviousSecret? }`.

use fluxora_webhooks_facade::core::{Outcome, OutcomeCode};
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

/// The plain JS result object for an outcome.
pub(crate) fn result_object(outcome: Outcome) -> JsValue {
    let object = Object::new();
    let set = |name: &str, value: JsValue| {
        let _ = Reflect::set(&object, &name.into(), &value);
    };
    set("ok", outcome.is_ok().into());
    set("status", outcome.status().into());
    set("code", outcome.code().into());
    set("message", outcome.message().as_str().into());
    if outcome.is_ok() {
        set("usedPreviousSecret", outcome.used_previous_secret().into());
    }
    object.into()
}

/// A verifier's frozen result objects, one per outcome (every code, plus `ok` by the
/// previous secret), built on first use.
pub(crate) struct ResultCache(Vec<Option<JsValue>>);

impl ResultCache {
    pub(crate) fn new() -> Self {
        Self(vec![None; OutcomeCode::ALL.len() + 1])
    }

    /// The cached object for `outcome` (a verifier's outcomes all share its limits).
    pub(crate) fn answer(&mut self, outcome: Outcome) -> JsValue {
        let index = if outcome.used_previous_secret() {
            OutcomeCode::ALL.len()
        } else {
            let kind = outcome.kind();
            OutcomeCode::ALL
                .iter()
                .position(|code| *code == kind)
                .unwrap_or(0)
        };
        if let Some(Some(cached)) = self.0.get(index) {
            return cached.clone();
        }
        let object = result_object(outcome);
        let object: &Object = object.unchecked_ref();
        let frozen: JsValue = Object::freeze(object).into();
        if let Some(slot) = self.0.get_mut(index) {
            *slot = Some(frozen.clone());
        }
        frozen
    }
}

use wasm_bindgen::JsCast as _;
