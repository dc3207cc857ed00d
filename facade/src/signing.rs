//! The signed header set a test helper or a sender produces, with one delivery-id format.

use fluxora_webhooks::{
    HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, Signer,
};

use crate::replay::lower_hex;

/// A fresh delivery id from 16 random bytes: `dlv_` and 32 lowercase hex digits.
///
/// ```
/// use fluxora_webhooks_facade::delivery_id_from;
///
/// assert_eq!(delivery_id_from([0xab; 16]), format!("dlv_{}", "ab".repeat(16)));
/// ```
#[must_use]
pub fn delivery_id_from(random: [u8; 16]) -> String {
    format!("dlv_{}", lower_hex(&random))
}

/// A fresh delivery id from the operating system's random source.
///
/// ```
/// use fluxora_webhooks_facade::new_delivery_id;
///
/// let (a, b) = (new_delivery_id(), new_delivery_id());
/// assert!(a.starts_with("dlv_") && a.len() == 36 && a != b);
/// ```
#[cfg(feature = "system-random")]
#[must_use]
pub fn new_delivery_id() -> String {
    delivery_id_from(random_bytes())
}

/// 16 bytes from the operating system's random source (with a clock-and-counter fallback).
#[cfg(feature = "system-random")]
pub(crate) fn random_bytes() -> [u8; 16] {
    let mut random = [0u8; 16];
    if getrandom::fill(&mut random).is_err() {
        // No random source: the clock and a counter still make ids unique per process.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        random[..8].copy_from_slice(&(nanos as u64).to_be_bytes());
        random[8..].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    }
    random
}

/// The exact bytes that are signed: the timestamp, one `.`, then the raw body.
///
/// ```
/// assert_eq!(fluxora_webhooks_facade::signing_payload(b"17", b"{}"), b"17.{}");
/// ```
#[must_use]
pub fn signing_payload(timestamp: &[u8], body: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(timestamp.len() + 1 + body.len());
    payload.extend_from_slice(timestamp);
    payload.push(b'.');
    payload.extend_from_slice(body);
    payload
}

/// Every header of one signed delivery, as a sender sends them.
///
/// ```
/// use fluxora_webhooks_facade::SignedHeaderSet;
///
/// let set = SignedHeaderSet::sign(b"topsecret", br#"{"event":"stream.updated"}"#, "1710000000", "dlv_1".into(), Some("stream.updated"));
/// assert_eq!(set.signature, "925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79");
/// let names: Vec<_> = set.pairs().into_iter().map(|(name, _)| name).collect();
/// assert_eq!(names, ["x-fluxora-delivery-id", "x-fluxora-timestamp", "x-fluxora-signature", "x-fluxora-event"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaderSet {
    /// `x-fluxora-delivery-id`.
    pub delivery_id: String,
    /// `x-fluxora-timestamp`.
    pub timestamp: String,
    /// `x-fluxora-signature`: lowercase hex HMAC-SHA256 of `timestamp.body`.
    pub signature: String,
    /// `x-fluxora-event`, when given (not signed).
    pub event: Option<String>,
}

impl SignedHeaderSet {
    /// Signs `body` at `timestamp` (text exactly as it will be sent).
    #[must_use]
    pub fn sign(
        secret: &[u8],
        body: &[u8],
        timestamp: &str,
        delivery_id: String,
        event: Option<&str>,
    ) -> Self {
        let signature = Signer::new(secret).sign(timestamp.as_bytes(), body);
        Self {
            delivery_id,
            timestamp: timestamp.to_owned(),
            signature: signature.as_str().to_owned(),
            event: event.map(str::to_owned),
        }
    }

    /// The headers as (name, value) pairs, in the order above.
    #[must_use]
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = vec![
            (HEADER_DELIVERY_ID, self.delivery_id.as_str()),
            (HEADER_TIMESTAMP, self.timestamp.as_str()),
            (HEADER_SIGNATURE, self.signature.as_str()),
        ];
        if let Some(event) = &self.event {
            pairs.push((HEADER_EVENT, event.as_str()));
        }
        pairs
    }
}
