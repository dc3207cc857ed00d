//! The replay step outside the core's synchronous guards: an accepted delivery carried to
//! an asynchronous store (Redis, a database, a store written in Python) and the store's
//! answer turned into the contract's outcome.

use core::fmt;

use fluxora_webhooks::{
    Checked, Outcome, OutcomeCode, ReplayEntry, ReplayGuard, ReplayReservations, ReplayVerdict,
};

/// A delivery whose signature matched: what a replay store must check and record, owned
/// so it can wait for an asynchronous store.
///
/// ```
/// use fluxora_webhooks_facade::{Accepted, ReceivedHeaders, Verifier};
/// use fluxora_webhooks_facade::core::{Outcome, ReplayVerdict, sign};
///
/// let verifier = Verifier::with_secret(b"topsecret");
/// let signature = sign(b"topsecret", b"1710000000", b"{}");
/// let headers = ReceivedHeaders::from_pairs([
///     ("x-fluxora-delivery-id", "dlv_1"),
///     ("x-fluxora-timestamp", "1710000000"),
///     ("x-fluxora-signature", signature.as_str()),
/// ]);
/// let accepted: Accepted = verifier.check(&headers, b"{}", 1_710_000_000)?;
/// assert_eq!(accepted.delivery_id(), b"dlv_1");
/// assert_eq!(accepted.signature_hex(), signature.as_str());
/// assert_eq!(accepted.conclude(ReplayVerdict::DuplicateDelivery), Outcome::DuplicateDelivery);
/// # Ok::<(), Outcome>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Accepted {
    delivery_id: Vec<u8>,
    timestamp: u64,
    signature: [u8; 32],
    now: u64,
    signature_expires_at: u64,
    used_previous_secret: bool,
}

impl Accepted {
    /// The owned form of the core's [`Checked`].
    #[must_use]
    pub fn from_checked(checked: &Checked<'_>) -> Self {
        let entry = checked.entry();
        Self {
            delivery_id: entry.delivery_id.to_vec(),
            timestamp: entry.timestamp,
            signature: entry.signature,
            now: entry.now,
            signature_expires_at: entry.signature_expires_at,
            used_previous_secret: checked.used_previous_secret(),
        }
    }

    /// The entry a replay store checks and records.
    #[must_use]
    pub fn entry(&self) -> ReplayEntry<'_> {
        ReplayEntry {
            delivery_id: &self.delivery_id,
            timestamp: self.timestamp,
            signature: self.signature,
            now: self.now,
            signature_expires_at: self.signature_expires_at,
        }
    }

    /// The delivery id header, as received.
    #[must_use]
    pub fn delivery_id(&self) -> &[u8] {
        &self.delivery_id
    }

    /// The delivery id as text (invalid UTF-8 replaced), for stores keyed by strings.
    #[must_use]
    pub fn delivery_id_text(&self) -> String {
        String::from_utf8_lossy(&self.delivery_id).into_owned()
    }

    /// The signed timestamp, in Unix seconds.
    #[must_use]
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The decoded signature (the same for upper- and lowercase headers).
    #[must_use]
    pub fn signature(&self) -> [u8; 32] {
        self.signature
    }

    /// The signature as 64 lowercase hex digits.
    #[must_use]
    pub fn signature_hex(&self) -> String {
        lower_hex(&self.signature)
    }

    /// The verification time, in Unix seconds.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Until when (inclusive) the (timestamp, signature) pair must be remembered.
    #[must_use]
    pub fn signature_expires_at(&self) -> u64 {
        self.signature_expires_at
    }

    /// True when only the previous (rotated-out) secret produced the signature.
    #[must_use]
    pub fn used_previous_secret(&self) -> bool {
        self.used_previous_secret
    }

    /// The outcome for a store's verdict on [`entry`](Self::entry).
    pub fn conclude(&self, verdict: ReplayVerdict) -> Outcome {
        verdict.outcome(self.used_previous_secret)
    }

    /// Two-phase replay in a synchronous store: reserves the delivery for `lease_seconds`.
    /// `Ok` holds the reservation to commit once the application handled the delivery (or to
    /// release when it failed); `Err` is the outcome to answer.
    ///
    /// ```
    /// use fluxora_webhooks_facade::{ReceivedHeaders, Verifier};
    /// use fluxora_webhooks_facade::core::{MemoryReplayStore, Outcome, ReplayReservations, sign};
    ///
    /// let verifier = Verifier::with_secret(b"topsecret");
    /// let signature = sign(b"topsecret", b"1710000000", b"");
    /// let headers = ReceivedHeaders::from_pairs([
    ///     ("x-fluxora-delivery-id", "dlv_1"),
    ///     ("x-fluxora-timestamp", "1710000000"),
    ///     ("x-fluxora-signature", signature.as_str()),
    /// ]);
    /// let mut store = MemoryReplayStore::new(8);
    /// let accepted = verifier.check(&headers, b"", 1_710_000_000)?;
    /// let held = accepted.reserve(&mut store, 60)?;
    /// assert_eq!(accepted.reserve(&mut store, 60).err(), Some(Outcome::DeliveryInProgress));
    /// assert!(store.release(&held, 1_710_000_001)); // the handler failed
    /// # Ok::<(), Outcome>(())
    /// ```
    pub fn reserve<S: ReplayReservations + ?Sized>(
        &self,
        store: &mut S,
        lease_seconds: u64,
    ) -> Result<S::Reservation, Outcome> {
        store
            .reserve(&self.entry(), lease_seconds)
            .map_err(|verdict| self.conclude(verdict))
    }

    /// Checks and records the delivery in a synchronous store, then concludes.
    ///
    /// ```
    /// use fluxora_webhooks_facade::{ReceivedHeaders, Verifier};
    /// use fluxora_webhooks_facade::core::{FixedReplayStore, Outcome, sign};
    ///
    /// let verifier = Verifier::with_secret(b"topsecret");
    /// let signature = sign(b"topsecret", b"1710000000", b"");
    /// let headers = ReceivedHeaders::from_pairs([
    ///     ("x-fluxora-delivery-id", "dlv_1"),
    ///     ("x-fluxora-timestamp", "1710000000"),
    ///     ("x-fluxora-signature", signature.as_str()),
    /// ]);
    /// let mut store = FixedReplayStore::<2>::new();
    /// let accepted = verifier.check(&headers, b"", 1_710_000_000)?;
    /// assert!(accepted.record(&mut store).is_ok());
    /// assert_eq!(accepted.record(&mut store), Outcome::DuplicateDelivery);
    /// # Ok::<(), Outcome>(())
    /// ```
    pub fn record<G: ReplayGuard + ?Sized>(&self, guard: &mut G) -> Outcome {
        self.conclude(guard.check_and_record(&self.entry()))
    }
}

impl fmt::Debug for Accepted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accepted")
            .field("delivery_id", &self.delivery_id_text())
            .field("timestamp", &self.timestamp)
            .field("now", &self.now)
            .field("used_previous_secret", &self.used_previous_secret)
            .finish_non_exhaustive()
    }
}

/// Lowercase hex of bytes.
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// A replay store answered something other than a replay outcome code.
///
/// ```
/// use fluxora_webhooks_facade::verdict_from_code;
///
/// let error = verdict_from_code("maybe").unwrap_err();
/// assert!(error.to_string().contains("'ok', 'duplicate_delivery'"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownVerdict(pub String);

impl fmt::Display for UnknownVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a replay store must answer 'ok', 'duplicate_delivery', 'replayed_signature', 'consumer_overloaded' or 'delivery_in_progress', not {:?}",
            self.0
        )
    }
}

impl std::error::Error for UnknownVerdict {}

/// The verdict a replay store (one written in Python, for example) answered as an outcome
/// code.
///
/// ```
/// use fluxora_webhooks_facade::verdict_from_code;
/// use fluxora_webhooks_facade::core::ReplayVerdict;
///
/// assert_eq!(verdict_from_code("ok"), Ok(ReplayVerdict::Fresh));
/// assert_eq!(verdict_from_code("consumer_overloaded"), Ok(ReplayVerdict::Full));
/// assert_eq!(verdict_from_code("delivery_in_progress"), Ok(ReplayVerdict::InProgress));
/// assert!(verdict_from_code("signature_mismatch").is_err());
/// ```
pub fn verdict_from_code(code: &str) -> Result<ReplayVerdict, UnknownVerdict> {
    match OutcomeCode::from_code(code) {
        Some(OutcomeCode::Ok) => Ok(ReplayVerdict::Fresh),
        Some(OutcomeCode::DuplicateDelivery) => Ok(ReplayVerdict::DuplicateDelivery),
        Some(OutcomeCode::ReplayedSignature) => Ok(ReplayVerdict::ReplayedSignature),
        Some(OutcomeCode::ConsumerOverloaded) => Ok(ReplayVerdict::Full),
        Some(OutcomeCode::DeliveryInProgress) => Ok(ReplayVerdict::InProgress),
        _ => Err(UnknownVerdict(code.to_owned())),
    }
}

/// Whether an application's answer settles its reservation by a commit: below 500 the
/// delivery was handled (a 4xx included: the application decided about it), so every later
/// attempt is a duplicate; 500 and above it was not, so the reservation is released and the
/// sender's retry is processed again. Every framework helper settles by this rule.
///
/// ```
/// use fluxora_webhooks_facade::commits_on;
///
/// assert!(commits_on(200) && commits_on(204) && commits_on(422));
/// assert!(!commits_on(500) && !commits_on(503));
/// ```
#[must_use]
pub const fn commits_on(status: u16) -> bool {
    status < 500
}
