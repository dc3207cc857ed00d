//! The signed headers of one delivery, as received.

/// Header carrying the stable id of one delivery (the same across its retries).
///
/// ```
/// use fluxora_webhooks::{DeliveryHeaders, HEADER_DELIVERY_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
///
/// // Header names are case-insensitive on the wire.
/// let received = [("X-Fluxora-Delivery-Id", "dlv_1"), ("x-fluxora-timestamp", "1710000000")];
/// let find = |name: &str| {
///     received.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_bytes())
/// };
/// let headers = DeliveryHeaders {
///     delivery_id: find(HEADER_DELIVERY_ID),
///     timestamp: find(HEADER_TIMESTAMP),
///     signature: find(HEADER_SIGNATURE),
/// };
/// assert_eq!(headers.delivery_id, Some(&b"dlv_1"[..]));
/// assert_eq!(headers.signature, None);
/// ```
pub const HEADER_DELIVERY_ID: &str = "x-fluxora-delivery-id";
/// Header carrying the Unix time in seconds at which this attempt was signed.
///
/// ```
/// use fluxora_webhooks::{parse_timestamp, HEADER_TIMESTAMP};
///
/// assert_eq!(HEADER_TIMESTAMP, "x-fluxora-timestamp");
/// assert!("X-Fluxora-Timestamp".eq_ignore_ascii_case(HEADER_TIMESTAMP));
/// assert_eq!(parse_timestamp(b"1710000000"), Some(1_710_000_000));
/// ```
pub const HEADER_TIMESTAMP: &str = "x-fluxora-timestamp";
/// Header carrying the lowercase hex HMAC-SHA256 of `timestamp.rawBody`.
///
/// ```
/// use fluxora_webhooks::{sign, HEADER_SIGNATURE, SIGNATURE_HEX_LEN};
///
/// assert_eq!(HEADER_SIGNATURE, "x-fluxora-signature");
/// let value = sign(b"topsecret", b"1710000000", b"{}");
/// assert_eq!(value.as_str().len(), SIGNATURE_HEX_LEN);
/// assert!(value.as_str().bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
/// ```
pub const HEADER_SIGNATURE: &str = "x-fluxora-signature";
/// Header carrying the event name. It is NOT signed: never route on it without
/// checking the signed body.
///
/// ```
/// use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Verifier, HEADER_EVENT, sign};
///
/// assert_eq!(HEADER_EVENT, "x-fluxora-event");
/// // `DeliveryHeaders` has no field for it: verification never reads this header.
/// let body = br#"{"event":"stream.updated"}"#;
/// let signature = sign(b"topsecret", b"1710000000", body);
/// let headers = DeliveryHeaders::new("dlv_1", "1710000000", signature.as_str());
/// let verifier = Verifier::new(b"topsecret");
/// let outcome = verifier.verify(&headers, body, 1_710_000_000, &mut NoReplayGuard);
/// assert!(outcome.is_ok()); // now route on the body's "event" field, which was signed
/// ```
pub const HEADER_EVENT: &str = "x-fluxora-event";

/// The three headers verification reads, as raw bytes exactly as received.
///
/// `None` means the header was absent; an empty value is treated the same way.
///
/// ```
/// use fluxora_webhooks::DeliveryHeaders;
///
/// let headers = DeliveryHeaders::new("dlv_1", "1710000000", "925006549b87...");
/// assert_eq!(headers.delivery_id, Some(&b"dlv_1"[..]));
/// assert_eq!(DeliveryHeaders::default().timestamp, None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryHeaders<'a> {
    /// Value of `x-fluxora-delivery-id`.
    pub delivery_id: Option<&'a [u8]>,
    /// Value of `x-fluxora-timestamp`.
    pub timestamp: Option<&'a [u8]>,
    /// Value of `x-fluxora-signature`.
    pub signature: Option<&'a [u8]>,
}

impl<'a> DeliveryHeaders<'a> {
    /// Headers that are all present, from anything byte-like (`&str`, `&[u8]`).
    ///
    /// ```
    /// use fluxora_webhooks::DeliveryHeaders;
    ///
    /// let timestamp: &[u8] = b"1710000000";
    /// let headers = DeliveryHeaders::new("dlv_1", timestamp, "abc");
    /// assert_eq!(headers.delivery_id, Some(&b"dlv_1"[..]));
    /// assert_eq!(headers.timestamp, Some(timestamp));
    /// assert_eq!(headers.signature, Some(&b"abc"[..]));
    /// ```
    pub fn new(
        delivery_id: &'a (impl AsRef<[u8]> + ?Sized),
        timestamp: &'a (impl AsRef<[u8]> + ?Sized),
        signature: &'a (impl AsRef<[u8]> + ?Sized),
    ) -> Self {
        Self {
            delivery_id: Some(delivery_id.as_ref()),
            timestamp: Some(timestamp.as_ref()),
            signature: Some(signature.as_ref()),
        }
    }
}

/// Absent and empty are the same thing for the contract.
pub(crate) fn present(value: Option<&[u8]>) -> Option<&[u8]> {
    value.filter(|v| !v.is_empty())
}
