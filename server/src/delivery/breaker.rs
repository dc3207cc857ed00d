//! The per-endpoint circuit breaker of this instance: closed, open for a cool-down after
//! consecutive retryable failures, then half-open for one probe.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

#[cfg(test)]
mod tests {
    use super::*;

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
