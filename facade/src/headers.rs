//! Header lookup: the one rule every runtime, the server and the CLI apply to a request's
//! header fields (RFC 9110: names are case-insensitive; a field that appears more than
//! once is one value, its values joined with `", "` in order).

use fluxora_webhooks::{
    DeliveryHeaders, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};

/// What a binding raises when it is handed a request object instead of its headers.
///
/// ```
/// assert!(fluxora_webhooks_facade::REQUEST_OBJECT_HINT.starts_with("pass request.headers"));
/// ```
pub const REQUEST_OBJECT_HINT: &str = "pass request.headers (a mapping of header names to values, or a list of (name, value) pairs), not the request object";

/// The headers of the wire contract that verification reads.
///
/// ```
/// use fluxora_webhooks_facade::ContractHeader;
///
/// assert_eq!(ContractHeader::of(b"X-Fluxora-Signature"), Some(ContractHeader::Signature));
/// assert_eq!(ContractHeader::of(b"content-type"), None);
/// assert_eq!(ContractHeader::Event.name(), "x-fluxora-event");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContractHeader {
    /// `x-fluxora-delivery-id`
    DeliveryId,
    /// `x-fluxora-timestamp`
    Timestamp,
    /// `x-fluxora-signature`
    Signature,
    /// `x-fluxora-event` (not signed)
    Event,
}

impl ContractHeader {
    /// Every contract header, in the order verification reads them.
    pub const ALL: [Self; 4] = [
        Self::DeliveryId,
        Self::Timestamp,
        Self::Signature,
        Self::Event,
    ];

    /// The header's name, lowercase as on the wire.
    ///
    /// ```
    /// use fluxora_webhooks_facade::ContractHeader;
    ///
    /// let names: Vec<_> = ContractHeader::ALL.iter().map(|h| h.name()).collect();
    /// assert_eq!(names[0], "x-fluxora-delivery-id");
    /// ```
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::DeliveryId => HEADER_DELIVERY_ID,
            Self::Timestamp => HEADER_TIMESTAMP,
            Self::Signature => HEADER_SIGNATURE,
            Self::Event => HEADER_EVENT,
        }
    }

    /// The contract header a field name denotes, compared case-insensitively (ASCII).
    ///
    /// ```
    /// use fluxora_webhooks_facade::ContractHeader;
    ///
    /// assert_eq!(ContractHeader::of(b"X-FLUXORA-TIMESTAMP"), Some(ContractHeader::Timestamp));
    /// assert_eq!(ContractHeader::of(b" x-fluxora-timestamp"), None); // names are not trimmed
    /// ```
    #[must_use]
    pub fn of(name: &[u8]) -> Option<Self> {
        // Every contract name starts with `x-fluxora-`; most request headers do not, so
        // the common case costs one length check and one short comparison.
        if name.len() < 15 {
            return None;
        }
        Self::ALL
            .into_iter()
            .find(|header| name.eq_ignore_ascii_case(header.name().as_bytes()))
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// The contract headers of one request, gathered from its header fields.
///
/// Feed it every field of the request (in order, names as received); it keeps the four
/// contract headers and combines repeated ones. A repeated signature or timestamp thus
/// never verifies (it is not 64 hex digits, not an integer): no runtime picks the first
/// or the last value.
///
/// ```
/// use fluxora_webhooks_facade::{ContractHeader, ReceivedHeaders};
///
/// let headers = ReceivedHeaders::from_pairs([
///     ("X-Fluxora-Delivery-Id", "dlv_1"),
///     ("content-type", "application/json"),
///     ("x-fluxora-signature", "aa"),
///     ("X-FLUXORA-SIGNATURE", "bb"),
/// ]);
/// assert_eq!(headers.get(ContractHeader::DeliveryId), Some(&b"dlv_1"[..]));
/// assert_eq!(headers.get(ContractHeader::Signature), Some(&b"aa, bb"[..]));
/// assert_eq!(headers.get(ContractHeader::Timestamp), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceivedHeaders {
    values: [Option<Vec<u8>>; 4],
}

impl ReceivedHeaders {
    /// No header received yet.
    ///
    /// ```
    /// use fluxora_webhooks_facade::ReceivedHeaders;
    ///
    /// assert!(ReceivedHeaders::new().delivery().delivery_id.is_none());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Gathers the contract headers from (name, value) pairs, in order.
    ///
    /// ```
    /// use fluxora_webhooks_facade::ReceivedHeaders;
    ///
    /// let headers = ReceivedHeaders::from_pairs([(b"x-fluxora-timestamp", b"1710000000")]);
    /// assert_eq!(headers.delivery().timestamp, Some(&b"1710000000"[..]));
    /// ```
    pub fn from_pairs<I, N, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut headers = Self::new();
        for (name, value) in pairs {
            headers.push(name.as_ref(), value.as_ref());
        }
        headers
    }

    /// Adds one header field; answers whether it was a contract header. Other fields are
    /// ignored, so a binding may pass every field without looking at names itself.
    ///
    /// ```
    /// use fluxora_webhooks_facade::ReceivedHeaders;
    ///
    /// let mut headers = ReceivedHeaders::new();
    /// assert!(headers.push(b"X-Fluxora-Event", b"stream.created"));
    /// assert!(!headers.push(b"accept", b"*/*"));
    /// assert_eq!(headers.event(), Some(&b"stream.created"[..]));
    /// ```
    pub fn push(&mut self, name: &[u8], value: &[u8]) -> bool {
        match ContractHeader::of(name) {
            Some(header) => {
                self.append(header, value);
                true
            }
            None => false,
        }
    }

    /// Adds one value of a known contract header (a repeated field is combined).
    ///
    /// ```
    /// use fluxora_webhooks_facade::{ContractHeader, ReceivedHeaders};
    ///
    /// let mut headers = ReceivedHeaders::new();
    /// headers.append(ContractHeader::Timestamp, b"1");
    /// headers.append(ContractHeader::Timestamp, b"2");
    /// assert_eq!(headers.get(ContractHeader::Timestamp), Some(&b"1, 2"[..]));
    /// ```
    pub fn append(&mut self, header: ContractHeader, value: &[u8]) {
        match &mut self.values[header.index()] {
            Some(combined) => {
                combined.extend_from_slice(b", ");
                combined.extend_from_slice(value);
            }
            slot @ None => *slot = Some(value.to_vec()),
        }
    }

    /// Sets a header from an explicitly given field (for example a `delivery_id=`
    /// argument), replacing whatever the header map held; `None` leaves it as it is.
    ///
    /// ```
    /// use fluxora_webhooks_facade::{ContractHeader, ReceivedHeaders};
    ///
    /// let mut headers = ReceivedHeaders::from_pairs([("x-fluxora-delivery-id", "from-map")]);
    /// headers.set(ContractHeader::DeliveryId, Some(b"explicit"));
    /// headers.set(ContractHeader::DeliveryId, None);
    /// assert_eq!(headers.get(ContractHeader::DeliveryId), Some(&b"explicit"[..]));
    /// ```
    pub fn set(&mut self, header: ContractHeader, value: Option<&[u8]>) {
        if let Some(value) = value {
            self.values[header.index()] = Some(value.to_vec());
        }
    }

    /// The received (combined) value of a contract header.
    ///
    /// ```
    /// use fluxora_webhooks_facade::{ContractHeader, ReceivedHeaders};
    ///
    /// assert_eq!(ReceivedHeaders::new().get(ContractHeader::Event), None);
    /// ```
    #[must_use]
    pub fn get(&self, header: ContractHeader) -> Option<&[u8]> {
        self.values[header.index()].as_deref()
    }

    /// The unsigned `x-fluxora-event` header: never route on it without checking the
    /// signed body.
    ///
    /// ```
    /// use fluxora_webhooks_facade::ReceivedHeaders;
    ///
    /// let headers = ReceivedHeaders::from_pairs([("x-fluxora-event", "stream.updated")]);
    /// assert_eq!(headers.event(), Some(&b"stream.updated"[..]));
    /// ```
    #[must_use]
    pub fn event(&self) -> Option<&[u8]> {
        self.get(ContractHeader::Event)
    }

    /// The core's view of the three signed-delivery headers.
    ///
    /// ```
    /// use fluxora_webhooks_facade::ReceivedHeaders;
    ///
    /// let headers = ReceivedHeaders::from_pairs([("x-fluxora-delivery-id", "dlv_1")]);
    /// assert_eq!(headers.delivery().delivery_id, Some(&b"dlv_1"[..]));
    /// ```
    #[must_use]
    pub fn delivery(&self) -> DeliveryHeaders<'_> {
        DeliveryHeaders {
            delivery_id: self.get(ContractHeader::DeliveryId),
            timestamp: self.get(ContractHeader::Timestamp),
            signature: self.get(ContractHeader::Signature),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_every_name_is_found() {
        for header in ContractHeader::ALL {
            let name = header.name();
            let upper = name.to_ascii_uppercase();
            let title: String = name
                .split('-')
                .map(|part| {
                    let mut chars = part.chars();
                    chars.next().map_or_else(String::new, |first| {
                        first.to_ascii_uppercase().to_string() + chars.as_str()
                    })
                })
                .collect::<Vec<_>>()
                .join("-");
            for spelling in [name.to_owned(), upper, title] {
                assert_eq!(ContractHeader::of(spelling.as_bytes()), Some(header));
            }
        }
    }

    #[test]
    fn near_names_are_not_contract_headers() {
        for name in [
            "x-fluxora-signature ",
            "x-fluxora-signatures",
            "x_fluxora_signature",
            "fluxora-signature",
            "",
        ] {
            assert_eq!(ContractHeader::of(name.as_bytes()), None, "{name:?}");
        }
    }

    #[test]
    fn repeated_fields_combine_in_order_across_spellings() {
        let headers = ReceivedHeaders::from_pairs([
            ("x-fluxora-signature", "bad"),
            ("X-Fluxora-Signature", "good"),
            ("X-FLUXORA-SIGNATURE", ""),
        ]);
        assert_eq!(
            headers.get(ContractHeader::Signature),
            Some(&b"bad, good, "[..])
        );
    }
}
