//! How many attempts may start now: this instance's free slots, overall and per endpoint.
//! The worker sizes each claim from it, so a claimed row never waits in memory for a slot
//! (its lease would run while it waited).

use std::collections::HashMap;
use std::sync::Mutex;

/// Attempts in flight, overall and per endpoint.
#[derive(Debug)]
pub(super) struct Capacity {
    global: usize,
    per_endpoint: usize,
    state: Mutex<InFlight>,
}

#[derive(Debug, Default)]
struct InFlight {
    total: usize,
    by_endpoint: HashMap<String, usize>,
}

/// What the next claim may take.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Plan {
    /// Rows to claim at most.
    pub(super) limit: usize,
    /// The endpoints with a free slot, each with its free slots.
    pub(super) endpoints: Vec<(String, usize)>,
}

impl Capacity {
    /// `global` slots, at most `per_endpoint` of them for one endpoint.
    pub(super) fn new(global: usize, per_endpoint: usize) -> Self {
        Self {
            global,
            per_endpoint: per_endpoint.max(1),
            state: Mutex::default(),
        }
    }

    /// The claim the free slots allow, given the enabled endpoints.
    pub(super) fn plan<'a>(&self, enabled: impl Iterator<Item = &'a String>) -> Plan {
        let Ok(state) = self.state.lock() else {
            return Plan {
                limit: 0,
                endpoints: Vec::new(),
            };
        };
        let mut spare = 0usize;
        let mut endpoints = Vec::new();
        for endpoint in enabled {
            let busy = state.by_endpoint.get(endpoint).copied().unwrap_or(0);
            let free = self.per_endpoint.saturating_sub(busy);
            spare = spare.saturating_add(free);
            if free > 0 {
                endpoints.push((endpoint.clone(), free));
            }
        }
        let limit = self.global.saturating_sub(state.total).min(spare);
        for (_, free) in &mut endpoints {
            *free = (*free).min(limit);
        }
        Plan { limit, endpoints }
    }

    /// The smallest claim worth a round trip while attempts are in flight: an eighth of
    /// the slots the enabled endpoints can use (so a saturated worker claims in batches,
    /// not row by row).
    pub(super) fn batch_floor(&self, enabled: usize) -> usize {
        (self.global.min(self.per_endpoint.saturating_mul(enabled)) / 8).max(1)
    }

    /// Takes a slot for an attempt to `endpoint`; false when it has none free.
    pub(super) fn take(&self, endpoint: &str) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        let busy = state.by_endpoint.get(endpoint).copied().unwrap_or(0);
        if state.total >= self.global || busy >= self.per_endpoint {
            return false;
        }
        state.total += 1;
        *state.by_endpoint.entry(endpoint.to_owned()).or_insert(0) += 1;
        true
    }

    /// Gives back the slot of a finished attempt to `endpoint`.
    pub(super) fn give_back(&self, endpoint: &str) {
        if let Ok(mut state) = self.state.lock() {
            state.total = state.total.saturating_sub(1);
            if let Some(busy) = state.by_endpoint.get_mut(endpoint) {
                *busy = busy.saturating_sub(1);
                if *busy == 0 {
                    state.by_endpoint.remove(endpoint);
                }
            }
        }
    }

    /// Attempts in flight.
    pub(super) fn in_flight(&self) -> usize {
        self.state.lock().map_or(0, |state| state.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_fit_the_free_slots_overall_and_per_endpoint() {
        let capacity = Capacity::new(5, 3);
        let endpoints = ["a".to_owned(), "b".to_owned()];
        assert_eq!(capacity.plan(endpoints.iter()).limit, 5);
        assert_eq!(capacity.plan(endpoints[..1].iter()).limit, 3);
        for _ in 0..3 {
            assert!(capacity.take("a"));
        }
        assert!(!capacity.take("a"), "a is full");
        let plan = capacity.plan(endpoints.iter());
        assert_eq!(
            plan,
            Plan {
                limit: 2,
                endpoints: vec![("b".to_owned(), 2)]
            }
        );
        assert!(capacity.take("b") && capacity.take("b"));
        assert!(!capacity.take("b"), "all five slots are taken");
        assert_eq!(capacity.plan(endpoints.iter()).limit, 0);
        capacity.give_back("a");
        assert_eq!(capacity.in_flight(), 4);
        assert_eq!(capacity.plan(endpoints.iter()).limit, 1);
        assert_eq!(capacity.batch_floor(1), 1);
        assert_eq!(Capacity::new(128, 32).batch_floor(10), 16);
    }
}
