//! The signed headers of one delivery, as received.

/// Header carrying the stable id of one delivery (the same across its retries).
pub const HEADER_DELIVERY_ID: &str = "x-fluxora-delivery-id";
/// Header carrying the Unix time in seconds at which this attempt was signed.
pub const HEADER_TIMESTAMP: &str = "x-fluxora-timestamp";
/// Header carrying the lowercase hex HMAC-SHA256 of `timestamp.rawBody`.
pub const HEADER_SIGNATURE: &str = "x-fluxora-signature";
/// Header carrying the event name. It is NOT signed: never route on it without
/// checking the signed body.
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
