//! The verifier: every check of the contract, in order, one-shot or over a streamed body.

use core::fmt;

use subtle::Choice;

use crate::headers::{DeliveryHeaders, present};
use crate::mac::Mac;
use crate::outcome::Outcome;
use crate::replay::{ReplayEntry, ReplayGuard, ReplayReservations, ReplayVerdict};
use crate::signature::{Signer, decode_signature, tag_matches};
use crate::timestamp::parse_timestamp;

/// Default freshness window: 300 seconds either side of `now`, boundary inclusive.
///
/// ```
/// use fluxora_webhooks::{DEFAULT_TOLERANCE_SECONDS, DeliveryHeaders, NoReplayGuard};
/// use fluxora_webhooks::{Outcome, Verifier, sign};
///
/// let verifier = Verifier::new(b"topsecret");
/// assert_eq!(verifier.tolerance_seconds(), DEFAULT_TOLERANCE_SECONDS);
/// let signature = sign(b"topsecret", b"1710000000", b"{}");
/// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
/// let at = |now| verifier.verify(&headers, b"{}", now, &mut NoReplayGuard);
/// assert!(at(1_710_000_000 + DEFAULT_TOLERANCE_SECONDS).is_ok());
/// let too_late = at(1_710_000_001 + DEFAULT_TOLERANCE_SECONDS);
/// assert_eq!(too_late, Outcome::TimestampOutsideTolerance { tolerance_seconds: 300 });
/// ```
pub const DEFAULT_TOLERANCE_SECONDS: u64 = 300;
/// Default body limit: 256 KiB (a body of exactly this many bytes passes).
///
/// ```
/// use fluxora_webhooks::{DEFAULT_MAX_BODY_BYTES, DeliveryHeaders, NoReplayGuard};
/// use fluxora_webhooks::{Outcome, Verifier};
///
/// let verifier = Verifier::new(b"topsecret");
/// assert_eq!(verifier.max_body_bytes(), DEFAULT_MAX_BODY_BYTES);
/// let body = vec![b' '; 262_145];
/// let headers = DeliveryHeaders::new("dlv_1", "1710000000", "00");
/// let outcome = verifier.verify(&headers, &body, 1_710_000_000, &mut NoReplayGuard);
/// assert_eq!(outcome, Outcome::PayloadTooLarge { limit: DEFAULT_MAX_BODY_BYTES });
/// ```
pub const DEFAULT_MAX_BODY_BYTES: u64 = 262_144;
/// Default grace window of a rotated-out secret: 24 hours after `rotated_at`.
///
/// ```
/// use fluxora_webhooks::{DEFAULT_GRACE_WINDOW_SECONDS, DeliveryHeaders, NoReplayGuard};
/// use fluxora_webhooks::{Outcome, Verifier, sign};
///
/// let now = 1_710_000_000;
/// let signature = sign(b"old-secret", b"1710000000", b"{}");
/// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
/// let rotated_at = |at| {
///     let verifier = Verifier::new(b"new-secret").with_previous_secret(b"old-secret", Some(at));
///     assert_eq!(verifier.grace_window_seconds(), DEFAULT_GRACE_WINDOW_SECONDS);
///     verifier.verify(&headers, b"{}", now, &mut NoReplayGuard)
/// };
/// assert!(rotated_at(now - DEFAULT_GRACE_WINDOW_SECONDS).is_ok());
/// assert_eq!(rotated_at(now - DEFAULT_GRACE_WINDOW_SECONDS - 1), Outcome::PreviousSecretExpired);
/// ```
pub const DEFAULT_GRACE_WINDOW_SECONDS: u64 = 86_400;

#[derive(Clone)]
struct PreviousSecret {
    signer: Signer,
    rotated_at: Option<u64>,
}

/// Verifies Fluxora deliveries against a current secret and, during rotation, a previous one.
///
/// Built once from configuration and reused for every delivery: each secret is keyed into
/// HMAC-SHA256 at construction, never per message. `Debug` never shows a secret.
///
/// ```
/// use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Outcome, Verifier, sign};
///
/// let now = 1_710_000_000;
/// let verifier = Verifier::new(b"new-secret")
///     .with_previous_secret(b"old-secret", Some(now - 3600))
///     .with_tolerance_seconds(300);
///
/// let body = br#"{"event":"stream.updated"}"#;
/// let signature = sign(b"old-secret", b"1710000000", body);
/// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
///
/// let outcome = verifier.verify(&headers, body, now, &mut NoReplayGuard);
/// assert_eq!(outcome, Outcome::Verified { used_previous_secret: true });
/// assert_eq!((outcome.code(), outcome.status()), ("ok", 200));
/// ```
#[derive(Clone)]
pub struct Verifier {
    current: Option<Signer>,
    previous: Option<PreviousSecret>,
    tolerance_seconds: u64,
    max_body_bytes: u64,
    grace_window_seconds: u64,
}

impl Verifier {
    /// A verifier for `secret` with the default tolerance, body limit and grace window.
    ///
    /// An empty secret is accepted here and answers `missing_secret` (500) on every
    /// delivery, so a misconfigured receiver makes the sender retry instead of dropping.
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Outcome, Verifier, sign};
    ///
    /// let signature = sign(b"topsecret", b"1710000000", b"{}");
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    /// let verify = |verifier: Verifier| {
    ///     verifier.verify(&headers, b"{}", 1_710_000_000, &mut NoReplayGuard)
    /// };
    /// assert!(verify(Verifier::new(b"topsecret")).is_ok());
    /// let misconfigured = verify(Verifier::new(b""));
    /// assert_eq!((misconfigured, misconfigured.status()), (Outcome::MissingSecret, 500));
    /// ```
    pub fn new(secret: &[u8]) -> Self {
        Self {
            current: (!secret.is_empty()).then(|| Signer::new(secret)),
            previous: None,
            tolerance_seconds: DEFAULT_TOLERANCE_SECONDS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            grace_window_seconds: DEFAULT_GRACE_WINDOW_SECONDS,
        }
    }

    /// Also accepts signatures by the previous secret, rotated out at `rotated_at`
    /// (Unix seconds). Without `rotated_at` the previous secret never expires; with it,
    /// it expires once `now - rotated_at` exceeds the grace window. An empty previous
    /// secret means none.
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Outcome, Verifier, sign};
    ///
    /// let signature = sign(b"old-secret", b"1710000000", b"{}");
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    /// let verify = |verifier: Verifier| {
    ///     verifier.verify(&headers, b"{}", 1_710_000_000, &mut NoReplayGuard)
    /// };
    /// // Without `rotated_at`, the previous secret never expires.
    /// let rotating = Verifier::new(b"new-secret").with_previous_secret(b"old-secret", None);
    /// assert_eq!(verify(rotating), Outcome::Verified { used_previous_secret: true });
    /// let no_previous = Verifier::new(b"new-secret").with_previous_secret(b"", None);
    /// assert_eq!(verify(no_previous), Outcome::SignatureMismatch);
    /// ```
    pub fn with_previous_secret(mut self, secret: &[u8], rotated_at: Option<u64>) -> Self {
        self.previous = (!secret.is_empty()).then(|| PreviousSecret {
            signer: Signer::new(secret),
            rotated_at,
        });
        self
    }

    /// How long the previous secret stays valid after `rotated_at` (default 86400 s).
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Outcome, Verifier, sign};
    ///
    /// let now = 1_710_000_000;
    /// let signature = sign(b"old-secret", b"1710000000", b"{}");
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    /// let rotated_at = |at| {
    ///     Verifier::new(b"new-secret")
    ///         .with_previous_secret(b"old-secret", Some(at))
    ///         .with_grace_window_seconds(3_600)
    ///         .verify(&headers, b"{}", now, &mut NoReplayGuard)
    /// };
    /// assert!(rotated_at(now - 3_600).is_ok());
    /// assert_eq!(rotated_at(now - 3_601), Outcome::PreviousSecretExpired);
    /// ```
    pub fn with_grace_window_seconds(mut self, seconds: u64) -> Self {
        self.grace_window_seconds = seconds;
        self
    }

    /// The freshness window either side of `now` (default 300 s, boundary inclusive).
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Outcome, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"topsecret").with_tolerance_seconds(60);
    /// let signature = sign(b"topsecret", b"1710000000", b"{}");
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    /// let at = |now| verifier.verify(&headers, b"{}", now, &mut NoReplayGuard);
    /// assert!(at(1_710_000_060).is_ok());
    /// assert!(at(1_709_999_940).is_ok()); // either side of `now`
    /// let stale = Outcome::TimestampOutsideTolerance { tolerance_seconds: 60 };
    /// assert_eq!(at(1_710_000_061), stale);
    /// assert_eq!(at(1_709_999_939), stale);
    /// ```
    pub fn with_tolerance_seconds(mut self, seconds: u64) -> Self {
        self.tolerance_seconds = seconds;
        self
    }

    /// The largest accepted body in bytes (default 262144, boundary inclusive).
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Outcome, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"topsecret").with_max_body_bytes(2);
    /// let verify = |body: &[u8]| {
    ///     let signature = sign(b"topsecret", b"1710000000", body);
    ///     let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    ///     verifier.verify(&headers, body, 1_710_000_000, &mut NoReplayGuard)
    /// };
    /// assert!(verify(b"{}").is_ok());
    /// assert_eq!(verify(b"{ }"), Outcome::PayloadTooLarge { limit: 2 });
    /// ```
    pub fn with_max_body_bytes(mut self, bytes: u64) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The configured freshness window in seconds.
    ///
    /// ```
    /// use fluxora_webhooks::Verifier;
    ///
    /// assert_eq!(Verifier::new(b"topsecret").tolerance_seconds(), 300);
    /// let strict = Verifier::new(b"topsecret").with_tolerance_seconds(60);
    /// assert_eq!(strict.tolerance_seconds(), 60);
    /// ```
    pub fn tolerance_seconds(&self) -> u64 {
        self.tolerance_seconds
    }

    /// The configured body limit in bytes.
    ///
    /// ```
    /// use fluxora_webhooks::Verifier;
    ///
    /// assert_eq!(Verifier::new(b"topsecret").max_body_bytes(), 262_144);
    /// let small = Verifier::new(b"topsecret").with_max_body_bytes(4_096);
    /// assert_eq!(small.max_body_bytes(), 4_096);
    /// ```
    pub fn max_body_bytes(&self) -> u64 {
        self.max_body_bytes
    }

    /// The configured grace window of the previous secret in seconds.
    ///
    /// ```
    /// use fluxora_webhooks::Verifier;
    ///
    /// assert_eq!(Verifier::new(b"topsecret").grace_window_seconds(), 86_400);
    /// let short = Verifier::new(b"topsecret").with_grace_window_seconds(3_600);
    /// assert_eq!(short.grace_window_seconds(), 3_600);
    /// ```
    pub fn grace_window_seconds(&self) -> u64 {
        self.grace_window_seconds
    }

    /// Verifies one delivery whose whole body is at hand, at time `now` (Unix seconds).
    ///
    /// The replay guard is consulted only after the signature matched. Checks that need
    /// no hashing run first, so a stale or malformed delivery costs no HMAC work.
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, FixedReplayStore, Outcome, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"topsecret");
    /// let mut store = FixedReplayStore::<16>::new();
    /// let body = br#"{"event":"stream.updated"}"#;
    /// let signature = sign(b"topsecret", b"1710000000", body);
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    /// assert!(verifier.verify(&headers, body, 1_710_000_000, &mut store).is_ok());
    /// let retry = verifier.verify(&headers, body, 1_710_000_000, &mut store);
    /// assert_eq!(retry, Outcome::DuplicateDelivery);
    /// // A tampered body fails the signature check; the store is never consulted.
    /// let other_id = DeliveryHeaders { delivery_id: Some(&b"dlv_2"[..]), ..headers };
    /// let tampered = verifier.verify(&other_id, b"{}", 1_710_000_000, &mut store);
    /// assert_eq!(tampered, Outcome::SignatureMismatch);
    /// ```
    pub fn verify<G: ReplayGuard + ?Sized>(
        &self,
        headers: &DeliveryHeaders<'_>,
        body: &[u8],
        now: u64,
        guard: &mut G,
    ) -> Outcome {
        match self.check(headers, body, now) {
            Ok(checked) => checked.record(guard),
            Err(outcome) => outcome,
        }
    }

    /// Runs every check up to and including the signature (steps 1 to 8) and stops before
    /// the replay step: `Ok` holds what a replay store must check and record, for a store
    /// that cannot be called synchronously (a database, Redis, a reservation that is
    /// committed later). [`Checked::conclude`] turns the store's verdict into the outcome.
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, Outcome, ReplayVerdict, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"topsecret");
    /// let signature = sign(b"topsecret", b"1710000000", b"{}");
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    /// let checked = verifier.check(&headers, b"{}", 1_710_000_000)?;
    /// assert_eq!(checked.entry().delivery_id, b"dlv_1");
    /// assert_eq!(checked.entry().signature_expires_at, 1_710_000_300);
    /// // ... ask an asynchronous store, then:
    /// assert_eq!(checked.conclude(ReplayVerdict::DuplicateDelivery), Outcome::DuplicateDelivery);
    /// // A forgery never reaches the store.
    /// let zeros = "00".repeat(32);
    /// let forged = DeliveryHeaders::new("dlv_2", "1710000000", zeros.as_str());
    /// assert_eq!(verifier.check(&forged, b"{}", 1_710_000_000).err(), Some(Outcome::SignatureMismatch));
    /// # Ok::<(), Outcome>(())
    /// ```
    pub fn check<'a>(
        &self,
        headers: &DeliveryHeaders<'a>,
        body: &[u8],
        now: u64,
    ) -> Result<Checked<'a>, Outcome> {
        let (current, received) = self.required_headers(headers)?;
        if u64::try_from(body.len()).unwrap_or(u64::MAX) > self.max_body_bytes {
            return Err(Outcome::PayloadTooLarge {
                limit: self.max_body_bytes,
            });
        }
        let previous_expired = self.previous_expired(now);
        let (timestamp, signature) =
            fresh_signed_fields(&received, now, self.tolerance_seconds, previous_expired)?;
        let by_current = tag_matches(&current.tag(received.timestamp, body), &signature);
        let by_previous = match &self.previous {
            Some(previous) if !previous_expired => {
                tag_matches(&previous.signer.tag(received.timestamp, body), &signature)
            }
            _ => Choice::from(0),
        };
        Checked::matched(
            SignedFields {
                delivery_id: received.delivery_id,
                timestamp,
                signature,
                now,
                tolerance_seconds: self.tolerance_seconds,
            },
            by_current,
            by_previous,
            previous_expired,
        )
    }

    /// Checks 1 to 4: a secret is configured and the three headers are present.
    fn required_headers<'a>(
        &self,
        headers: &DeliveryHeaders<'a>,
    ) -> Result<(&Signer, Received<'a>), Outcome> {
        let current = self.current.as_ref().ok_or(Outcome::MissingSecret)?;
        let delivery_id = present(headers.delivery_id).ok_or(Outcome::MissingDeliveryId)?;
        let timestamp = present(headers.timestamp).ok_or(Outcome::MissingTimestamp)?;
        let signature = present(headers.signature).ok_or(Outcome::MissingSignature)?;
        Ok((
            current,
            Received {
                delivery_id,
                timestamp,
                signature,
            },
        ))
    }

    /// Starts verifying a delivery whose body arrives in chunks.
    ///
    /// Fails at once with the header checks that precede the size check (`missing_*`);
    /// otherwise feed the body with [`BodyVerification::update`], which fails with
    /// `payload_too_large` as soon as the limit is passed, then call
    /// [`BodyVerification::finish`].
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Outcome, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"topsecret").with_max_body_bytes(8);
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", "00");
    /// let mut verification = verifier.start(&headers, 1710000000).unwrap();
    /// assert!(verification.update(b"12345678").is_ok());
    /// assert_eq!(
    ///     verification.update(b"9"),
    ///     Err(Outcome::PayloadTooLarge { limit: 8 })
    /// );
    /// ```
    #[inline]
    pub fn start<'a>(
        &self,
        headers: &DeliveryHeaders<'a>,
        now: u64,
    ) -> Result<BodyVerification<'a>, Outcome> {
        let (current, received) = self.required_headers(headers)?;
        let previous_expired = self.previous_expired(now);
        let previous = match &self.previous {
            Some(previous) if !previous_expired => Some(previous.signer.begin(received.timestamp)),
            _ => None,
        };
        Ok(BodyVerification {
            received,
            now,
            tolerance_seconds: self.tolerance_seconds,
            max_body_bytes: self.max_body_bytes,
            current: current.begin(received.timestamp),
            previous,
            previous_expired,
            body_len: 0,
        })
    }

    fn previous_expired(&self, now: u64) -> bool {
        match &self.previous {
            Some(PreviousSecret {
                rotated_at: Some(rotated_at),
                ..
            }) => now.saturating_sub(*rotated_at) > self.grace_window_seconds,
            _ => false,
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secret", &self.current.as_ref().map(|_| "<redacted>"))
            .field(
                "previous_secret",
                &self.previous.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "previous_secret_rotated_at",
                &self.previous.as_ref().and_then(|p| p.rotated_at),
            )
            .field("grace_window_seconds", &self.grace_window_seconds)
            .field("tolerance_seconds", &self.tolerance_seconds)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

/// A verification in progress over a body that arrives in chunks.
///
/// Made by [`Verifier::start`]. Holds the keyed HMAC states with `timestamp.` already
/// absorbed; each chunk is hashed once per still-valid secret.
///
/// ```
/// use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Outcome, Verifier, sign};
///
/// let verifier = Verifier::new(b"topsecret");
/// let signature = sign(b"topsecret", b"1710000000", b"{\"event\":\"stream.created\"}");
/// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
///
/// let mut verification = verifier.start(&headers, 1_710_000_000)?;
/// for chunk in [&b"{\"event\":"[..], b"\"stream.created\"}"] {
///     verification.update(chunk)?; // stops early with payload_too_large
/// }
/// assert_eq!(verification.body_len(), 26);
/// assert!(verification.finish(&mut NoReplayGuard).is_ok());
/// # Ok::<(), Outcome>(())
/// ```
pub struct BodyVerification<'a> {
    received: Received<'a>,
    now: u64,
    tolerance_seconds: u64,
    max_body_bytes: u64,
    current: Mac,
    previous: Option<Mac>,
    previous_expired: bool,
    body_len: u64,
}

impl<'a> BodyVerification<'a> {
    /// Feeds the next chunk of the raw body.
    ///
    /// Fails with `payload_too_large` the moment the running length passes the limit,
    /// so a server can answer 413 without reading the rest. Once failed, every later
    /// call fails the same way.
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, Outcome, Verifier};
    ///
    /// let verifier = Verifier::new(b"topsecret").with_max_body_bytes(4);
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", "00");
    /// let mut verification = verifier.start(&headers, 1_710_000_000)?;
    /// verification.update(b"{}")?;
    /// verification.update(b"{}")?; // exactly the limit
    /// let too_large = Err(Outcome::PayloadTooLarge { limit: 4 });
    /// assert_eq!(verification.update(b"x"), too_large);
    /// assert_eq!(verification.update(b""), too_large); // stays failed
    /// # Ok::<(), Outcome>(())
    /// ```
    #[inline]
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), Outcome> {
        let chunk_len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        self.body_len = self.body_len.saturating_add(chunk_len);
        if self.body_len > self.max_body_bytes {
            return Err(Outcome::PayloadTooLarge {
                limit: self.max_body_bytes,
            });
        }
        self.current.update(chunk);
        if let Some(previous) = &mut self.previous {
            previous.update(chunk);
        }
        Ok(())
    }

    /// How many body bytes were fed so far.
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, Outcome, Verifier};
    ///
    /// let verifier = Verifier::new(b"topsecret");
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", "00");
    /// let mut verification = verifier.start(&headers, 1_710_000_000)?;
    /// assert_eq!(verification.body_len(), 0);
    /// verification.update(b"hello, ")?;
    /// verification.update(b"world")?;
    /// assert_eq!(verification.body_len(), 12);
    /// # Ok::<(), Outcome>(())
    /// ```
    pub fn body_len(&self) -> u64 {
        self.body_len
    }

    /// Runs the checks that follow the body, in contract order, and on a signature match
    /// asks the replay guard to check and record the delivery.
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, FixedReplayStore, Outcome, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"topsecret");
    /// let mut store = FixedReplayStore::<8>::new();
    /// let signature = sign(b"topsecret", b"1710000000", b"{}");
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    /// let mut first = verifier.start(&headers, 1_710_000_000)?;
    /// first.update(b"{}")?;
    /// assert!(first.finish(&mut store).is_ok());
    /// let mut retry = verifier.start(&headers, 1_710_000_000)?;
    /// retry.update(b"{}")?;
    /// assert_eq!(retry.finish(&mut store), Outcome::DuplicateDelivery);
    /// // The timestamp is checked here, after the body, not by `start`.
    /// let mut late = verifier.start(&headers, 1_710_000_301)?;
    /// late.update(b"{}")?;
    /// let stale = Outcome::TimestampOutsideTolerance { tolerance_seconds: 300 };
    /// assert_eq!(late.finish(&mut store), stale);
    /// # Ok::<(), Outcome>(())
    /// ```
    #[inline]
    pub fn finish<G: ReplayGuard + ?Sized>(self, guard: &mut G) -> Outcome {
        match self.check() {
            Ok(checked) => checked.record(guard),
            Err(outcome) => outcome,
        }
    }

    /// Like [`finish`](Self::finish), but stops before the replay step, as
    /// [`Verifier::check`] does.
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, Outcome, ReplayVerdict, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"topsecret");
    /// let signature = sign(b"topsecret", b"1710000000", b"{}");
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    /// let mut verification = verifier.start(&headers, 1_710_000_000)?;
    /// verification.update(b"{}")?;
    /// let checked = verification.check()?;
    /// assert_eq!(checked.conclude(ReplayVerdict::Fresh), Outcome::Verified { used_previous_secret: false });
    /// # Ok::<(), Outcome>(())
    /// ```
    #[inline]
    pub fn check(self) -> Result<Checked<'a>, Outcome> {
        if self.body_len > self.max_body_bytes {
            return Err(Outcome::PayloadTooLarge {
                limit: self.max_body_bytes,
            });
        }
        let (timestamp, signature) = fresh_signed_fields(
            &self.received,
            self.now,
            self.tolerance_seconds,
            self.previous_expired,
        )?;
        let by_current = tag_matches(&self.current.finalize(), &signature);
        let by_previous = self.previous.map_or(Choice::from(0), |previous| {
            tag_matches(&previous.finalize(), &signature)
        });
        Checked::matched(
            SignedFields {
                delivery_id: self.received.delivery_id,
                timestamp,
                signature,
                now: self.now,
                tolerance_seconds: self.tolerance_seconds,
            },
            by_current,
            by_previous,
            self.previous_expired,
        )
    }
}

impl fmt::Debug for BodyVerification<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyVerification")
            .field("body_len", &self.body_len)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// The three signed-delivery headers, present and non-empty, as received.
#[derive(Clone, Copy)]
struct Received<'a> {
    delivery_id: &'a [u8],
    timestamp: &'a [u8],
    signature: &'a [u8],
}

/// Checks 6 and 7, then decodes the signature header: a malformed one matches no secret,
/// so it gets step 8's answer (`previous_secret_expired` once the grace window is over).
#[inline]
fn fresh_signed_fields(
    received: &Received<'_>,
    now: u64,
    tolerance_seconds: u64,
    previous_expired: bool,
) -> Result<(u64, [u8; 32]), Outcome> {
    let timestamp = parse_timestamp(received.timestamp).ok_or(Outcome::InvalidTimestamp)?;
    if now.abs_diff(timestamp) > tolerance_seconds {
        return Err(Outcome::TimestampOutsideTolerance { tolerance_seconds });
    }
    let signature =
        decode_signature(received.signature).ok_or_else(|| no_secret_matched(previous_expired))?;
    Ok((timestamp, signature))
}

/// Step 8's answer when no valid secret produced the signature.
fn no_secret_matched(previous_expired: bool) -> Outcome {
    if previous_expired {
        Outcome::PreviousSecretExpired
    } else {
        Outcome::SignatureMismatch
    }
}

/// HMAC of `timestamp.body` under one prepared secret.
/// The signed fields of a delivery whose headers passed every check before the comparison.
struct SignedFields<'a> {
    delivery_id: &'a [u8],
    timestamp: u64,
    signature: [u8; 32],
    now: u64,
    tolerance_seconds: u64,
}

/// A delivery whose signature matched a valid secret: every check but the replay step
/// passed. Made by [`Verifier::check`] and [`BodyVerification::check`].
///
/// ```
/// use fluxora_webhooks::{DeliveryHeaders, FixedReplayStore, Outcome, ReplayGuard, Verifier, sign};
///
/// let verifier = Verifier::new(b"new").with_previous_secret(b"old", None);
/// let signature = sign(b"old", b"1710000000", b"{}");
/// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
/// let checked = verifier.check(&headers, b"{}", 1_710_000_000)?;
/// assert!(checked.used_previous_secret());
/// let mut store = FixedReplayStore::<4>::new();
/// let verdict = store.check_and_record(&checked.entry());
/// assert_eq!(checked.conclude(verdict), Outcome::Verified { used_previous_secret: true });
/// # Ok::<(), Outcome>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a checked delivery still needs its replay step"]
pub struct Checked<'a> {
    entry: ReplayEntry<'a>,
    used_previous_secret: bool,
}

impl<'a> Checked<'a> {
    /// Step 8: which secret matched (computed by the caller for every valid secret, so
    /// timing does not tell which one signed).
    #[inline]
    fn matched(
        fields: SignedFields<'a>,
        by_current: Choice,
        by_previous: Choice,
        previous_expired: bool,
    ) -> Result<Self, Outcome> {
        if !bool::from(by_current | by_previous) {
            return Err(no_secret_matched(previous_expired));
        }
        Ok(Self {
            entry: ReplayEntry {
                delivery_id: fields.delivery_id,
                timestamp: fields.timestamp,
                signature: fields.signature,
                now: fields.now,
                signature_expires_at: fields.timestamp.saturating_add(fields.tolerance_seconds),
            },
            used_previous_secret: !bool::from(by_current),
        })
    }

    /// What a replay store must check and record for this delivery.
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, Outcome, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"topsecret");
    /// // The padding is part of the signed bytes; the entry holds the parsed value.
    /// let signature = sign(b"topsecret", b" 1710000000 ", b"{}");
    /// let headers = DeliveryHeaders::new("dlv_1", " 1710000000 ", signature.as_str());
    /// let entry = verifier.check(&headers, b"{}", 1_710_000_000)?.entry();
    /// assert_eq!((entry.timestamp, entry.now), (1_710_000_000, 1_710_000_000));
    /// # Ok::<(), Outcome>(())
    /// ```
    #[must_use]
    pub fn entry(&self) -> ReplayEntry<'a> {
        self.entry
    }

    /// True when only the previous (rotated-out) secret produced the signature.
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, Outcome, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"topsecret");
    /// let signature = sign(b"topsecret", b"1710000000", b"{}");
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    /// assert!(!verifier.check(&headers, b"{}", 1_710_000_000)?.used_previous_secret());
    /// # Ok::<(), Outcome>(())
    /// ```
    #[must_use]
    pub fn used_previous_secret(&self) -> bool {
        self.used_previous_secret
    }

    /// Step 9: the outcome for a replay store's verdict on [`entry`](Self::entry).
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, Outcome, ReplayVerdict, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"topsecret");
    /// let signature = sign(b"topsecret", b"1710000000", b"{}");
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    /// let checked = verifier.check(&headers, b"{}", 1_710_000_000)?;
    /// assert_eq!(checked.conclude(ReplayVerdict::ReplayedSignature), Outcome::ReplayedSignature);
    /// assert_eq!(checked.conclude(ReplayVerdict::Full), Outcome::ConsumerOverloaded);
    /// # Ok::<(), Outcome>(())
    /// ```
    pub fn conclude(&self, verdict: ReplayVerdict) -> Outcome {
        verdict.outcome(self.used_previous_secret)
    }

    /// Two-phase replay: reserves the delivery in `store` for `lease_seconds`. `Ok` holds the
    /// reservation to [`commit`](ReplayReservations::commit) once the application handled
    /// the delivery (or [`release`](ReplayReservations::release) when it failed); `Err` is
    /// the outcome to answer (`duplicate_delivery`, `delivery_in_progress`, ...).
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, FixedReplayStore, Outcome, ReplayReservations, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"topsecret");
    /// let mut store = FixedReplayStore::<8>::new();
    /// let signature = sign(b"topsecret", b"1710000000", b"{}");
    /// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    /// let now = 1_710_000_000;
    /// let held = verifier.check(&headers, b"{}", now)?.reserve(&mut store, 60)?;
    /// let concurrent = verifier.check(&headers, b"{}", now)?.reserve(&mut store, 60);
    /// assert_eq!(concurrent.err(), Some(Outcome::DeliveryInProgress));
    /// assert!(store.commit(&held, now)); // the handler answered 2xx
    /// let retry = verifier.check(&headers, b"{}", now)?.reserve(&mut store, 60);
    /// assert_eq!(retry.err(), Some(Outcome::DuplicateDelivery));
    /// # Ok::<(), Outcome>(())
    /// ```
    pub fn reserve<S: ReplayReservations + ?Sized>(
        &self,
        store: &mut S,
        lease_seconds: u64,
    ) -> Result<S::Reservation, Outcome> {
        store
            .reserve(&self.entry, lease_seconds)
            .map_err(|verdict| self.conclude(verdict))
    }

    /// Asks `guard` to check and record the delivery, and concludes with its verdict.
    #[inline]
    fn record<G: ReplayGuard + ?Sized>(&self, guard: &mut G) -> Outcome {
        self.conclude(guard.check_and_record(&self.entry))
    }
}
