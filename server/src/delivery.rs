//! Outbound webhook delivery: the worker that drains the outbox, the retry schedule, the
//! per-endpoint circuit breaker and the classification of answers.
//!
//! Every attempt is signed afresh with the core (`Signer`): a new `x-fluxora-timestamp`, the
//! same `x-fluxora-delivery-id`. Logs name only the delivery id, the event type, the attempt
//! number and the status code: never the URL, the payload, the signature or the secret.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fluxora_webhooks::{
    HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, Signer,
};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

use crate::db::{Backend, Db};
use crate::metrics::Metrics;
use crate::store::endpoints;
use crate::store::outbox::{self, Attempt, AttemptResult, Claimed};
use crate::util::{random_hex, unix_millis, unix_seconds};

/// Attempts per delivery before it becomes a dead letter.
pub const MAX_ATTEMPTS: i64 = 5;
/// The backoff never exceeds this many times the base (60 s with the default 1 s base).
pub const MAX_BACKOFF_FACTOR: u64 = 60;
/// Deliveries in flight per instance.
pub const CONCURRENCY: usize = 16;
/// Dead-letter reason: every attempt failed with a retryable error.
pub const REASON_RETRIES_EXHAUSTED: &str = "retries_exhausted";
/// Dead-letter reason: the receiver answered a status that is not retried (4xx, 3xx).
pub const REASON_REJECTED: &str = "rejected_by_receiver";

/// Delivery settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Timeout of one attempt (connect, send, answer).
    pub timeout: Duration,
    /// First retry delay; doubles per attempt up to 60 times itself.
    pub retry_base: Duration,
    /// How often the outbox is polled when nothing wakes the worker.
    pub poll_interval: Duration,
    /// Consecutive retryable failures that open an endpoint's circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit stays open before one trial attempt.
    pub breaker_cooldown: Duration,
}

impl DeliveryConfig {
    /// How long a claim holds a row: the attempt timeout plus a margin. A worker that dies
    /// holding rows lets them become due again when this runs out.
    pub fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(5)
    }
}

/// The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed:
/// `base * 2^(attempt-1)`, at most `60 * base`, times a jitter factor in [0.8, 1.2)
/// (`jitter` in [0, 1)), never above the cap.
pub fn backoff(base: Duration, attempt: i64, jitter: f64) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let cap = base.saturating_mul(u32::try_from(MAX_BACKOFF_FACTOR).unwrap_or(60));
    let raw = base.saturating_mul(2u32.saturating_pow(exponent)).min(cap);
    raw.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0)).min(cap)
}

fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// How an answer (or its absence) is classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Delivered,
    /// 409 `duplicate_delivery`: an earlier attempt was accepted; counts as delivered.
    AlreadyDelivered,
    /// Network error, timeout, 408, 425, 429 or 5xx.
    Retryable,
    /// Any other status.
    Permanent,
}

/// Classifies an HTTP status (with the error code of a 409's body, if any).
pub fn classify(status: u16, error_code: Option<&str>) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        409 if error_code == Some("duplicate_delivery") => Verdict::AlreadyDelivered,
        408 | 425 | 429 | 500..=599 => Verdict::Retryable,
        _ => Verdict::Permanent,
    }
}

/// The error code of an answer body: `error` when a string (the webhook contract), else
/// `error.code` (the API envelope).
pub fn error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    match &value["error"] {
        serde_json::Value::String(code) => Some(code.clone()),
        other => other["code"].as_str().map(str::to_owned),
    }
}

/// State of one endpoint's circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Circuit {
    /// Deliveries flow; counts consecutive retryable failures.
    Closed(u32),
    /// Deliveries wait until the instant given.
    Open(Instant),
    /// One trial attempt is allowed (true while it is in flight).
    HalfOpen(bool),
}

impl Circuit {
    /// `closed`, `open` or `half_open`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Closed(_) => "closed",
            Self::Open(_) => "open",
            Self::HalfOpen(_) => "half_open",
        }
    }
}

/// Per-endpoint circuit breakers of this instance, so a dead endpoint's retries do not take
/// the delivery slots of healthy ones.
#[derive(Debug)]
pub struct CircuitBreakers {
    threshold: u32,
    cooldown: Duration,
    circuits: Mutex<HashMap<String, Circuit>>,
}

impl CircuitBreakers {
    /// Breakers that open after `threshold` consecutive failures for `cooldown`.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            circuits: Mutex::default(),
        }
    }

    /// The state of `endpoint`'s circuit.
    pub fn state(&self, endpoint: &str) -> Circuit {
        self.circuits
            .lock()
            .ok()
            .and_then(|c| c.get(endpoint).copied())
            .unwrap_or(Circuit::Closed(0))
    }

    /// May an attempt to `endpoint` start now? `Err(wait)` when not.
    pub fn admit(&self, endpoint: &str, now: Instant) -> Result<(), Duration> {
        let Ok(mut circuits) = self.circuits.lock() else {
            return Ok(());
        };
        let circuit = circuits
            .entry(endpoint.to_owned())
            .or_insert(Circuit::Closed(0));
        match *circuit {
            Circuit::Closed(_) | Circuit::HalfOpen(false) => {
                if *circuit == Circuit::HalfOpen(false) {
                    *circuit = Circuit::HalfOpen(true);
                }
                Ok(())
            }
            Circuit::Open(until) if now >= until => {
                *circuit = Circuit::HalfOpen(true);
                Ok(())
            }
            Circuit::Open(until) => Err(until - now),
            Circuit::HalfOpen(true) => Err(self.cooldown.min(Duration::from_secs(1))),
        }
    }

    /// The endpoint answered (any non-retryable answer): the circuit closes.
    pub fn success(&self, endpoint: &str) {
        if let Ok(mut circuits) = self.circuits.lock() {
            circuits.insert(endpoint.to_owned(), Circuit::Closed(0));
        }
    }

    /// A retryable failure: counts, and opens the circuit at the threshold or after a
    /// failed trial.
    pub fn failure(&self, endpoint: &str, now: Instant) {
        let Ok(mut circuits) = self.circuits.lock() else {
            return;
        };
        let circuit = circuits
            .entry(endpoint.to_owned())
            .or_insert(Circuit::Closed(0));
        *circuit = match *circuit {
            Circuit::Closed(failures) if failures + 1 < self.threshold => {
                Circuit::Closed(failures + 1)
            }
            _ => Circuit::Open(now + self.cooldown),
        };
    }
}

/// What the worker shares with its tasks.
#[derive(Debug)]
struct Worker {
    db: Db,
    metrics: Arc<Metrics>,
    config: DeliveryConfig,
    client: reqwest::Client,
    breakers: Arc<CircuitBreakers>,
    egress: Arc<crate::egress::EgressPolicy>,
}

/// Starts the delivery worker; it stops when `shutdown` becomes true, letting attempts in
/// flight finish.
pub fn spawn_worker(
    db: Db,
    metrics: Arc<Metrics>,
    config: DeliveryConfig,
    breakers: Arc<CircuitBreakers>,
    wakeup: Arc<Notify>,
    egress: Arc<crate::egress::EgressPolicy>,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Names resolve to the addresses the egress policy allows, and no others.
            .dns_resolver(Arc::new(crate::egress::PolicyResolver(egress.clone())))
            .user_agent(concat!("fluxora-server/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(error = %err, "cannot build the delivery client; deliveries stop");
                return;
            }
        };
        if db.backend == Backend::Sqlite {
            // One instance per SQLite file: a lease still held was held by a process that died.
            match outbox::release_all_leases(&db).await {
                Ok(0) => {}
                Ok(released) => tracing::info!(released, "released leases of a previous run"),
                Err(err) => tracing::warn!(error = %err, "cannot release old leases"),
            }
        }
        let worker = Arc::new(Worker {
            db,
            metrics,
            config,
            client,
            breakers,
            egress,
        });
        let owner = format!("wk_{}", random_hex(8));
        let slots = Arc::new(Semaphore::new(CONCURRENCY));
        let mut tasks = JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = slots.available_permits();
            let mut claimed_all = false;
            if free > 0 {
                let now = unix_millis();
                let lease = i64::try_from(config.lease().as_millis()).unwrap_or(60_000);
                match outbox::claim(&worker.db, &owner, now, now + lease, free as u32).await {
                    Ok(rows) => {
                        claimed_all = !rows.is_empty() && rows.len() == free;
                        for row in rows {
                            let Ok(permit) = slots.clone().acquire_owned().await else {
                                break;
                            };
                            let worker = worker.clone();
                            tasks.spawn(async move {
                                worker.deliver(row).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "claiming deliveries failed"),
                }
            }
            if claimed_all {
                // Every slot is busy: wait for one to free up.
                tokio::select! {
                    _ = shutdown.changed() => {}
                    _ = tasks.join_next() => {}
                }
                continue;
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                () = wakeup.notified() => {}
                () = tokio::time::sleep(config.poll_interval) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        tracing::info!("delivery worker stopped");
    })
}

impl Worker {
    async fn deliver(&self, row: Claimed) {
        let defer = |wait: Duration| {
            unix_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2)
        };
        let target = match endpoints::target(&self.db, &row.endpoint_id).await {
            Ok(Some(target)) if target.enabled => target,
            Ok(_) => {
                let _ = outbox::release(&self.db, &row.id, defer(self.config.poll_interval)).await;
                return;
            }
            Err(err) => {
                tracing::warn!(delivery_id = %row.id, error = %err, "cannot load the endpoint");
                let _ = outbox::release(&self.db, &row.id, defer(self.config.poll_interval)).await;
                return;
            }
        };
        if let Err(wait) = self.breakers.admit(&row.endpoint_id, Instant::now()) {
            let _ = outbox::release(&self.db, &row.id, defer(wait)).await;
            return;
        }
        let number = row.attempts + 1;
        let timestamp = unix_seconds().to_string();
        let signature = Signer::new(target.secret.as_bytes())
            .sign(timestamp.as_bytes(), row.payload.as_bytes());
        let at_ms = unix_millis();
        let started = Instant::now();
        // A literal IP host never goes through the resolver: the policy checks it here.
        let refused = reqwest::Url::parse(&target.url)
            .map_err(|_| crate::egress::Refusal::NoAllowedAddress)
            .and_then(|url| self.egress.check_url(&url))
            .err();
        let sent = match refused {
            Some(_) => None,
            None => Some(
                self.client
                    .post(target.url.as_str())
                    .header("content-type", "application/json")
                    .header(HEADER_DELIVERY_ID, row.id.as_str())
                    .header(HEADER_TIMESTAMP, timestamp.as_str())
                    .header(HEADER_SIGNATURE, signature.as_str())
                    .header(HEADER_EVENT, row.event_type.as_str())
                    .body(row.payload.clone())
                    .send()
                    .await,
            ),
        };
        let (status_code, verdict, outcome, error) = match sent {
            None => (
                None,
                Verdict::Permanent,
                "egress_refused",
                Some("egress_refused"),
            ),
            Some(Ok(mut response)) => {
                let status = response.status().as_u16();
                let code = if status == 409 {
                    let mut body = Vec::new();
                    while let Ok(Some(chunk)) = response.chunk().await {
                        body.extend_from_slice(&chunk);
                        if body.len() > 65_536 {
                            break;
                        }
                    }
                    error_code(&body)
                } else {
                    None
                };
                let verdict = classify(status, code.as_deref());
                let outcome = match verdict {
                    Verdict::Delivered => "delivered",
                    Verdict::AlreadyDelivered => "duplicate_delivery",
                    Verdict::Retryable => "retryable_status",
                    Verdict::Permanent => "permanent_status",
                };
                (Some(status), verdict, outcome, None)
            }
            Some(Err(err)) if err.is_timeout() => {
                (None, Verdict::Retryable, "timeout", Some("timeout"))
            }
            Some(Err(err)) if err.is_connect() => (
                None,
                Verdict::Retryable,
                "network_error",
                Some("connect_error"),
            ),
            Some(Err(_)) => (
                None,
                Verdict::Retryable,
                "network_error",
                Some("request_error"),
            ),
        };
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.metrics.record_delivery_attempt(outcome);
        let result = match verdict {
            Verdict::Delivered | Verdict::AlreadyDelivered => {
                self.breakers.success(&row.endpoint_id);
                AttemptResult::Delivered
            }
            Verdict::Permanent => {
                self.breakers.success(&row.endpoint_id);
                AttemptResult::Dead(REASON_REJECTED)
            }
            Verdict::Retryable => {
                self.breakers.failure(&row.endpoint_id, Instant::now());
                if number >= MAX_ATTEMPTS {
                    AttemptResult::Dead(REASON_RETRIES_EXHAUSTED)
                } else {
                    AttemptResult::Retry(defer(backoff(
                        self.config.retry_base,
                        number,
                        random_unit(),
                    )))
                }
            }
        };
        tracing::info!(
            delivery_id = %row.id,
            event_type = %row.event_type,
            attempt = number,
            status_code = status_code.map_or(0, i64::from),
            "webhook delivery attempt"
        );
        if let AttemptResult::Dead(reason) = &result {
            tracing::warn!(
                delivery_id = %row.id,
                event_type = %row.event_type,
                attempt = number,
                status_code = status_code.map_or(0, i64::from),
                reason,
                "webhook delivery dead-lettered"
            );
        }
        let attempt = Attempt {
            id: &row.id,
            number,
            at_ms,
            duration_ms,
            status_code,
            outcome,
            error,
            result,
        };
        if let Err(err) = outbox::record(&self.db, &attempt).await {
            // The lease runs out and the row is attempted again: at least once.
            tracing::warn!(delivery_id = %row.id, error = %err, "cannot record a delivery attempt");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let base = Duration::from_secs(1);
        assert_eq!(backoff(base, 1, 0.5), Duration::from_secs(1));
        assert_eq!(backoff(base, 2, 0.5), Duration::from_secs(2));
        assert_eq!(backoff(base, 4, 0.5), Duration::from_secs(8));
        assert_eq!(backoff(base, 7, 0.5), Duration::from_secs(60));
        assert_eq!(backoff(base, 40, 0.99), Duration::from_secs(60));
        assert_eq!(backoff(base, 1, 0.0), Duration::from_millis(800));
        assert!(backoff(base, 1, 0.999) < Duration::from_millis(1200));
    }

    #[test]
    fn classifies_answers() {
        assert_eq!(classify(200, None), Verdict::Delivered);
        assert_eq!(classify(204, None), Verdict::Delivered);
        for status in [408, 425, 429, 500, 502, 503, 599] {
            assert_eq!(classify(status, None), Verdict::Retryable, "{status}");
        }
        for status in [301, 400, 401, 403, 404, 409, 410, 413, 422] {
            assert_eq!(classify(status, None), Verdict::Permanent, "{status}");
        }
        assert_eq!(
            classify(409, Some("duplicate_delivery")),
            Verdict::AlreadyDelivered
        );
        assert_eq!(
            classify(409, Some("replayed_signature")),
            Verdict::Permanent
        );
        assert_eq!(
            error_code(br#"{"error":"duplicate_delivery","message":"Duplicate delivery id"}"#)
                .as_deref(),
            Some("duplicate_delivery")
        );
        assert_eq!(
            error_code(br#"{"success":false,"error":{"code":"duplicate_delivery"}}"#).as_deref(),
            Some("duplicate_delivery")
        );
        assert_eq!(error_code(b"not json"), None);
    }

    #[test]
    fn circuit_opens_half_opens_and_closes() {
        let breakers = CircuitBreakers::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..2 {
            breakers.failure("e", t0);
            assert_eq!(breakers.admit("e", t0), Ok(()));
        }
        breakers.failure("e", t0);
        assert_eq!(breakers.state("e").name(), "open");
        assert_eq!(breakers.admit("e", t0), Err(Duration::from_secs(10)));
        assert_eq!(breakers.admit("other", t0), Ok(()), "other endpoints flow");
        let later = t0 + Duration::from_secs(10);
        assert_eq!(breakers.admit("e", later), Ok(()), "one trial");
        assert_eq!(breakers.state("e"), Circuit::HalfOpen(true));
        assert!(
            breakers.admit("e", later).is_err(),
            "only one trial at a time"
        );
        breakers.failure("e", later);
        assert_eq!(breakers.state("e").name(), "open");
        let again = later + Duration::from_secs(10);
        assert_eq!(breakers.admit("e", again), Ok(()));
        breakers.success("e");
        assert_eq!(breakers.state("e"), Circuit::Closed(0));
    }
}
