//! A bounded replay store on the heap, for runtimes with an allocator (feature `alloc`).

use alloc::collections::{BTreeMap, BTreeSet};

use super::{
    DEFAULT_DELIVERY_RETENTION_SECONDS, ReplayEntry, ReplayGuard, ReplayVerdict, delivery_digest,
};

type SignatureKey = (u64, [u8; 32]);

/// One accepted delivery. Its slot is free once both its id and its pair have expired.
struct Slot {
    delivery: [u8; 32],
    signature: SignatureKey,
    delivery_expires_at: u64,
    signature_expires_at: u64,
}

impl Slot {
    fn free_after(&self) -> u64 {
        self.delivery_expires_at.max(self.signature_expires_at)
    }
}

/// A replay store for up to `capacity` deliveries, with the same semantics as
/// [`FixedReplayStore`](crate::FixedReplayStore) (delivery id first, then the
/// (timestamp, signature) pair, never evicting an unexpired entry) but indexed, so
/// lookups stay O(log n) at large capacities. Capacity is chosen at run time.
///
/// Not synchronised: wrap it in a mutex to share it between threads.
///
/// ```
/// use fluxora_webhooks::{DeliveryHeaders, MemoryReplayStore, Outcome, Verifier, sign};
///
/// let verifier = Verifier::new(b"topsecret");
/// let mut store = MemoryReplayStore::new(100_000);
/// let signature = sign(b"topsecret", b"1710000000", b"{}");
/// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
/// assert!(verifier.verify(&headers, b"{}", 1710000000, &mut store).is_ok());
/// let swapped = DeliveryHeaders::new("dlv_2", "1710000000", signature.as_str());
/// assert_eq!(
///     verifier.verify(&swapped, b"{}", 1710000000, &mut store),
///     Outcome::ReplayedSignature
/// );
/// ```
pub struct MemoryReplayStore {
    capacity: usize,
    delivery_retention_seconds: u64,
    next_slot: u64,
    slots: BTreeMap<u64, Slot>,
    by_delivery: BTreeMap<[u8; 32], u64>,
    by_signature: BTreeMap<SignatureKey, u64>,
    /// (last second the slot is live, slot), soonest first: what to free when full.
    expiries: BTreeSet<(u64, u64)>,
}

impl MemoryReplayStore {
    /// The capacity the runtime packages use when none is configured.
    ///
    /// ```
    /// use fluxora_webhooks::MemoryReplayStore;
    ///
    /// assert_eq!(MemoryReplayStore::DEFAULT_CAPACITY, 100_000);
    /// let store = MemoryReplayStore::default();
    /// assert_eq!(store.capacity(), MemoryReplayStore::DEFAULT_CAPACITY);
    /// ```
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// An empty store for `capacity` deliveries, remembering ids for the default 24 hours.
    ///
    /// ```
    /// use fluxora_webhooks::{DEFAULT_DELIVERY_RETENTION_SECONDS, MemoryReplayStore};
    ///
    /// let store = MemoryReplayStore::new(1_000);
    /// assert_eq!(store.capacity(), 1_000);
    /// assert_eq!(store.delivery_retention_seconds(), DEFAULT_DELIVERY_RETENTION_SECONDS);
    /// assert_eq!(store.live_entries(1_710_000_000), 0);
    /// ```
    pub fn new(capacity: usize) -> Self {
        Self::with_delivery_retention(capacity, DEFAULT_DELIVERY_RETENTION_SECONDS)
    }

    /// An empty store for `capacity` deliveries, remembering ids for `seconds` after acceptance.
    ///
    /// ```
    /// use fluxora_webhooks::{MemoryReplayStore, ReplayEntry, ReplayGuard, ReplayVerdict};
    ///
    /// let mut store = MemoryReplayStore::with_delivery_retention(4, 600);
    /// // Retries of one delivery keep its id but are signed afresh.
    /// let attempt = |at: u64, tag: u8| ReplayEntry {
    ///     delivery_id: b"dlv_1",
    ///     timestamp: at,
    ///     signature: [tag; 32],
    ///     now: at,
    ///     signature_expires_at: at + 300,
    /// };
    /// assert_eq!(store.check_and_record(&attempt(1_000, 1)), ReplayVerdict::Fresh);
    /// assert_eq!(store.check_and_record(&attempt(1_600, 2)), ReplayVerdict::DuplicateDelivery);
    /// assert_eq!(store.check_and_record(&attempt(1_601, 3)), ReplayVerdict::Fresh);
    /// ```
    pub fn with_delivery_retention(capacity: usize, seconds: u64) -> Self {
        Self {
            capacity,
            delivery_retention_seconds: seconds,
            next_slot: 0,
            slots: BTreeMap::new(),
            by_delivery: BTreeMap::new(),
            by_signature: BTreeMap::new(),
            expiries: BTreeSet::new(),
        }
    }

    /// The configured capacity.
    ///
    /// ```
    /// use fluxora_webhooks::{MemoryReplayStore, ReplayEntry, ReplayGuard, ReplayVerdict};
    ///
    /// let mut store = MemoryReplayStore::new(1);
    /// assert_eq!(store.capacity(), 1);
    /// let first = ReplayEntry {
    ///     delivery_id: b"dlv_1",
    ///     timestamp: 1_000,
    ///     signature: [1; 32],
    ///     now: 1_000,
    ///     signature_expires_at: 1_300,
    /// };
    /// assert_eq!(store.check_and_record(&first), ReplayVerdict::Fresh);
    /// let second = ReplayEntry { delivery_id: b"dlv_2", signature: [2; 32], ..first };
    /// assert_eq!(store.check_and_record(&second), ReplayVerdict::Full);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The configured delivery-id retention in seconds.
    ///
    /// ```
    /// use fluxora_webhooks::MemoryReplayStore;
    ///
    /// let store = MemoryReplayStore::with_delivery_retention(16, 3_600);
    /// assert_eq!(store.delivery_retention_seconds(), 3_600);
    /// assert_eq!(MemoryReplayStore::new(16).delivery_retention_seconds(), 86_400);
    /// ```
    pub fn delivery_retention_seconds(&self) -> u64 {
        self.delivery_retention_seconds
    }

    /// How many deliveries are still remembered at `now`.
    ///
    /// ```
    /// use fluxora_webhooks::{MemoryReplayStore, ReplayEntry, ReplayGuard, ReplayVerdict};
    ///
    /// let mut store = MemoryReplayStore::with_delivery_retention(4, 600);
    /// let entry = ReplayEntry {
    ///     delivery_id: b"dlv_1",
    ///     timestamp: 1_000,
    ///     signature: [7; 32],
    ///     now: 1_000,
    ///     signature_expires_at: 1_300,
    /// };
    /// assert_eq!(store.live_entries(1_000), 0);
    /// assert_eq!(store.check_and_record(&entry), ReplayVerdict::Fresh);
    /// assert_eq!(store.live_entries(1_600), 1); // the id is kept 600 s, inclusive
    /// assert_eq!(store.live_entries(1_601), 0);
    /// ```
    pub fn live_entries(&self, now: u64) -> usize {
        self.slots
            .values()
            .filter(|slot| now <= slot.free_after())
            .count()
    }

    fn live_slot(&self, slot: Option<&u64>, now: u64, expiry: impl Fn(&Slot) -> u64) -> bool {
        slot.and_then(|key| self.slots.get(key))
            .is_some_and(|slot| now <= expiry(slot))
    }

    /// Frees every slot whose id and pair have both expired; never an unexpired one.
    fn free_expired(&mut self, now: u64) {
        while let Some(&(free_after, key)) = self.expiries.first() {
            if now <= free_after {
                break;
            }
            self.expiries.pop_first();
            if let Some(slot) = self.slots.remove(&key) {
                // An id may have been accepted again into a newer slot: unlink only our own.
                if self.by_delivery.get(&slot.delivery) == Some(&key) {
                    self.by_delivery.remove(&slot.delivery);
                }
                if self.by_signature.get(&slot.signature) == Some(&key) {
                    self.by_signature.remove(&slot.signature);
                }
            }
        }
    }
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl ReplayGuard for MemoryReplayStore {
    fn check_and_record(&mut self, entry: &ReplayEntry<'_>) -> ReplayVerdict {
        let now = entry.now;
        let delivery = delivery_digest(entry.delivery_id);
        let signature = (entry.timestamp, entry.signature);
        if self.live_slot(self.by_delivery.get(&delivery), now, |s| {
            s.delivery_expires_at
        }) {
            return ReplayVerdict::DuplicateDelivery;
        }
        if self.live_slot(self.by_signature.get(&signature), now, |s| {
            s.signature_expires_at
        }) {
            return ReplayVerdict::ReplayedSignature;
        }
        if self.slots.len() >= self.capacity {
            self.free_expired(now);
            if self.slots.len() >= self.capacity {
                return ReplayVerdict::Full;
            }
        }
        let key = self.next_slot;
        self.next_slot += 1;
        let slot = Slot {
            delivery,
            signature,
            delivery_expires_at: now.saturating_add(self.delivery_retention_seconds),
            signature_expires_at: entry.signature_expires_at,
        };
        self.expiries.insert((slot.free_after(), key));
        self.by_delivery.insert(delivery, key);
        self.by_signature.insert(signature, key);
        self.slots.insert(key, slot);
        ReplayVerdict::Fresh
    }
}

impl core::fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("capacity", &self.capacity)
            .field(
                "delivery_retention_seconds",
                &self.delivery_retention_seconds,
            )
            .field("entries", &self.slots.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedReplayStore;
    use crate::replay::tests::entry;
    use proptest::prelude::*;

    proptest! {
        /// Same answers as the fixed store, whatever the sequence of deliveries.
        #[test]
        fn answers_like_the_fixed_store(
            steps in prop::collection::vec((0u8..6, 0u8..4, 0u64..3, 0u64..400), 1..60),
            retention in 0u64..700,
        ) {
            let mut fixed = FixedReplayStore::<4>::with_delivery_retention(retention);
            let mut memory = MemoryReplayStore::with_delivery_retention(4, retention);
            let mut now = 1_000;
            for (id, tag, timestamp_shift, advance) in steps {
                now += advance;
                let id = [id];
                let entry = entry(&id, now - timestamp_shift, tag, now);
                prop_assert_eq!(memory.check_and_record(&entry), fixed.check_and_record(&entry));
                prop_assert_eq!(memory.live_entries(now), fixed.live_entries(now));
            }
        }
    }
}
