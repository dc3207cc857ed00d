//! What decides whether an attempt to a consumer may start now: its circuit and, for
//! retries, its retry rate. Shared through Redis when `REDIS_URL` is set ([`super::shared`]),
//! this instance's own otherwise (and whenever Redis does not answer). Every circuit change
//! is counted in `fluxora_webhook_circuit_breaker_transitions_total`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::breaker::CircuitBreakers;
use super::shared::SharedResilience;
use crate::metrics::Metrics;

/// This instance's retry rate per consumer: at most `per_second` retries in each second.
#[derive(Debug, Default)]
struct LocalRetryRate {
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

impl LocalRetryRate {
    fn wait(&self, consumer: &str, per_second: u32, now_ms: u64) -> Duration {
        let Ok(mut windows) = self.windows.lock() else {
            return Duration::ZERO;
        };
        let second = now_ms / 1000;
        if windows.len() > 10_000 {
            windows.retain(|_, (s, _)| *s == second);
        }
        let window = windows.entry(consumer.to_owned()).or_insert((second, 0));
        if window.0 != second {
            *window = (second, 0);
        }
        window.1 += 1;
        if window.1 <= per_second {
            Duration::ZERO
        } else {
            Duration::from_millis(1000 - now_ms % 1000)
        }
    }
}

/// The circuits and retry rates of the consumers.
#[derive(Debug)]
pub struct Resilience {
    local: CircuitBreakers,
    shared: Option<SharedResilience>,
    rate: LocalRetryRate,
    retry_rps: u32,
    metrics: Arc<Metrics>,
}

impl Resilience {
    /// `local` breakers, the optional shared ones, `retry_rps` retries per consumer per second.
    pub fn new(
        local: CircuitBreakers,
        shared: Option<SharedResilience>,
        retry_rps: u32,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            local,
            shared,
            rate: LocalRetryRate::default(),
            retry_rps: retry_rps.max(1),
            metrics,
        }
    }

    fn record(&self, transition: Option<(String, String)>) {
        if let Some((from, to)) = transition {
            tracing::info!(from = %from, to = %to, "consumer circuit changed");
            self.metrics.record_breaker_transition(&from, &to);
        }
    }

    /// Runs `op` on the local breaker of `endpoint`, counting a state change.
    fn local_op(&self, endpoint: &str, op: impl FnOnce(&CircuitBreakers)) {
        let before = self.local.state(endpoint).name();
        op(&self.local);
        let after = self.local.state(endpoint).name();
        self.record((before != after).then(|| (before.to_owned(), after.to_owned())));
    }

    fn shared_failed(&self, err: &str) {
        tracing::warn!(error = %err, "shared breaker unavailable; this instance decides alone");
    }

    /// May an attempt to the consumer at `url` (endpoint `endpoint`) start now? A retry also
    /// takes a token of the consumer's retry rate. `Err(wait)` when not.
    pub async fn admit(&self, endpoint: &str, url: &str, retry: bool) -> Result<(), Duration> {
        if retry {
            let wait = match &self.shared {
                Some(shared) => match shared.retry_wait(url).await {
                    Ok(wait) => wait,
                    Err(err) => {
                        self.shared_failed(&err);
                        self.rate.wait(url, self.retry_rps, unix_ms())
                    }
                },
                None => self.rate.wait(url, self.retry_rps, unix_ms()),
            };
            if !wait.is_zero() {
                return Err(wait);
            }
        }
        if let Some(shared) = &self.shared {
            match shared.breaker("admit", url).await {
                Ok(decision) => {
                    self.record(decision.transition);
                    return if decision.allowed {
                        Ok(())
                    } else {
                        Err(decision.wait)
                    };
                }
                Err(err) => self.shared_failed(&err),
            }
        }
        let before = self.local.state(endpoint).name();
        let admitted = self.local.admit(endpoint, Instant::now());
        let after = self.local.state(endpoint).name();
        self.record((before != after).then(|| (before.to_owned(), after.to_owned())));
        admitted
    }

    /// The consumer answered: its circuit closes.
    pub async fn success(&self, endpoint: &str, url: &str) {
        self.settle("success", endpoint, url).await;
    }

    /// A retryable failure of the consumer.
    pub async fn failure(&self, endpoint: &str, url: &str) {
        self.settle("failure", endpoint, url).await;
    }

    async fn settle(&self, op: &str, endpoint: &str, url: &str) {
        if let Some(shared) = &self.shared {
            match shared.breaker(op, url).await {
                Ok(decision) => return self.record(decision.transition),
                Err(err) => self.shared_failed(&err),
            }
        }
        if op == "success" {
            self.local_op(endpoint, |local| local.success(endpoint));
        } else {
            self.local_op(endpoint, |local| local.failure(endpoint, Instant::now()));
        }
    }

    /// Whether the shared store answers; `None` when there is none.
    pub async fn shared_ok(&self) -> Option<bool> {
        match &self.shared {
            Some(shared) => Some(shared.ping().await),
            None => None,
        }
    }

    /// The circuit's state as the admin API shows it: the shared one when configured.
    pub async fn state_name(&self, endpoint: &str, url: &str) -> String {
        if let Some(shared) = &self.shared
            && let Ok(state) = shared.state(url).await
        {
            return state;
        }
        self.local.state(endpoint).name().to_owned()
    }
}

fn unix_ms() -> u64 {
    u64::try_from(crate::util::unix_millis()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_retry_rate_allows_so_many_per_second() {
        let rate = LocalRetryRate::default();
        for _ in 0..3 {
            assert_eq!(rate.wait("c", 3, 5_250), Duration::ZERO);
        }
        assert_eq!(rate.wait("c", 3, 5_400), Duration::from_millis(600));
        assert_eq!(rate.wait("other", 3, 5_400), Duration::ZERO);
        assert_eq!(rate.wait("c", 3, 6_000), Duration::ZERO, "a new second");
    }

    #[tokio::test]
    async fn local_transitions_are_counted() {
        let metrics = Arc::new(Metrics::default());
        let resilience = Resilience::new(
            CircuitBreakers::new(1, Duration::from_secs(60)),
            None,
            10,
            metrics.clone(),
        );
        resilience.failure("e", "http://127.0.0.1:9/").await;
        assert!(
            resilience
                .admit("e", "http://127.0.0.1:9/", false)
                .await
                .is_err()
        );
        resilience.success("e", "http://127.0.0.1:9/").await;
        let text = metrics.render(true);
        assert!(text.contains(
            r#"fluxora_webhook_circuit_breaker_transitions_total{from="closed",to="open"} 1"#
        ));
        assert!(text.contains(
            r#"fluxora_webhook_circuit_breaker_transitions_total{from="open",to="closed"} 1"#
        ));
    }
}
