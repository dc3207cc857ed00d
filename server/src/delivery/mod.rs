//! Outbound webhook delivery: the [worker](worker) that drains the outbox, the retry
//! schedule, the per-endpoint [circuit breaker](breaker) and the classification of answers.
//!
//! The worker is a pipeline: it claims due rows in batches (bounded by the free
//! [capacity](capacity), global and per endpoint), runs each [attempt](attempt) on its
//! endpoint's kept-alive [client](clients), and hands the outcome to the
//! [recorder](recorder), which writes finished attempts many per transaction.
//!
//! Every attempt is signed afresh with the core (`Signer`): a new `x-fluxora-timestamp`, the
//! same `x-fluxora-delivery-id`. Logs name only the delivery id, the event type, the attempt
//! number and the status code: never the URL, the payload, the signature or the secret.

mod attempt;
mod breaker;
mod capacity;
mod clients;
mod recorder;
mod resilience;
mod shared;
mod worker;

use std::time::Duration;

pub use breaker::{Circuit, CircuitBreakers};
pub use resilience::Resilience;
pub use shared::{SharedResilience, consumer_key};
pub use worker::spawn_worker;

/// Attempts per delivery before it becomes a dead letter.
pub const MAX_ATTEMPTS: i64 = 5;
/// The backoff never exceeds this many times the base (60 s with the default 1 s base).
pub const MAX_BACKOFF_FACTOR: u64 = 60;
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
    /// Retries per consumer per second (`WEBHOOK_RETRY_RPS`), across instances with Redis.
    pub retry_rps: u32,
    /// Attempts in flight on this instance (`WEBHOOK_CONCURRENCY`; 0: no delivery here).
    pub concurrency: usize,
    /// Attempts in flight to one endpoint on this instance (`WEBHOOK_ENDPOINT_CONCURRENCY`).
    pub endpoint_concurrency: usize,
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
}
