//! A bounded replay store on the heap, for runtimes with an allocator (feature `alloc`).

use alloc::collections::{BTreeMap, BTreeSet};

use super::{
    DEFAULT_DELIVERY_RETENTION_SECONDS, ReplayEntry, ReplayGuard, ReplayReservations,
    ReplayVerdict, Reservation, delivery_digest,
};

type SignatureKey = (u64, [u8; 32]);

/// One delivery attempt: its id part committed, reserved (then `delivery_expires_at` is the
/// lease's end) or let go (`id_held` false: released); its pair kept until
/// `signature_expires_at`, usable again by the same delivery id only while uncommitted.
struct Slot {
    delivery: [u8; 32],
    signature: SignatureKey,
    delivery_expires_at: u64,
    signature_expires_at: u64,
    reserved: bool,
    id_held: bool,
}

impl Slot {
    fn free_after(&self) -> u64 {
        if self.id_held {
            self.delivery_expires_at.max(self.signature_expires_at)
        } else {
            self.signature_expires_at
        }
    }

    fn delivery_live(&self, now: u64) -> bool {
        self.id_held && now <= self.delivery_expires_at
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

    fn slot(&self, key: Option<&u64>) -> Option<&Slot> {
        key.and_then(|key| self.slots.get(key))
    }

    /// The checks of both forms (id, then pair, then room); on success a slot is added,
    /// `reserved` or committed, with the id held until `hold_until`. Answers its key.
    fn admit(
        &mut self,
        entry: &ReplayEntry<'_>,
        reserved: bool,
        hold_until: u64,
    ) -> Result<(u64, [u8; 32]), ReplayVerdict> {
        let now = entry.now;
        let delivery = delivery_digest(entry.delivery_id);
        let signature = (entry.timestamp, entry.signature);
        if let Some(slot) = self
            .slot(self.by_delivery.get(&delivery))
            .filter(|slot| slot.delivery_live(now))
        {
            return Err(if slot.reserved {
                ReplayVerdict::InProgress
            } else {
                ReplayVerdict::DuplicateDelivery
            });
        }
        let live_pair = self
            .by_signature
            .get(&signature)
            .and_then(|&key| Some((key, self.slots.get(&key)?)))
            .filter(|(_, slot)| now <= slot.signature_expires_at);
        if let Some((key, slot)) = live_pair {
            if !slot.reserved || slot.delivery != delivery {
                return Err(ReplayVerdict::ReplayedSignature);
            }
            // The same attempt again (after a release or a lapsed lease): it takes its own
            // place back.
            self.remove(key);
        }
        if self.slots.len() >= self.capacity {
            self.free_expired(now);
            if self.slots.len() >= self.capacity {
                return Err(ReplayVerdict::Full);
            }
        }
        let key = self.next_slot;
        self.next_slot += 1;
        let slot = Slot {
            delivery,
            signature,
            delivery_expires_at: hold_until,
            signature_expires_at: entry.signature_expires_at,
            reserved,
            id_held: true,
        };
        self.expiries.insert((slot.free_after(), key));
        self.by_delivery.insert(delivery, key);
        self.by_signature.insert(signature, key);
        self.slots.insert(key, slot);
        Ok((key, delivery))
    }

    /// The key of the slot that is `reservation`, while its lease runs at `now`.
    fn held(&self, reservation: &Reservation, now: u64) -> Option<u64> {
        let slot = self.slots.get(&reservation.token)?;
        (slot.reserved && slot.delivery == reservation.delivery && slot.delivery_live(now))
            .then_some(reservation.token)
    }

    /// Removes a slot and the index entries that still point at it.
    fn remove(&mut self, key: u64) {
        if let Some(slot) = self.slots.remove(&key) {
            self.expiries.remove(&(slot.free_after(), key));
            // An id may have been accepted again into a newer slot: unlink only our own.
            if self.by_delivery.get(&slot.delivery) == Some(&key) {
                self.by_delivery.remove(&slot.delivery);
            }
            if self.by_signature.get(&slot.signature) == Some(&key) {
                self.by_signature.remove(&slot.signature);
            }
        }
    }

    /// Frees every slot whose id and pair have both expired; never an unexpired one.
    fn free_expired(&mut self, now: u64) {
        while let Some(&(free_after, key)) = self.expiries.first() {
            if now <= free_after {
                break;
            }
            self.remove(key);
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
        let kept_until = entry.now.saturating_add(self.delivery_retention_seconds);
        match self.admit(entry, false, kept_until) {
            Ok(_) => ReplayVerdict::Fresh,
            Err(verdict) => verdict,
        }
    }
}

impl ReplayReservations for MemoryReplayStore {
    type Reservation = Reservation;

    fn reserve(
        &mut self,
        entry: &ReplayEntry<'_>,
        lease_seconds: u64,
    ) -> Result<Reservation, ReplayVerdict> {
        let lease_until = entry.now.saturating_add(lease_seconds);
        let (token, delivery) = self.admit(entry, true, lease_until)?;
        Ok(Reservation {
            delivery,
            token,
            lease_until,
        })
    }

    fn commit(&mut self, reservation: &Reservation, now: u64) -> bool {
        let Some(key) = self.held(reservation, now) else {
            return false;
        };
        let retention = self.delivery_retention_seconds;
        if let Some(slot) = self.slots.get_mut(&key) {
            self.expiries.remove(&(slot.free_after(), key));
            slot.reserved = false;
            slot.delivery_expires_at = now.saturating_add(retention);
            self.expiries.insert((slot.free_after(), key));
        }
        true
    }

    fn release(&mut self, reservation: &Reservation, now: u64) -> bool {
        let Some(key) = self.held(reservation, now) else {
            return false;
        };
        // The id is free again; the pair stays, usable by this delivery id only.
        if let Some(slot) = self.slots.get_mut(&key) {
            self.expiries.remove(&(slot.free_after(), key));
            slot.id_held = false;
            self.expiries.insert((slot.free_after(), key));
        }
        if self.by_delivery.get(&reservation.delivery) == Some(&key) {
            self.by_delivery.remove(&reservation.delivery);
        }
        true
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

    /// One step of the property test: what a receiver does to a store.
    #[derive(Clone, Debug)]
    enum Step {
        Record,
        Reserve(u64),
        Commit(usize),
        Release(usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::Record),
            (0u64..90).prop_map(Step::Reserve),
            (0usize..8).prop_map(Step::Commit),
            (0usize..8).prop_map(Step::Release),
        ]
    }

    proptest! {
        /// Same answers as the fixed store, whatever the sequence of one-step records,
        /// reservations, commits and releases.
        #[test]
        fn answers_like_the_fixed_store_in_both_forms(
            steps in prop::collection::vec((step(), 0u8..6, 0u8..4, 0u64..3, 0u64..120), 1..80),
            retention in 0u64..700,
        ) {
            let mut fixed = FixedReplayStore::<4>::with_delivery_retention(retention);
            let mut memory = MemoryReplayStore::with_delivery_retention(4, retention);
            let mut held: alloc::vec::Vec<(Reservation, Reservation)> = alloc::vec::Vec::new();
            let mut now = 1_000;
            for (step, id, tag, timestamp_shift, advance) in steps {
                now += advance;
                let id = [id];
                let entry = entry(&id, now - timestamp_shift, tag, now);
                match step {
                    Step::Record => {
                        prop_assert_eq!(memory.check_and_record(&entry), fixed.check_and_record(&entry));
                    }
                    Step::Reserve(lease) => {
                        let (a, b) = (memory.reserve(&entry, lease), fixed.reserve(&entry, lease));
                        prop_assert_eq!(a.err(), b.err());
                        if let (Ok(a), Ok(b)) = (a, b) {
                            held.push((a, b));
                        }
                    }
                    Step::Commit(index) | Step::Release(index) if held.is_empty() => {
                        let _ = index;
                    }
                    Step::Commit(index) => {
                        let (a, b) = held[index % held.len()];
                        prop_assert_eq!(memory.commit(&a, now), fixed.commit(&b, now));
                    }
                    Step::Release(index) => {
                        let (a, b) = held[index % held.len()];
                        prop_assert_eq!(memory.release(&a, now), fixed.release(&b, now));
                    }
                }
                prop_assert_eq!(memory.live_entries(now), fixed.live_entries(now));
            }
        }
    }
}
