//! Outcomes as the plain result objects of the original TypeScript helper:
//! `{ ok, status, code, message, usedPreviousSecret? }`.

use fluxora_webhooks_facade::core::{Outcome, OutcomeCode};
use napi::Env;
use napi::bindgen_prelude::*;

/// Builds the plain JS result object for an outcome (frozen when `freeze`, for caching).
pub(crate) fn result_object<'env>(
    env: &'env Env,
    outcome: Outcome,
    freeze: bool,
) -> Result<Object<'env>> {
    let mut object = Object::new(env)?;
    object.set_named_property("ok", outcome.is_ok())?;
    object.set_named_property("status", u32::from(outcome.status()))?;
    object.set_named_property("code", outcome.code())?;
    object.set_named_property("message", outcome.message().as_str())?;
    if outcome.is_ok() {
        object.set_named_property("usedPreviousSecret", outcome.used_previous_secret())?;
    }
    if freeze {
        object.freeze()?;
    }
    Ok(object)
}

/// A verifier's frozen result objects, one per outcome (every code, plus `ok` by the
/// previous secret), built on first use.
pub(crate) struct ResultCache(Vec<Option<ObjectRef<false>>>);

impl ResultCache {
    pub(crate) fn new() -> Self {
        Self((0..=OutcomeCode::ALL.len()).map(|_| None).collect())
    }

    fn index(outcome: Outcome) -> usize {
        if outcome.used_previous_secret() {
            return OutcomeCode::ALL.len();
        }
        let kind = outcome.kind();
        OutcomeCode::ALL
            .iter()
            .position(|code| *code == kind)
            .unwrap_or(0)
    }

    /// The cached object for `outcome` (a verifier's outcomes all share its limits).
    pub(crate) fn answer<'env>(
        &mut self,
        env: &'env Env,
        outcome: Outcome,
    ) -> Result<Object<'env>> {
        let index = Self::index(outcome);
        if let Some(Some(cached)) = self.0.get(index) {
            return cached.get_value(env);
        }
        let object = result_object(env, outcome, true)?;
        if let Some(slot) = self.0.get_mut(index) {
            *slot = Some(object.create_ref::<false>()?);
        }
        Ok(object)
    }

    /// Releases the references (from the class finalizer).
    pub(crate) fn release(self, env: &Env) -> Result<()> {
        for cached in self.0.into_iter().flatten() {
            cached.unref(env)?;
        }
        Ok(())
    }
}
