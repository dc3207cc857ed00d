//! The reusable `Verifier`.

use fluxora_webhooks_facade::core::{NoReplayGuard, ReplayGuard};
use fluxora_webhooks_facade::{
    Field, Holding, OwnedSettings, ReceivedHeaders, ReplaySettings, SecretRule, Spelling,
    Verifier as FacadeVerifier,
};
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::convert::{
    Body, body, check, field_headers, now_seconds, owned, property, request_headers,
};
use crate::errors::{bad_argument, settings_error};
use crate::reservation::{Reservation, SharedStore};
use crate::results::ResultCache;

/// The replay options: absent, a switch, or `{ capacity, deliveryRetentionSeconds }`.
fn replay_settings(value: &JsValue) -> Result<ReplaySettings, JsValue> {
    let result = if value.is_object() && !js_sys::Array::is_array(value) {
        let capacity = owned(&property(value, "capacity"));
        let retention = owned(&property(value, "deliveryRetentionSeconds"));
        ReplaySettings::memory(capacity.loose(), retention.loose())
    } else {
        ReplaySettings::from_switch(owned(value).loose())
    };
    result.map_err(settings_error)
}

/// Verifies Fluxora deliveries with a key prepared once: the fast path.
///
/// Options: `secret` (required), `previousSecret`, `previousSecretRotatedAt`,
/// `graceWindowSeconds`, `toleranceSeconds`, `maxBodyBytes`, and `replay`: an in-memory
/// replay store by default (bounded and TTL-aware; `{ capacity, deliveryRetentionSeconds }`
/// to size it), or `false`. Invalid options throw `ERR_FLUXORA_INVALID_SETTING` with
/// `field` and `problem`.
#[wasm_bindgen]
pub struct Verifier {
    inner: FacadeVerifier,
    store: Option<SharedStore>,
    lease_seconds: u64,
    results: ResultCache,
}

#[wasm_bindgen]
impl Verifier {
    /// Keys each secret into HMAC-SHA256, once.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<Verifier, JsValue> {
        if !options.is_object() {
            return Err(bad_argument("options must be an object: { secret, ... }"));
        }
        let settings = OwnedSettings::read(Spelling::JavaScript, Field::PreviousSecret, |name| {
            Ok::<_, JsValue>(owned(&property(&options, name)))
        })?;
        let inner = settings
            .validate(SecretRule::Required)
            .map(FacadeVerifier::new)
            .map_err(settings_error)?;
        let store = replay_settings(&property(&options, "replay"))?
            .store()
            .map(SharedStore::new);
        let lease = owned(&property(&options, "reservationLeaseSeconds"));
        let lease_seconds = fluxora_webhooks_facade::reservation_lease_seconds(lease.loose())
            .map_err(settings_error)?;
        Ok(Verifier {
            inner,
            store,
            lease_seconds,
            results: ResultCache::new(),
        })
    }

    fn run(&mut self, headers: &ReceivedHeaders, body: &Body, now: u64) -> JsValue {
        let outcome = match check(&self.inner, headers, body, now) {
            Err(outcome) => outcome,
            Ok(checked) => {
                let entry = checked.entry();
                let verdict = match &self.store {
                    Some(store) => store.borrow_mut().check_and_record(&entry),
                    None => NoReplayGuard.check_and_record(&entry),
                };
                checked.conclude(verdict)
            }
        };
        self.results.answer(outcome)
    }

    /// Verifies one delivery from its request headers (a Fetch `Headers`, a plain object in
    /// any name case, a `Map`, or an array of `[name, value]` pairs) and raw body, at `now`
    /// (Unix seconds or a `Date`; default: the clock). Returns a frozen result, the same
    /// object for the same outcome.
    #[wasm_bindgen(js_name = verifyHeaders)]
    pub fn verify_headers(
        &mut self,
        headers: JsValue,
        raw_body: JsValue,
        now: JsValue,
    ) -> Result<JsValue, JsValue> {
        let headers = request_headers(&headers)?;
        let body = body(&raw_body)?;
        let now = now_seconds(&now)?;
        Ok(self.run(&headers, &body, now))
    }

    /// Verifies one delivery given as fields: `{ deliveryId, timestamp, signature, rawBody, now? }`.
    pub fn verify(&mut self, delivery: JsValue) -> Result<JsValue, JsValue> {
        if !delivery.is_object() {
            return Err(bad_argument("delivery must be an object"));
        }
        let headers = field_headers(&delivery)?;
        let body = body(&property(&delivery, "rawBody"))?;
        let now = now_seconds(&property(&delivery, "now"))?;
        Ok(self.run(&headers, &body, now))
    }

    /// Two-phase replay: verifies the delivery and, when it passed, reserves it in the
    /// in-memory replay store for `reservationLeaseSeconds`. `commit()` the returned
    /// `Reservation` once the application handled the delivery (2xx or 4xx), `release()` it
    /// when it failed (threw or answered 5xx), so the sender's retry is processed again.
    pub fn reserve(
        &mut self,
        headers: JsValue,
        raw_body: JsValue,
        now: JsValue,
    ) -> Result<Reservation, JsValue> {
        let headers = request_headers(&headers)?;
        let body = body(&raw_body)?;
        let now = now_seconds(&now)?;
        let checked = check(&self.inner, &headers, &body, now)
            .map(|checked| fluxora_webhooks_facade::Accepted::from_checked(&checked));
        let holding = match (checked, &self.store) {
            (Err(outcome), _) => Holding::failed(outcome),
            (Ok(accepted), None) => Holding::unheld(&accepted),
            (Ok(accepted), Some(store)) => Holding::reserve(&accepted, store, self.lease_seconds),
        };
        Ok(Reservation::new(holding))
    }

    /// The configured reservation lease in seconds.
    #[wasm_bindgen(getter, js_name = reservationLeaseSeconds)]
    pub fn reservation_lease_seconds(&self) -> f64 {
        self.lease_seconds as f64
    }

    /// The configured freshness window in seconds.
    #[wasm_bindgen(getter, js_name = toleranceSeconds)]
    pub fn tolerance_seconds(&self) -> f64 {
        self.inner.settings().tolerance_seconds() as f64
    }

    /// The configured body limit in bytes.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        self.inner.settings().max_body_bytes() as f64
    }

    /// The configured grace window of the previous secret in seconds.
    #[wasm_bindgen(getter, js_name = graceWindowSeconds)]
    pub fn grace_window_seconds(&self) -> f64 {
        self.inner.settings().grace_window_seconds() as f64
    }

    /// Deliveries the in-memory replay store holds at `now` (0 without a store).
    #[wasm_bindgen(js_name = replayEntries)]
    pub fn replay_entries(&self, now: JsValue) -> Result<f64, JsValue> {
        let now = now_seconds(&now)?;
        Ok(self
            .store
            .as_ref()
            .map_or(0.0, |store| store.borrow().live_entries(now) as f64))
    }

    /// The in-memory replay store's configuration, or `null` without one.
    #[wasm_bindgen(getter)]
    pub fn replay(&self) -> JsValue {
        let Some(store) = &self.store else {
            return JsValue::NULL;
        };
        let store = store.borrow();
        let object = Object::new();
        let _ = Reflect::set(
            &object,
            &"capacity".into(),
            &(store.capacity() as f64).into(),
        );
        let _ = Reflect::set(
            &object,
            &"deliveryRetentionSeconds".into(),
            &(store.delivery_retention_seconds() as f64).into(),
        );
        object.into()
    }

    /// A description without secrets.
    #[wasm_bindgen(js_name = toString)]
    pub fn describe(&self) -> String {
        format!("{:?}", self.inner.settings())
    }

    /// `JSON.stringify(verifier)` shows the configuration, never a secret.
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> String {
        self.describe()
    }
}
