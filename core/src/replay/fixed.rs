//! A fixed-capacity, allocation-free replay store.

use super::{
    DEFAULT_DELIVERY_RETENTION_SECONDS, ReplayEntry, ReplayGuard, ReplayReservations,
    ReplayVerdict, Reservation, delivery_digest,
};

/// One delivery attempt. Its id part is committed (`token` 0; kept until
/// `delivery_expires_at`), reserved (`token` set; held until its lease ends at
/// `delivery_expires_at`) or let go (`id_held` false: released). Its pair is kept until
/// `signature_expires_at` whatever became of the id: an uncommitted pair stays usable by the
/// same delivery id only, so a copy under a swapped id is still refused.
#[derive(Clone, Copy, Default)]
struct Slot {
    delivery_digest: [u8; 32],
    signature: [u8; 32],
    timestamp: u64,
    delivery_expires_at: u64,
    signature_expires_at: u64,
    token: u64,
    id_held: bool,
    occupied: bool,
}

impl Slot {
    fn delivery_live(&self, now: u64) -> bool {
        self.occupied && self.id_held && now <= self.delivery_expires_at
    }

    fn signature_live(&self, now: u64) -> bool {
        self.occupied && now <= self.signature_expires_at
    }

    fn same_pair(&self, entry: &ReplayEntry<'_>) -> bool {
        self.timestamp == entry.timestamp && self.signature == entry.signature
    }

    /// The live pair of an attempt that never committed, under the same delivery id.
    fn retried_pair(&self, entry: &ReplayEntry<'_>, digest: &[u8; 32], now: u64) -> bool {
        self.signature_live(now)
            && self.token != 0
            && self.delivery_digest == *digest
            && self.same_pair(entry)
    }

    fn is_free(&self, now: u64) -> bool {
        !self.delivery_live(now) && !self.signature_live(now)
    }

    /// This slot is the reservation, and its lease still runs at `now`.
    fn holds(&self, reservation: &Reservation, now: u64) -> bool {
        self.delivery_live(now)
            && self.token == reservation.token
            && self.delivery_digest == reservation.delivery
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
    next_token: u64,
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
            next_token: 1,
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

impl<const CAPACITY: usize> FixedReplayStore<CAPACITY> {
    /// The checks of both forms (id, then pair, then room); on success the slot is filled
    /// with `token` (0: committed) and the id held until `hold_until`.
    fn admit(
        &mut self,
        entry: &ReplayEntry<'_>,
        token: u64,
        hold_until: u64,
    ) -> Result<[u8; 32], ReplayVerdict> {
        let now = entry.now;
        let digest = delivery_digest(entry.delivery_id);
        let mut replayed = false;
        let mut retried = None;
        let mut free = None;
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.delivery_live(now) && slot.delivery_digest == digest {
                return Err(if slot.token == 0 {
                    ReplayVerdict::DuplicateDelivery
                } else {
                    ReplayVerdict::InProgress
                });
            }
            if slot.retried_pair(entry, &digest, now) {
                retried = Some(index);
            } else {
                replayed |= slot.signature_live(now) && slot.same_pair(entry);
            }
            if free.is_none() && slot.is_free(now) {
                free = Some(index);
            }
        }
        if replayed {
            return Err(ReplayVerdict::ReplayedSignature);
        }
        // The same attempt again (after a release or a lapsed lease) takes its own slot back.
        let index = retried.or(free).ok_or(ReplayVerdict::Full)?;
        self.slots[index] = Slot {
            delivery_digest: digest,
            signature: entry.signature,
            timestamp: entry.timestamp,
            delivery_expires_at: hold_until,
            signature_expires_at: entry.signature_expires_at,
            token,
            id_held: true,
            occupied: true,
        };
        Ok(digest)
    }
}

impl<const CAPACITY: usize> ReplayGuard for FixedReplayStore<CAPACITY> {
    fn check_and_record(&mut self, entry: &ReplayEntry<'_>) -> ReplayVerdict {
        let kept_until = entry.now.saturating_add(self.delivery_retention_seconds);
        match self.admit(entry, 0, kept_until) {
            Ok(_) => ReplayVerdict::Fresh,
            Err(verdict) => verdict,
        }
    }
}

impl<const CAPACITY: usize> ReplayReservations for FixedReplayStore<CAPACITY> {
    type Reservation = Reservation;

    fn reserve(
        &mut self,
        entry: &ReplayEntry<'_>,
        lease_seconds: u64,
    ) -> Result<Reservation, ReplayVerdict> {
        let token = self.next_token;
        let lease_until = entry.now.saturating_add(lease_seconds);
        let delivery = self.admit(entry, token, lease_until)?;
        self.next_token = self.next_token.wrapping_add(1).max(1);
        Ok(Reservation {
            delivery,
            token,
            lease_until,
        })
    }

    fn commit(&mut self, reservation: &Reservation, now: u64) -> bool {
        let retention = self.delivery_retention_seconds;
        match self
            .slots
            .iter_mut()
            .find(|slot| slot.holds(reservation, now))
        {
            Some(slot) => {
                slot.token = 0;
                slot.delivery_expires_at = now.saturating_add(retention);
                true
            }
            None => false,
        }
    }

    fn release(&mut self, reservation: &Reservation, now: u64) -> bool {
        match self
            .slots
            .iter_mut()
            .find(|slot| slot.holds(reservation, now))
        {
            Some(slot) => {
                // The id is free again; the pair stays, usable by this delivery id only.
                slot.id_held = false;
                true
            }
            None => false,
        }
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
    fn reservations_hold_the_id_until_committed_released_or_lapsed() {
        let mut store = FixedReplayStore::<4>::new();
        let first = store.reserve(&entry(b"a", 100, 1, 100), 60).unwrap();
        let retry = entry(b"a", 110, 2, 110);
        assert_eq!(store.reserve(&retry, 60), Err(ReplayVerdict::InProgress));
        assert_eq!(store.check_and_record(&retry), ReplayVerdict::InProgress);
        assert_eq!(
            store.reserve(&entry(b"b", 100, 1, 100), 60),
            Err(ReplayVerdict::ReplayedSignature),
            "a reserved pair is not free for another id"
        );
        assert!(store.release(&first, 105));
        assert_eq!(
            store.reserve(&entry(b"b", 100, 1, 106), 60),
            Err(ReplayVerdict::ReplayedSignature),
            "nor a released one"
        );
        assert!(!store.release(&first, 105), "released once");
        let second = store.reserve(&retry, 60).unwrap();
        // The lease runs out (the process died): id and pair are free again.
        let late = entry(b"a", 171, 2, 171);
        let third = store.reserve(&late, 60).unwrap();
        assert!(!store.commit(&second, 172), "lost with its lease");
        assert!(store.commit(&third, 172));
        assert_eq!(
            store.reserve(&entry(b"a", 180, 3, 180), 60),
            Err(ReplayVerdict::DuplicateDelivery)
        );
    }

    #[test]
    fn a_reservation_is_lost_once_its_lease_ran_out() {
        let mut store = FixedReplayStore::<1>::with_delivery_retention(1000);
        let held = store.reserve(&entry(b"a", 100, 1, 100), 10).unwrap();
        assert!(
            store.commit(&held, 110),
            "the lease's last second still counts"
        );
        let late = store.reserve(&entry(b"b", 200, 2, 200), 10).err();
        assert_eq!(late, Some(ReplayVerdict::Full), "committed: kept");
        let mut store = FixedReplayStore::<1>::with_delivery_retention(1000);
        let held = store.reserve(&entry(b"a", 100, 1, 100), 10).unwrap();
        assert!(!store.commit(&held, 111));
        assert!(!store.release(&held, 111));
        // The id is free; the pair is kept (until 400) for this delivery id only.
        assert_eq!(store.live_entries(111), 1);
        assert_eq!(store.live_entries(401), 0);
        let same_attempt = store.reserve(&entry(b"a", 100, 1, 111), 10);
        assert!(same_attempt.is_ok(), "the same attempt takes its slot back");
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
