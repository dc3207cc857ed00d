//! Every answer a verification can give, with the contract's code, HTTP status and message.

use core::fmt;

use crate::text::FixedText;

/// The result of verifying one delivery: success, or the first check that failed.
///
/// The variants are listed in the order the checks run; the first failing check wins.
/// [`code`](Outcome::code), [`status`](Outcome::status) and [`message`](Outcome::message)
/// are the public contract: every runtime answers the same strings for the same input.
///
/// ```
/// use fluxora_webhooks::Outcome;
///
/// let outcome = Outcome::PayloadTooLarge { limit: 1024 };
/// assert_eq!(outcome.code(), "payload_too_large");
/// assert_eq!(outcome.status(), 413);
/// assert_eq!(outcome.message().as_str(), "Payload exceeds 1024 bytes");
/// assert!(!outcome.is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[must_use = "an outcome says whether the delivery may be processed"]
pub enum Outcome {
    /// Every check passed. `used_previous_secret` is true when only the previous
    /// (rotated-out) secret produced the signature.
    Verified {
        /// The previous secret, inside its grace window, produced the signature.
        used_previous_secret: bool,
    },
    /// No secret is configured, or it is empty: a receiver misconfiguration (500, so the sender retries).
    MissingSecret,
    /// The `x-fluxora-delivery-id` header is absent or empty.
    MissingDeliveryId,
    /// The `x-fluxora-timestamp` header is absent or empty.
    MissingTimestamp,
    /// The `x-fluxora-signature` header is absent or empty.
    MissingSignature,
    /// The body is longer than the configured limit.
    PayloadTooLarge {
        /// The configured limit in bytes (a body of exactly this length passes).
        limit: u64,
    },
    /// The timestamp is not a positive integer of ASCII digits.
    InvalidTimestamp,
    /// The timestamp is further than the tolerance from `now`, in either direction.
    TimestampOutsideTolerance {
        /// The configured tolerance in seconds (a distance of exactly this passes).
        tolerance_seconds: u64,
    },
    /// No valid secret produced the signature, and the previous secret's grace window is over.
    PreviousSecretExpired,
    /// No configured secret produced the signature (this includes malformed signature headers).
    SignatureMismatch,
    /// The delivery id was already accepted.
    DuplicateDelivery,
    /// The same (timestamp, signature) pair was already accepted under another delivery id.
    ReplayedSignature,
    /// The replay store is full of unexpired entries and cannot record this delivery.
    ConsumerOverloaded,
    /// The delivery id is reserved by an attempt still being processed (two-phase replay):
    /// retry later.
    DeliveryInProgress,
}

/// The stable identifier of an [`Outcome`], without its parameters.
///
/// Useful to list every code (for facades that export them as constants) and to
/// match on a code string received from elsewhere.
///
/// ```
/// use fluxora_webhooks::OutcomeCode;
///
/// assert_eq!(OutcomeCode::ALL.len(), 14);
/// assert_eq!(OutcomeCode::from_code("replayed_signature"), Some(OutcomeCode::ReplayedSignature));
/// assert_eq!(OutcomeCode::ReplayedSignature.status(), 409);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum OutcomeCode {
    /// `ok`
    Ok,
    /// `missing_secret`
    MissingSecret,
    /// `missing_delivery_id`
    MissingDeliveryId,
    /// `missing_timestamp`
    MissingTimestamp,
    /// `missing_signature`
    MissingSignature,
    /// `payload_too_large`
    PayloadTooLarge,
    /// `invalid_timestamp`
    InvalidTimestamp,
    /// `timestamp_outside_tolerance`
    TimestampOutsideTolerance,
    /// `previous_secret_expired`
    PreviousSecretExpired,
    /// `signature_mismatch`
    SignatureMismatch,
    /// `duplicate_delivery`
    DuplicateDelivery,
    /// `replayed_signature`
    ReplayedSignature,
    /// `consumer_overloaded`
    ConsumerOverloaded,
    /// `delivery_in_progress`
    DeliveryInProgress,
}

impl OutcomeCode {
    /// Every code, in the order the checks run (`Ok` first).
    ///
    /// ```
    /// use fluxora_webhooks::OutcomeCode;
    ///
    /// assert_eq!(OutcomeCode::ALL[0], OutcomeCode::Ok);
    /// // `Ord` follows the order the checks run.
    /// assert!(OutcomeCode::ALL.windows(2).all(|pair| pair[0] < pair[1]));
    /// let unauthorized = OutcomeCode::ALL.iter().filter(|code| code.status() == 401);
    /// assert_eq!(unauthorized.count(), 6);
    /// ```
    pub const ALL: [OutcomeCode; 14] = [
        Self::Ok,
        Self::MissingSecret,
        Self::MissingDeliveryId,
        Self::MissingTimestamp,
        Self::MissingSignature,
        Self::PayloadTooLarge,
        Self::InvalidTimestamp,
        Self::TimestampOutsideTolerance,
        Self::PreviousSecretExpired,
        Self::SignatureMismatch,
        Self::DuplicateDelivery,
        Self::ReplayedSignature,
        Self::ConsumerOverloaded,
        Self::DeliveryInProgress,
    ];

    /// The contract's code string, e.g. `"signature_mismatch"`.
    ///
    /// ```
    /// use fluxora_webhooks::OutcomeCode;
    ///
    /// assert_eq!(OutcomeCode::SignatureMismatch.as_str(), "signature_mismatch");
    /// assert_eq!(OutcomeCode::Ok.as_str(), "ok");
    /// assert_eq!(OutcomeCode::ConsumerOverloaded.to_string(), "consumer_overloaded");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::MissingSecret => "missing_secret",
            Self::MissingDeliveryId => "missing_delivery_id",
            Self::MissingTimestamp => "missing_timestamp",
            Self::MissingSignature => "missing_signature",
            Self::PayloadTooLarge => "payload_too_large",
            Self::InvalidTimestamp => "invalid_timestamp",
            Self::TimestampOutsideTolerance => "timestamp_outside_tolerance",
            Self::PreviousSecretExpired => "previous_secret_expired",
            Self::SignatureMismatch => "signature_mismatch",
            Self::DuplicateDelivery => "duplicate_delivery",
            Self::ReplayedSignature => "replayed_signature",
            Self::ConsumerOverloaded => "consumer_overloaded",
            Self::DeliveryInProgress => "delivery_in_progress",
        }
    }

    /// The HTTP status a receiver answers with.
    ///
    /// ```
    /// use fluxora_webhooks::OutcomeCode;
    ///
    /// assert_eq!(OutcomeCode::Ok.status(), 200);
    /// assert_eq!(OutcomeCode::MissingSecret.status(), 500);
    /// assert_eq!(OutcomeCode::PayloadTooLarge.status(), 413);
    /// assert_eq!(OutcomeCode::ConsumerOverloaded.status(), 429);
    /// ```
    pub const fn status(self) -> u16 {
        match self {
            Self::Ok => 200,
            Self::MissingSecret => 500,
            Self::PayloadTooLarge => 413,
            Self::InvalidTimestamp => 400,
            Self::DuplicateDelivery | Self::ReplayedSignature => 409,
            Self::ConsumerOverloaded | Self::DeliveryInProgress => 429,
            Self::MissingDeliveryId
            | Self::MissingTimestamp
            | Self::MissingSignature
            | Self::TimestampOutsideTolerance
            | Self::PreviousSecretExpired
            | Self::SignatureMismatch => 401,
        }
    }

    /// The code for a contract code string, or `None` for an unknown string.
    ///
    /// ```
    /// use fluxora_webhooks::OutcomeCode;
    ///
    /// assert_eq!(OutcomeCode::from_code("payload_too_large"), Some(OutcomeCode::PayloadTooLarge));
    /// assert_eq!(OutcomeCode::from_code("PAYLOAD_TOO_LARGE"), None);
    /// assert_eq!(OutcomeCode::from_code(""), None);
    /// ```
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

impl fmt::Display for OutcomeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Outcome {
    /// True only for [`Outcome::Verified`].
    ///
    /// ```
    /// use fluxora_webhooks::Outcome;
    ///
    /// assert!(Outcome::Verified { used_previous_secret: false }.is_ok());
    /// assert!(Outcome::Verified { used_previous_secret: true }.is_ok());
    /// assert!(!Outcome::SignatureMismatch.is_ok());
    /// assert!(!Outcome::DuplicateDelivery.is_ok());
    /// ```
    pub const fn is_ok(&self) -> bool {
        matches!(self, Self::Verified { .. })
    }

    /// True when only the previous secret (inside its grace window) produced the signature.
    ///
    /// ```
    /// use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Verifier, sign};
    ///
    /// let verifier = Verifier::new(b"new-secret").with_previous_secret(b"old-secret", None);
    /// let verify = |secret: &[u8]| {
    ///     let signature = sign(secret, b"1710000000", b"{}");
    ///     let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
    ///     verifier.verify(&headers, b"{}", 1_710_000_000, &mut NoReplayGuard)
    /// };
    /// assert!(verify(b"old-secret").used_previous_secret());
    /// assert!(!verify(b"new-secret").used_previous_secret());
    /// assert!(verify(b"new-secret").is_ok());
    /// ```
    pub const fn used_previous_secret(&self) -> bool {
        matches!(
            self,
            Self::Verified {
                used_previous_secret: true
            }
        )
    }

    /// The outcome's stable identifier without parameters.
    ///
    /// ```
    /// use fluxora_webhooks::{Outcome, OutcomeCode};
    ///
    /// let outcome = Outcome::PayloadTooLarge { limit: 1024 };
    /// assert_eq!(outcome.kind(), OutcomeCode::PayloadTooLarge);
    /// // Parameters are dropped: every limit has the same kind.
    /// assert_eq!(Outcome::PayloadTooLarge { limit: 1 }.kind(), outcome.kind());
    /// assert_eq!(Outcome::Verified { used_previous_secret: true }.kind(), OutcomeCode::Ok);
    /// ```
    pub const fn kind(&self) -> OutcomeCode {
        match self {
            Self::Verified { .. } => OutcomeCode::Ok,
            Self::MissingSecret => OutcomeCode::MissingSecret,
            Self::MissingDeliveryId => OutcomeCode::MissingDeliveryId,
            Self::MissingTimestamp => OutcomeCode::MissingTimestamp,
            Self::MissingSignature => OutcomeCode::MissingSignature,
            Self::PayloadTooLarge { .. } => OutcomeCode::PayloadTooLarge,
            Self::InvalidTimestamp => OutcomeCode::InvalidTimestamp,
            Self::TimestampOutsideTolerance { .. } => OutcomeCode::TimestampOutsideTolerance,
            Self::PreviousSecretExpired => OutcomeCode::PreviousSecretExpired,
            Self::SignatureMismatch => OutcomeCode::SignatureMismatch,
            Self::DuplicateDelivery => OutcomeCode::DuplicateDelivery,
            Self::ReplayedSignature => OutcomeCode::ReplayedSignature,
            Self::ConsumerOverloaded => OutcomeCode::ConsumerOverloaded,
            Self::DeliveryInProgress => OutcomeCode::DeliveryInProgress,
        }
    }

    /// The contract's code string, e.g. `"ok"` or `"timestamp_outside_tolerance"`.
    ///
    /// ```
    /// use fluxora_webhooks::Outcome;
    ///
    /// assert_eq!(Outcome::Verified { used_previous_secret: true }.code(), "ok");
    /// let stale = Outcome::TimestampOutsideTolerance { tolerance_seconds: 60 };
    /// assert_eq!(stale.code(), "timestamp_outside_tolerance");
    /// assert_eq!(Outcome::MissingSignature.code(), "missing_signature");
    /// ```
    pub const fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The HTTP status a receiver answers with.
    ///
    /// ```
    /// use fluxora_webhooks::Outcome;
    ///
    /// assert_eq!(Outcome::Verified { used_previous_secret: false }.status(), 200);
    /// assert_eq!(Outcome::InvalidTimestamp.status(), 400);
    /// assert_eq!(Outcome::SignatureMismatch.status(), 401);
    /// assert_eq!(Outcome::DuplicateDelivery.status(), 409);
    /// ```
    pub const fn status(&self) -> u16 {
        self.kind().status()
    }

    /// The contract's human-readable message, formatted without allocating.
    ///
    /// ```
    /// use fluxora_webhooks::Outcome;
    /// let outcome = Outcome::TimestampOutsideTolerance { tolerance_seconds: 300 };
    /// assert_eq!(
    ///     outcome.message().as_str(),
    ///     "Timestamp is outside the 300 second verification window"
    /// );
    /// ```
    pub fn message(&self) -> MessageText {
        MessageText::display(self)
    }
}

/// The messages live here and nowhere else; `message()` and every facade reuse them.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Verified { .. } => f.write_str("Webhook signature verified"),
            Self::MissingSecret => f.write_str("Webhook secret is required"),
            Self::MissingDeliveryId => f.write_str("Missing x-fluxora-delivery-id header"),
            Self::MissingTimestamp => f.write_str("Missing x-fluxora-timestamp header"),
            Self::MissingSignature => f.write_str("Missing x-fluxora-signature header"),
            Self::PayloadTooLarge { limit } => write!(f, "Payload exceeds {limit} bytes"),
            Self::InvalidTimestamp => {
                f.write_str("Timestamp must be a positive Unix seconds value")
            }
            Self::TimestampOutsideTolerance { tolerance_seconds } => write!(
                f,
                "Timestamp is outside the {tolerance_seconds} second verification window"
            ),
            Self::PreviousSecretExpired => {
                f.write_str("Previous webhook secret has expired; rotate to the current secret")
            }
            Self::SignatureMismatch => f.write_str("Webhook signature verification failed"),
            Self::DuplicateDelivery => f.write_str("Duplicate delivery id"),
            Self::ReplayedSignature => {
                f.write_str("Signature was already used by another delivery")
            }
            Self::ConsumerOverloaded => f.write_str("Replay store is full; retry later"),
            Self::DeliveryInProgress => f.write_str("Delivery is being processed; retry later"),
        }
    }
}

/// Serialized as its contract string, e.g. `"signature_mismatch"`.
#[cfg(feature = "serde")]
impl serde::Serialize for OutcomeCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Deserialized from its contract string; any other string is an error.
#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for OutcomeCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <&str>::deserialize(deserializer)?;
        Self::from_code(code).ok_or_else(|| {
            serde::de::Error::invalid_value(serde::de::Unexpected::Str(code), &"an outcome code")
        })
    }
}

/// An outcome message: the longest, with a 20-digit number, is 72 bytes.
///
/// ```
/// use fluxora_webhooks::{MessageText, Outcome};
///
/// let message: MessageText = Outcome::MissingSecret.message();
/// assert_eq!(message, "Webhook secret is required");
/// assert_eq!(message.to_string(), message.as_str());
/// ```
pub type MessageText = FixedText<96>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_string() {
        for code in OutcomeCode::ALL {
            assert_eq!(OutcomeCode::from_code(code.as_str()), Some(code));
        }
        assert_eq!(OutcomeCode::from_code("nope"), None);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn codes_serialize_as_their_contract_strings() {
        for code in OutcomeCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, std::format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<OutcomeCode>(&json).unwrap(), code);
        }
        assert!(serde_json::from_str::<OutcomeCode>("\"nope\"").is_err());
    }

    #[test]
    fn longest_message_fits_the_buffer() {
        let outcome = Outcome::TimestampOutsideTolerance {
            tolerance_seconds: u64::MAX,
        };
        assert_eq!(
            outcome.message().as_str(),
            "Timestamp is outside the 18446744073709551615 second verification window"
        );
    }
}
