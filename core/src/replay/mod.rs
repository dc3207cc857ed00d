//! Replay protection: remembering accepted deliveries, consulted only after a signature matched.

mod fixed;
#[cfg(feature = "alloc")]
mod memory;

pub use fixed::FixedReplayStore;
#[cfg(feature = "alloc")]
pub use memory::MemoryReplayStore;

use sha2::{Digest, Sha256};

use crate::outcome::Outcome;

/// How long an accepted delivery id is remembered by default: 24 hours.
///
/// ```
/// use fluxora_webhooks::{DEFAULT_DELIVERY_RETENTION_SECONDS, FixedReplayStore};
/// use fluxora_webhooks::{ReplayEntry, ReplayGuard, ReplayVerdict};
///
/// assert_eq!(DEFAULT_DELIVERY_RETENTION_SECONDS, 24 * 60 * 60);
/// let mut store = FixedReplayStore::<1>::new();
/// let entry = ReplayEntry {
///     delivery_id: b"dlv_1",
///     timestamp: 1_000,
///     signature: [7; 32],
///     now: 1_000,
///     signature_expires_at: 1_300,
/// };
/// assert_eq!(store.check_and_record(&entry), ReplayVerdict::Fresh);
/// assert_eq!(store.live_entries(1_000 + DEFAULT_DELIVERY_RETENTION_SECONDS), 1);
/// assert_eq!(store.live_entries(1_001 + DEFAULT_DELIVERY_RETENTION_SECONDS), 0);
/// ```
pub const DEFAULT_DELIVERY_RETENTION_SECONDS: u64 = 86_400;

/// One accepted delivery, offered to a [`ReplayGuard`] to check and record.
///
/// The guard is only consulted after the signature matched, so unsigned input can
/// never change what a store holds.
///
/// ```
/// use fluxora_webhooks::{DeliveryHeaders, Verifier, sign};
/// use fluxora_webhooks::{ReplayEntry, ReplayGuard, ReplayVerdict};
///
/// /// Remembers what the verifier offered it.
/// #[derive(Default)]
/// struct Spy(Vec<(Vec<u8>, u64, u64, u64)>);
/// impl ReplayGuard for Spy {
///     fn check_and_record(&mut self, entry: &ReplayEntry<'_>) -> ReplayVerdict {
///         let id = entry.delivery_id.to_vec();
///         self.0.push((id, entry.timestamp, entry.now, entry.signature_expires_at));
///         ReplayVerdict::Fresh
///     }
/// }
///
/// let verifier = Verifier::new(b"topsecret").with_tolerance_seconds(300);
/// let signature = sign(b"topsecret", b"1710000000", b"{}");
/// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
/// let mut spy = Spy::default();
/// assert!(verifier.verify(&headers, b"{}", 1_710_000_060, &mut spy).is_ok());
/// let offered = (b"dlv_1".to_vec(), 1_710_000_000, 1_710_000_060, 1_710_000_300);
/// assert_eq!(spy.0, [offered]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayEntry<'a> {
    /// The delivery id header, as received (not signed).
    pub delivery_id: &'a [u8],
    /// The parsed, signed timestamp.
    pub timestamp: u64,
    /// The decoded signature (canonical: the same for upper- and lowercase headers).
    pub signature: [u8; 32],
    /// The verification time, in Unix seconds.
    pub now: u64,
    /// Until when (inclusive) the (timestamp, signature) pair must be remembered:
    /// `timestamp + tolerance`; after that the freshness check rejects it anyway.
    pub signature_expires_at: u64,
}

/// What a [`ReplayGuard`] decided about a [`ReplayEntry`].
///
/// ```
/// use fluxora_webhooks::{FixedReplayStore, ReplayEntry, ReplayGuard, ReplayVerdict};
///
/// let mut store = FixedReplayStore::<1>::new();
/// let entry = ReplayEntry {
///     delivery_id: b"dlv_1",
///     timestamp: 1_710_000_000,
///     signature: [7; 32],
///     now: 1_710_000_000,
///     signature_expires_at: 1_710_000_300,
/// };
/// assert_eq!(store.check_and_record(&entry), ReplayVerdict::Fresh);
/// assert_eq!(store.check_and_record(&entry), ReplayVerdict::DuplicateDelivery);
/// let other = ReplayEntry { delivery_id: b"dlv_2", ..entry };
/// assert_eq!(store.check_and_record(&other), ReplayVerdict::ReplayedSignature);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayVerdict {
    /// Never seen: now recorded.
    Fresh,
    /// The delivery id was already accepted.
    DuplicateDelivery,
    /// The same (timestamp, signature) was accepted under another delivery id.
    ReplayedSignature,
    /// No room to record the delivery without forgetting an unexpired one.
    Full,
    /// The delivery id is reserved by an attempt still being processed (two-phase replay).
    InProgress,
}

impl ReplayVerdict {
    /// Step 9: the outcome of a delivery whose signature matched, given this verdict.
    ///
    /// ```
    /// use fluxora_webhooks::{Outcome, ReplayVerdict};
    ///
    /// assert_eq!(ReplayVerdict::Fresh.outcome(true), Outcome::Verified { used_previous_secret: true });
    /// assert_eq!(ReplayVerdict::Full.outcome(false), Outcome::ConsumerOverloaded);
    /// ```
    pub const fn outcome(self, used_previous_secret: bool) -> Outcome {
        match self {
            Self::Fresh => Outcome::Verified {
                used_previous_secret,
            },
            Self::DuplicateDelivery => Outcome::DuplicateDelivery,
            Self::ReplayedSignature => Outcome::ReplayedSignature,
            Self::Full => Outcome::ConsumerOverloaded,
            Self::InProgress => Outcome::DeliveryInProgress,
        }
    }
}

/// Check-and-record of accepted deliveries, as one atomic step.
///
/// Implementations must check the delivery id first, then the (timestamp, signature)
/// pair, and must never evict an unexpired entry to make room: answer
/// [`ReplayVerdict::Full`] instead.
///
/// ```
/// use fluxora_webhooks::{ReplayEntry, ReplayGuard, ReplayVerdict};
///
/// /// A guard that trusts an external "seen" flag, e.g. a database lookup.
/// struct AlwaysSeen;
/// impl ReplayGuard for AlwaysSeen {
///     fn check_and_record(&mut self, _entry: &ReplayEntry<'_>) -> ReplayVerdict {
///         ReplayVerdict::DuplicateDelivery
///     }
/// }
/// ```
pub trait ReplayGuard {
    /// Checks the entry against what was accepted before and, when fresh, records it.
    fn check_and_record(&mut self, entry: &ReplayEntry<'_>) -> ReplayVerdict;
}

impl<G: ReplayGuard + ?Sized> ReplayGuard for &mut G {
    fn check_and_record(&mut self, entry: &ReplayEntry<'_>) -> ReplayVerdict {
        (**self).check_and_record(entry)
    }
}

/// How long a reservation holds a delivery id by default: 60 seconds, enough for a handler
/// to answer; a reservation neither committed nor released (the process died) expires then.
///
/// ```
/// assert_eq!(fluxora_webhooks::DEFAULT_RESERVATION_LEASE_SECONDS, 60);
/// ```
pub const DEFAULT_RESERVATION_LEASE_SECONDS: u64 = 60;

/// Two-phase replay protection: at-least-once end to end.
///
/// Recording a delivery the moment its signature matches loses it whenever the application
/// then fails (the sender's retry would get `duplicate_delivery`, which senders record as
/// delivered). So the replay step is a reservation: [`reserve`](Self::reserve) holds the
/// delivery id (and its (timestamp, signature) pair) for a lease; the application then
/// [`commit`](Self::commit)s it (it handled the delivery) or [`release`](Self::release)s it
/// (it failed: the retry is processed again). A reservation neither committed nor released
/// expires with its lease and frees the id and the pair. While an id is reserved, another
/// attempt of the same delivery gets [`ReplayVerdict::InProgress`] (429, retry later).
///
/// The one-step [`ReplayGuard::check_and_record`] of the same store is a reservation
/// committed at once.
///
/// ```
/// use fluxora_webhooks::{FixedReplayStore, ReplayEntry, ReplayReservations, ReplayVerdict};
///
/// let mut store = FixedReplayStore::<4>::new();
/// let entry = ReplayEntry { delivery_id: b"dlv_1", timestamp: 1_000, signature: [7; 32], now: 1_000, signature_expires_at: 1_300 };
/// let held = store.reserve(&entry, 60).unwrap();
/// assert_eq!(store.reserve(&entry, 60).err(), Some(ReplayVerdict::InProgress));
/// assert!(store.release(&held, 1_000)); // the handler failed: the retry is processed again
/// let retry = store.reserve(&entry, 60).unwrap();
/// assert!(store.commit(&retry, 1_001)); // handled: every later attempt is a duplicate
/// assert_eq!(store.reserve(&entry, 60).err(), Some(ReplayVerdict::DuplicateDelivery));
/// ```
pub trait ReplayReservations {
    /// What identifies one reservation to [`commit`](Self::commit) and
    /// [`release`](Self::release).
    type Reservation;

    /// Checks the entry like [`ReplayGuard::check_and_record`] (id, then pair, then room;
    /// a reserved id is [`ReplayVerdict::InProgress`]) and, when fresh, reserves it until
    /// `entry.now + lease_seconds`.
    fn reserve(
        &mut self,
        entry: &ReplayEntry<'_>,
        lease_seconds: u64,
    ) -> Result<Self::Reservation, ReplayVerdict>;

    /// Records the reserved delivery as accepted at `now` (the id is then remembered for the
    /// store's retention). False when the reservation was lost: its lease had run out by
    /// `now` (the id and pair were free for another attempt from then on).
    fn commit(&mut self, reservation: &Self::Reservation, now: u64) -> bool;

    /// Forgets the reservation, so the next attempt is processed again. False when it was
    /// already lost (released, or its lease had run out by `now`).
    fn release(&mut self, reservation: &Self::Reservation, now: u64) -> bool;
}

/// A reservation in one of the core's stores: which delivery, which attempt, and until when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    delivery: [u8; 32],
    token: u64,
    lease_until: u64,
}

impl Reservation {
    /// The last second (inclusive) the reservation holds the delivery id.
    ///
    /// ```
    /// use fluxora_webhooks::{FixedReplayStore, ReplayEntry, ReplayReservations};
    ///
    /// let mut store = FixedReplayStore::<1>::new();
    /// let entry = ReplayEntry { delivery_id: b"d", timestamp: 10, signature: [1; 32], now: 10, signature_expires_at: 310 };
    /// assert_eq!(store.reserve(&entry, 60).unwrap().lease_until(), 70);
    /// ```
    pub fn lease_until(&self) -> u64 {
        self.lease_until
    }
}

/// A guard that remembers nothing: every signed delivery is fresh.
///
/// For receivers that de-duplicate elsewhere (for instance in their database).
///
/// ```
/// use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Verifier, sign};
///
/// let verifier = Verifier::new(b"topsecret");
/// let signature = sign(b"topsecret", b"1710000000", b"{}");
/// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
/// assert!(verifier.verify(&headers, b"{}", 1710000000, &mut NoReplayGuard).is_ok());
/// assert!(verifier.verify(&headers, b"{}", 1710000000, &mut NoReplayGuard).is_ok());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoReplayGuard;

impl ReplayGuard for NoReplayGuard {
    fn check_and_record(&mut self, _entry: &ReplayEntry<'_>) -> ReplayVerdict {
        ReplayVerdict::Fresh
    }
}

/// Delivery ids are remembered by digest, so ids of any length take a fixed size.
pub(crate) fn delivery_digest(delivery_id: &[u8]) -> [u8; 32] {
    Sha256::digest(delivery_id).into()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::ReplayEntry;

    /// An accepted delivery whose signature is `tag` repeated, signed `timestamp`.
    pub(crate) fn entry(id: &[u8], timestamp: u64, tag: u8, now: u64) -> ReplayEntry<'_> {
        ReplayEntry {
            delivery_id: id,
            timestamp,
            signature: [tag; 32],
            now,
            signature_expires_at: timestamp + 300,
        }
    }
}
