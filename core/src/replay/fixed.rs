//! A fixed-capacity, allocation-free replay store.

use super::{
    DEFAULT_DELIVERY_RETENTION_SECONDS, ReplayEntry, ReplayGuard, ReplayVerdict, delivery_digest,
};

#[derive(Clone, Copy, Default)]
struct Slot {
    delivery_digest: [u8; 32],
    signature: [u8; 32],
    timestamp: u64,
    delivery_expires_at: u64,
    signature_expires_at: u64,
    occupied: bool,
}

impl Slot {
    fn delivery_live(&self, now: u64) -> bool {
        self.occupied && now <= self.delivery_expires_at
    }

    fn signature_live(&self, now: u64) -> bool {
        self.occupied && now <= self.signature_expires_at
    }

    fn is_free(&self, now: u64) -> bool {
        !self.delivery_live(now) && !self.signature_live(now)
    }
}

/// A fixed-capacity, allocation-free replay store for `CAPACITY` deliveries.
///
/// Delivery ids are kept as SHA-256 digests, so ids of any length fit a fixed slot.
/// Expired entries are reused; unexpired ones are never evicted, so a full store
/// answers [`ReplayVerdict::Full`] (`consumer_overloaded`). Lookups scan every slot:
/// meant for small capacities on constrained targets; runtimes with an allocator
/// provide hashed stores on the same trait.
///
/// ```
/// use fluxora_webhooks::{DeliveryHeaders, FixedReplayStore, Outcome, Verifier, sign};
///
/// let verifier = Verifier::new(b"topsecret");
/// let mut store = FixedReplayStore::<64>::new();
/// let body = b"{}";
/// let signature = sign(b"topsecret", b"1710000000", body);
/// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
///
/// assert!(verifier.verify(&headers, body, 1710000000, &mut store).is_ok());
/// assert_eq!(
///     verifier.verify(&headers, body, 1710000000, &mut store),
///     Outcome::DuplicateDelivery
/// );
/// ```
#[derive(Clone)]
pub struct FixedReplayStore<const CAPACITY: usize> {
    slots: [Slot; CAPACITY],
    delivery_retention_seconds: u64,
}

impl<const CAPACITY: usize> FixedReplayStore<CAPACITY> {
    /// An empty store remembering delivery ids for the default 24 hours.
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, FixedReplayStore, Outcome, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"topsecret");
    /// let mut store = FixedReplayStore::<1>::new();
    /// let mut deliver = |id: &str, body: &[u8]| {
    ///     let signature = sign(b"topsecret", b"1710000000", body);
    ///     let headers = DeliveryHeaders::new(id, "1710000000", signature.as_str());
    ///     verifier.verify(&headers, body, 1_710_000_000, &mut store)
    /// };
    /// assert!(deliver("dlv_1", b"{}").is_ok());
    /// // One slot, still live: the next delivery is refused rather than evicting it.
    /// assert_eq!(deliver("dlv_2", b"[]"), Outcome::ConsumerOverloaded);
    /// ```
    pub fn new() -> Self {
        Self::with_delivery_retention(DEFAULT_DELIVERY_RETENTION_SECONDS)
    }

    /// An empty store remembering delivery ids for `seconds` after acceptance.
    ///
    /// ```
    /// use fluxora_webhooks::{FixedReplayStore, ReplayEntry, ReplayGuard, ReplayVerdict};
    ///
    /// let mut store = FixedReplayStore::<4>::with_delivery_retention(600);
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
    pub fn with_delivery_retention(seconds: u64) -> Self {
        Self {
            slots: [Slot::default(); CAPACITY],
            delivery_retention_seconds: seconds,
        }
    }

    /// How many entries are still remembered at `now`.
    ///
    /// ```
    /// use fluxora_webhooks::{FixedReplayStore, ReplayEntry, ReplayGuard, ReplayVerdict};
    ///
    /// let mut store = FixedReplayStore::<4>::with_delivery_retention(600);
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
        self.slots.iter().filter(|slot| !slot.is_free(now)).count()
    }
}

impl<const CAPACITY: usize> Default for FixedReplayStore<CAPACITY> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const CAPACITY: usize> core::fmt::Debug for FixedReplayStore<CAPACITY> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FixedReplayStore")
            .field("capacity", &CAPACITY)
            .field(
                "delivery_retention_seconds",
                &self.delivery_retention_seconds,
            )
            .finish_non_exhaustive()
    }
}

impl<const CAPACITY: usize> ReplayGuard for FixedReplayStore<CAPACITY> {
    fn check_and_record(&mut self, entry: &ReplayEntry<'_>) -> ReplayVerdict {
        let now = entry.now;
        let digest = delivery_digest(entry.delivery_id);
        let mut replayed = false;
        let mut free = None;
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.delivery_live(now) && slot.delivery_digest == digest {
                return ReplayVerdict::DuplicateDelivery;
            }
            replayed |= slot.signature_live(now)
                && slot.timestamp == entry.timestamp
                && slot.signature == entry.signature;
            if free.is_none() && slot.is_free(now) {
                free = Some(index);
            }
        }
        if replayed {
            return ReplayVerdict::ReplayedSignature;
        }
        let Some(index) = free else {
            return ReplayVerdict::Full;
        };
        self.slots[index] = Slot {
            delivery_digest: digest,
            signature: entry.signature,
            timestamp: entry.timestamp,
            delivery_expires_at: now.saturating_add(self.delivery_retention_seconds),
            signature_expires_at: entry.signature_expires_at,
            occupied: true,
        };
        ReplayVerdict::Fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::tests::entry;

    #[test]
    fn checks_id_then_signature_then_room() {
        let mut store = FixedReplayStore::<2>::new();
        assert_eq!(
            store.check_and_record(&entry(b"a", 100, 1, 100)),
            ReplayVerdict::Fresh
        );
        assert_eq!(
            store.check_and_record(&entry(b"a", 100, 9, 100)),
            ReplayVerdict::DuplicateDelivery
        );
        assert_eq!(
            store.check_and_record(&entry(b"b", 100, 1, 100)),
            ReplayVerdict::ReplayedSignature
        );
        assert_eq!(
            store.check_and_record(&entry(b"b", 100, 2, 100)),
            ReplayVerdict::Fresh
        );
        assert_eq!(
            store.check_and_record(&entry(b"c", 100, 3, 100)),
            ReplayVerdict::Full
        );
    }

    #[test]
    fn frees_slots_only_after_both_expiries() {
        let mut store = FixedReplayStore::<1>::with_delivery_retention(1000);
        assert_eq!(
            store.check_and_record(&entry(b"a", 100, 1, 100)),
            ReplayVerdict::Fresh
        );
        // Signature expired at 400, but the id is kept until 1100 (inclusive).
        assert_eq!(
            store.check_and_record(&entry(b"b", 1100, 2, 1100)),
            ReplayVerdict::Full
        );
        assert_eq!(store.live_entries(1100), 1);
        assert_eq!(
            store.check_and_record(&entry(b"b", 1101, 2, 1101)),
            ReplayVerdict::Fresh
        );
        assert_eq!(
            store.check_and_record(&entry(b"a", 1101, 7, 1101)),
            ReplayVerdict::Full,
            "the expired id may come back, but the store is full again"
        );
    }
}
