//! A verified delivery held in an in-memory store until the application settles it: the
//! state machine behind every runtime's `Reservation` object (reserve once, then commit or
//! release once).

use fluxora_webhooks::{
    MemoryReplayStore, Outcome, ReplayReservations, ReplayVerdict, Reservation,
};

use crate::replay::Accepted;

/// Access to a runtime's shared in-memory store (a mutex in Node, a `RefCell` in wasm).
pub trait StoreHandle: Clone {
    /// Runs `f` with the store borrowed mutably.
    fn with<R>(&self, f: impl FnOnce(&mut MemoryReplayStore) -> R) -> R;
}

enum Hold<S> {
    /// Nothing to settle: verification failed, or the verifier keeps no store.
    Nothing,
    /// Reserved in the store, until settled.
    Store(S, Reservation),
    /// Committed or released already.
    Settled,
}

/// A verification's answer and, when it passed, its reservation.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use fluxora_webhooks_facade::{Holding, ReceivedHeaders, StoreHandle, Verifier};
/// use fluxora_webhooks_facade::core::{MemoryReplayStore, sign};
///
/// #[derive(Clone)]
/// struct Shared(Rc<RefCell<MemoryReplayStore>>);
/// impl StoreHandle for Shared {
///     fn with<R>(&self, f: impl FnOnce(&mut MemoryReplayStore) -> R) -> R {
///         f(&mut self.0.borrow_mut())
///     }
/// }
///
/// let store = Shared(Rc::new(RefCell::new(MemoryReplayStore::new(8))));
/// let verifier = Verifier::with_secret(b"topsecret");
/// let signature = sign(b"topsecret", b"1710000000", b"{}");
/// let headers = ReceivedHeaders::from_pairs([
///     ("x-fluxora-delivery-id", "dlv_1"),
///     ("x-fluxora-timestamp", "1710000000"),
///     ("x-fluxora-signature", signature.as_str()),
/// ]);
/// let accepted = verifier.check(&headers, b"{}", 1_710_000_000).unwrap();
/// let mut first = Holding::reserve(&accepted, &store, 60);
/// assert!(first.outcome().is_ok());
/// let second = Holding::reserve(&accepted, &store, 60);
/// assert_eq!(second.outcome().code(), "delivery_in_progress");
/// assert!(first.commit(1_710_000_001));
/// assert!(!first.release(1_710_000_001), "settled once");
/// ```
pub struct Holding<S> {
    outcome: Outcome,
    delivery_id: Option<String>,
    hold: Hold<S>,
}

impl<S: StoreHandle> Holding<S> {
    /// Verification failed before the replay step: nothing is held.
    #[must_use]
    pub fn failed(outcome: Outcome) -> Self {
        Self {
            outcome,
            delivery_id: None,
            hold: Hold::Nothing,
        }
    }

    /// Verified, with no store to hold it in (`replay: false`): settling succeeds trivially.
    #[must_use]
    pub fn unheld(accepted: &Accepted) -> Self {
        Self {
            outcome: accepted.conclude(ReplayVerdict::Fresh),
            delivery_id: Some(accepted.delivery_id_text()),
            hold: Hold::Nothing,
        }
    }

    /// Verified: reserves it in `store` for `lease_seconds`, or answers the store's verdict.
    #[must_use]
    pub fn reserve(accepted: &Accepted, store: &S, lease_seconds: u64) -> Self {
        match store.with(|memory| accepted.reserve(memory, lease_seconds)) {
            Ok(reservation) => Self {
                outcome: accepted.conclude(ReplayVerdict::Fresh),
                delivery_id: Some(accepted.delivery_id_text()),
                hold: Hold::Store(store.clone(), reservation),
            },
            Err(outcome) => Self::failed(outcome),
        }
    }

    /// The verification's answer (ok when the delivery is held for the application).
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The delivery id, when the delivery verified.
    #[must_use]
    pub fn delivery_id(&self) -> Option<&str> {
        self.delivery_id.as_deref()
    }

    fn settle(
        &mut self,
        now: u64,
        settle: fn(&mut MemoryReplayStore, &Reservation, u64) -> bool,
    ) -> bool {
        match core::mem::replace(&mut self.hold, Hold::Settled) {
            Hold::Store(store, reservation) => {
                store.with(|memory| settle(memory, &reservation, now))
            }
            Hold::Nothing => {
                self.hold = Hold::Nothing;
                self.outcome.is_ok()
            }
            Hold::Settled => false,
        }
    }

    /// The application handled the delivery: every later attempt is a duplicate. False when
    /// nothing was held, it was settled already, or its lease had run out.
    pub fn commit(&mut self, now: u64) -> bool {
        self.settle(now, |memory, reservation, now| {
            memory.commit(reservation, now)
        })
    }

    /// The application failed: the id is free again for the sender's retry. False when
    /// nothing was held, it was settled already, or its lease had run out.
    pub fn release(&mut self, now: u64) -> bool {
        self.settle(now, |memory, reservation, now| {
            memory.release(reservation, now)
        })
    }
}
