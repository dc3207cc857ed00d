//! The reusable `Verifier` and `Checked`, the replay step handed to an asynchronous store.

use fluxora_webhooks_facade::{
    Accepted, Field, Holding, JsError, OwnedSettings, ReplaySettings, SecretRule, Spelling,
    Verifier as FacadeVerifier, redis, verdict_from_code,
};
use napi::bindgen_prelude::*;
use napi::{Env, JsValue, ValueType};
use napi_derive::napi;

use crate::convert::{
    body, field_headers, now_seconds, owned, property, request_headers, settings_error,
};
use crate::errors::{bad_argument, throw};
use crate::reservation::{Reservation, SharedStore};
use crate::results::{ResultCache, result_object};

/// Options of the in-memory replay store.
#[napi(object)]
pub struct MemoryReplayOptions {
    /// How many deliveries are remembered at once (default 100000). When every slot holds
    /// an unexpired delivery, verification answers `consumer_overloaded` (429).
    pub capacity: Option<f64>,
    /// How long an accepted delivery id is remembered, in seconds (default 86400).
    pub delivery_retention_seconds: Option<f64>,
}

/// One delivery as fields, for `Verifier.verify`.
#[napi(object, object_to_js = false)]
pub struct DeliveryInput<'a> {
    /// The `x-fluxora-delivery-id` header.
    #[napi(ts_type = "string | string[] | null")]
    pub delivery_id: Option<Unknown<'a>>,
    /// The `x-fluxora-timestamp` header, as received.
    #[napi(ts_type = "string | string[] | null")]
    pub timestamp: Option<Unknown<'a>>,
    /// The `x-fluxora-signature` header, as received.
    #[napi(ts_type = "string | string[] | null")]
    pub signature: Option<Unknown<'a>>,
    /// The raw request body, exactly as received.
    #[napi(ts_type = "Buffer | Uint8Array | string")]
    pub raw_body: Option<Unknown<'a>>,
    /// The verification time: Unix seconds or a `Date` (default: the system clock).
    #[napi(ts_type = "number | Date")]
    pub now: Option<Unknown<'a>>,
}

/// The replay options: absent, a switch, or `{ capacity, deliveryRetentionSeconds }`.
fn replay_settings(env: &Env, value: Option<Unknown<'_>>) -> Result<ReplaySettings> {
    let result = match value {
        Some(value) if value.get_type()? == ValueType::Object && !value.is_array()? => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be an object.
            let object = unsafe { value.cast::<Object<'_>>() }?;
            let capacity = owned(property(&object, "capacity")?)?;
            let retention = owned(property(&object, "deliveryRetentionSeconds")?)?;
            ReplaySettings::memory(capacity.loose(), retention.loose())
        }
        other => ReplaySettings::from_switch(owned(other)?.loose()),
    };
    result.map_err(|error| settings_error(env, error))
}

/// Verifies Fluxora deliveries with a key prepared once: the fast path.
///
/// Options: `secret` (required), `previousSecret`, `previousSecretRotatedAt`,
/// `graceWindowSeconds`, `toleranceSeconds`, `maxBodyBytes`, and `replay`: an in-memory
/// replay store by default (bounded and TTL-aware; `{ capacity, deliveryRetentionSeconds }`
/// to size it), or `false` to de-duplicate elsewhere (e.g. with `RedisReplayStore`). Invalid
/// options throw `ERR_FLUXORA_INVALID_SETTING` with `field` and `problem`. Secrets never
/// appear in errors or when the verifier is inspected.
#[napi(custom_finalize)]
pub struct Verifier {
    inner: FacadeVerifier,
    store: Option<SharedStore>,
    lease_seconds: u64,
    cache: Option<ResultCache>,
}

impl ObjectFinalize for Verifier {
    fn finalize(self, env: Env) -> Result<()> {
        match self.cache {
            Some(cache) => cache.release(&env),
            None => Ok(()),
        }
    }
}

#[napi]
impl Verifier {
    /// Builds a verifier; each secret is keyed into HMAC-SHA256 here, once.
    #[napi(
        constructor,
        ts_args_type = "options: { secret: string; previousSecret?: string | null; previousSecretRotatedAt?: number | null; graceWindowSeconds?: number | null; toleranceSeconds?: number | null; maxBodyBytes?: number | null; replay?: boolean | null | MemoryReplayOptions }"
    )]
    pub fn new(env: &Env, options: Unknown<'_>) -> Result<Self> {
        if options.get_type()? != ValueType::Object {
            return Err(bad_argument(
                env,
                "options must be an object: { secret, ... }",
            ));
        }
        #[allow(unsafe_code)]
        // SAFETY: the value was just checked to be an object.
        let options = unsafe { options.cast::<Object<'_>>() }?;
        let settings = OwnedSettings::read(Spelling::JavaScript, Field::PreviousSecret, |name| {
            owned(property(&options, name)?)
        })?;
        let inner = settings
            .validate(SecretRule::Required)
            .map(FacadeVerifier::new)
            .map_err(|error| settings_error(env, error))?;
        let store = replay_settings(env, property(&options, "replay")?)?
            .store()
            .map(SharedStore::new);
        let lease = owned(property(&options, "reservationLeaseSeconds")?)?;
        let lease_seconds = fluxora_webhooks_facade::reservation_lease_seconds(lease.loose())
            .map_err(|error| settings_error(env, error))?;
        Ok(Self {
            inner,
            store,
            lease_seconds,
            cache: Some(ResultCache::new()),
        })
    }

    fn answer<'env>(
        &mut self,
        env: &'env Env,
        outcome: fluxora_webhooks_facade::core::Outcome,
    ) -> Result<Object<'env>> {
        match &mut self.cache {
            Some(cache) => cache.answer(env, outcome),
            None => result_object(env, outcome, true),
        }
    }

    fn verify_received<'env>(
        &mut self,
        env: &'env Env,
        headers: &fluxora_webhooks_facade::ReceivedHeaders,
        raw_body: Option<Unknown<'env>>,
        now: Option<Unknown<'env>>,
    ) -> Result<Object<'env>> {
        let raw_body = body(env, raw_body)?;
        let now = now_seconds(env, now)?;
        let outcome = match &self.store {
            Some(store) => self
                .inner
                .verify(headers, raw_body.bytes(), now, &mut *store.lock()),
            None => self.inner.verify(
                headers,
                raw_body.bytes(),
                now,
                &mut fluxora_webhooks_facade::core::NoReplayGuard,
            ),
        };
        self.answer(env, outcome)
    }

    /// Verifies one delivery from its request headers (a plain object in any name case, as
    /// Node's `IncomingHttpHeaders` or AWS Lambda's `event.headers`; a Fetch `Headers`; a
    /// `Map`; or an array of `[name, value]` pairs) and raw body, at `now` (Unix seconds or a
    /// `Date`; default: the system clock). Returns a frozen `VerificationResult`, the same
    /// object for the same outcome.
    #[napi(
        ts_args_type = "headers: HeaderInput, rawBody: Buffer | Uint8Array | string, now?: number | Date",
        ts_return_type = "VerificationResult"
    )]
    pub fn verify_headers<'env>(
        &mut self,
        env: &'env Env,
        headers: Unknown<'env>,
        raw_body: Unknown<'env>,
        now: Option<Unknown<'env>>,
    ) -> Result<Object<'env>> {
        let headers = request_headers(env, headers)?;
        self.verify_received(env, &headers, Some(raw_body), now)
    }

    /// Verifies one delivery given as fields: `{ deliveryId, timestamp, signature, rawBody, now? }`.
    #[napi(ts_return_type = "VerificationResult")]
    pub fn verify<'env>(
        &mut self,
        env: &'env Env,
        delivery: DeliveryInput<'env>,
    ) -> Result<Object<'env>> {
        let headers = field_headers(
            env,
            delivery.delivery_id,
            delivery.timestamp,
            delivery.signature,
        )?;
        self.verify_received(env, &headers, delivery.raw_body, delivery.now)
    }

    /// Every check up to the replay step, for an asynchronous replay store (e.g.
    /// `RedisReplayStore`): `result` is set when the delivery failed before it; otherwise
    /// the returned `Checked` holds what the store must check and record, and concludes
    /// with its answer.
    #[napi(
        ts_args_type = "headers: HeaderInput, rawBody: Buffer | Uint8Array | string, now?: number | Date"
    )]
    pub fn check<'env>(
        &mut self,
        env: &'env Env,
        headers: Unknown<'env>,
        raw_body: Unknown<'env>,
        now: Option<Unknown<'env>>,
    ) -> Result<Checked> {
        let headers = request_headers(env, headers)?;
        let raw_body = body(env, raw_body)?;
        let now = now_seconds(env, now)?;
        Ok(match self.inner.check(&headers, raw_body.bytes(), now) {
            Ok(accepted) => Checked {
                accepted: Some(accepted),
                failure: None,
                token: None,
            },
            Err(outcome) => Checked {
                accepted: None,
                failure: Some(outcome),
                token: None,
            },
        })
    }

    /// Two-phase replay: verifies the delivery and, when it passed, reserves it in the
    /// in-memory replay store for `reservationLeaseSeconds`. The returned `Reservation` holds
    /// the result; `commit()` it once the application handled the delivery (a 2xx or 4xx
    /// answer), `release()` it when the handler failed (it threw or answered 5xx), so the
    /// sender's retry is processed again. A reservation neither committed nor released
    /// expires with its lease. A concurrent attempt of a reserved delivery answers 429
    /// `delivery_in_progress`.
    #[napi(
        ts_args_type = "headers: HeaderInput, rawBody: RawBody, now?: number | Date",
        ts_return_type = "Reservation"
    )]
    pub fn reserve(
        &mut self,
        env: &Env,
        headers: Unknown<'_>,
        raw_body: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Result<Reservation> {
        let headers = request_headers(env, headers)?;
        let raw_body = body(env, raw_body)?;
        let now = now_seconds(env, now)?;
        let holding = match (
            self.inner.check(&headers, raw_body.bytes(), now),
            &self.store,
        ) {
            (Err(outcome), _) => Holding::failed(outcome),
            (Ok(accepted), None) => Holding::unheld(&accepted),
            (Ok(accepted), Some(store)) => Holding::reserve(&accepted, store, self.lease_seconds),
        };
        Ok(Reservation::new(holding))
    }

    /// The configured reservation lease in seconds.
    #[napi(getter)]
    pub fn reservation_lease_seconds(&self) -> f64 {
        self.lease_seconds as f64
    }

    /// The configured freshness window in seconds.
    #[napi(getter)]
    pub fn tolerance_seconds(&self) -> f64 {
        self.inner.settings().tolerance_seconds() as f64
    }

    /// The configured body limit in bytes.
    #[napi(getter)]
    pub fn max_body_bytes(&self) -> f64 {
        self.inner.settings().max_body_bytes() as f64
    }

    /// The configured grace window of the previous secret in seconds.
    #[napi(getter)]
    pub fn grace_window_seconds(&self) -> f64 {
        self.inner.settings().grace_window_seconds() as f64
    }

    /// Deliveries the in-memory replay store holds at `now` (0 without a store).
    #[napi(ts_args_type = "now?: number | Date")]
    pub fn replay_entries(&mut self, env: &Env, now: Option<Unknown<'_>>) -> Result<u32> {
        let now = now_seconds(env, now)?;
        Ok(self.store.as_ref().map_or(0, |store| {
            u32::try_from(store.lock().live_entries(now)).unwrap_or(u32::MAX)
        }))
    }

    /// The in-memory replay store's configuration, or `null` without one.
    #[napi(getter)]
    pub fn replay(&self) -> Option<MemoryReplayOptions> {
        self.store.as_ref().map(|store| {
            let store = store.lock();
            MemoryReplayOptions {
                capacity: Some(store.capacity() as f64),
                delivery_retention_seconds: Some(store.delivery_retention_seconds() as f64),
            }
        })
    }

    /// A description without secrets, also used by `util.inspect`.
    #[napi(js_name = "toString")]
    pub fn describe(&self) -> String {
        format!("{:?}", self.inner.settings())
    }
}

/// The arguments of one `EVAL` of the Redis replay script.
#[napi(object)]
pub struct RedisEval {
    /// `KEYS`.
    pub keys: Vec<String>,
    /// `ARGV`.
    pub args: Vec<String>,
}

/// A delivery checked up to the replay step (from `Verifier.check`).
#[napi]
pub struct Checked {
    accepted: Option<Accepted>,
    failure: Option<fluxora_webhooks_facade::core::Outcome>,
    /// The token of this delivery's Redis reservation, once `redisReserve` made one.
    token: Option<String>,
}

#[napi]
impl Checked {
    /// The result when the delivery failed before the replay step, otherwise `null`.
    #[napi(getter, ts_return_type = "VerificationResult | null")]
    pub fn result<'env>(&self, env: &'env Env) -> Result<Option<Object<'env>>> {
        self.failure
            .map(|outcome| result_object(env, outcome, false))
            .transpose()
    }

    /// The delivery id, when the signature matched.
    #[napi(getter)]
    pub fn delivery_id(&self) -> Option<String> {
        self.accepted.as_ref().map(Accepted::delivery_id_text)
    }

    /// The signature as 64 lowercase hex digits, when it matched.
    #[napi(getter)]
    pub fn signature(&self) -> Option<String> {
        self.accepted.as_ref().map(Accepted::signature_hex)
    }

    /// The signed timestamp in Unix seconds, when the signature matched.
    #[napi(getter)]
    pub fn timestamp(&self) -> Option<f64> {
        self.accepted.as_ref().map(|a| a.timestamp() as f64)
    }

    /// The `EVAL` arguments of the Redis replay script (`redisScript()`) for this delivery.
    #[napi]
    pub fn redis_eval(
        &self,
        env: &Env,
        prefix: String,
        delivery_retention_seconds: Unknown<'_>,
    ) -> Result<RedisEval> {
        let accepted = self.accepted(env)?;
        let retention = owned(Some(delivery_retention_seconds))?;
        let retention = fluxora_webhooks_facade::delivery_retention_seconds(retention.loose())
            .map_err(|error| settings_error(env, error))?;
        let call = redis::call(&prefix, &accepted.entry(), retention);
        Ok(RedisEval {
            keys: call.keys.to_vec(),
            args: call.args.to_vec(),
        })
    }

    /// The `EVAL` arguments that reserve this delivery in Redis for `leaseSeconds` (two-phase
    /// replay), under a fresh token this object keeps for the commit or release.
    #[napi]
    pub fn redis_reserve(
        &mut self,
        env: &Env,
        prefix: String,
        lease_seconds: Unknown<'_>,
    ) -> Result<RedisEval> {
        let lease = owned(Some(lease_seconds))?;
        let lease = fluxora_webhooks_facade::reservation_lease_seconds(lease.loose())
            .map_err(|error| settings_error(env, error))?;
        let token = redis::new_token();
        let call = redis::reserve_call(&prefix, &self.accepted(env)?.entry(), &token, lease);
        self.token = Some(token);
        Ok(RedisEval {
            keys: call.keys.to_vec(),
            args: call.args.to_vec(),
        })
    }

    /// The `EVAL` arguments that commit this delivery's Redis reservation at `now`.
    #[napi(ts_args_type = "prefix: string, deliveryRetentionSeconds: number, now?: number | Date")]
    pub fn redis_commit(
        &self,
        env: &Env,
        prefix: String,
        delivery_retention_seconds: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Result<RedisEval> {
        let retention = owned(Some(delivery_retention_seconds))?;
        let retention = fluxora_webhooks_facade::delivery_retention_seconds(retention.loose())
            .map_err(|error| settings_error(env, error))?;
        let now = now_seconds(env, now)?;
        let call = redis::commit_call(
            &prefix,
            &self.accepted(env)?.entry(),
            self.token(env)?,
            retention,
            now,
        );
        Ok(RedisEval {
            keys: call.keys.to_vec(),
            args: call.args.to_vec(),
        })
    }

    /// The `EVAL` arguments that release this delivery's Redis reservation.
    #[napi]
    pub fn redis_release(&self, env: &Env, prefix: String) -> Result<RedisEval> {
        let call = redis::release_call(&prefix, &self.accepted(env)?.entry(), self.token(env)?);
        Ok(RedisEval {
            keys: call.keys.to_vec(),
            args: call.args.to_vec(),
        })
    }

    /// Whether the Redis script's reply to a commit or a release took effect (false: the
    /// reservation was lost, its lease had run out).
    #[napi]
    pub fn redis_settled(&self, env: &Env, reply: i64) -> Result<bool> {
        redis::settled(reply).map_err(|error| throw(env, JsError::redis_reply(error)))
    }

    /// The result for the Redis script's reply.
    #[napi(ts_return_type = "VerificationResult")]
    pub fn conclude_redis<'env>(&self, env: &'env Env, reply: i64) -> Result<Object<'env>> {
        let accepted = self.accepted(env)?;
        let verdict =
            redis::verdict(reply).map_err(|error| throw(env, JsError::redis_reply(error)))?;
        result_object(env, accepted.conclude(verdict), false)
    }

    /// The result for a replay store's answer given as an outcome code (`"ok"`,
    /// `"duplicate_delivery"`, `"replayed_signature"` or `"consumer_overloaded"`).
    #[napi(ts_return_type = "VerificationResult")]
    pub fn conclude<'env>(&self, env: &'env Env, code: String) -> Result<Object<'env>> {
        let accepted = self.accepted(env)?;
        let verdict =
            verdict_from_code(&code).map_err(|error| throw(env, JsError::verdict(&error)))?;
        result_object(env, accepted.conclude(verdict), false)
    }
}

impl Checked {
    fn token(&self, env: &Env) -> Result<&str> {
        self.token.as_deref().ok_or_else(|| {
            bad_argument(
                env,
                "this delivery has no Redis reservation: call redisReserve first",
            )
        })
    }

    fn accepted(&self, env: &Env) -> Result<&Accepted> {
        self.accepted
            .as_ref()
            .ok_or_else(|| bad_argument(env, "this delivery failed verification: read `result`"))
    }
}
