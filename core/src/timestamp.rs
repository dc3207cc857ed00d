//! Strict parsing of the `x-fluxora-timestamp` header.

/// Parses a timestamp header: a positive integer of ASCII digits, optionally surrounded by
/// ASCII whitespace. Signs, decimal points, exponents, hex, `0` and overflow are rejected.
///
/// ```
/// use fluxora_webhooks::parse_timestamp;
///
/// assert_eq!(parse_timestamp(b" 1710000000 "), Some(1710000000));
/// assert_eq!(parse_timestamp(b"1710000000.0"), None);
/// assert_eq!(parse_timestamp(b"0"), None);
/// assert_eq!(parse_timestamp(b"1e9"), None);
/// ```
pub fn parse_timestamp(raw: &[u8]) -> Option<u64> {
    let digits = raw.trim_ascii();
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
    }
    (value > 0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::parse_timestamp;

    #[test]
    fn accepts_plain_and_padded_digits() {
        assert_eq!(parse_timestamp(b"17"), Some(17));
        assert_eq!(parse_timestamp(b"\t17\r\n"), Some(17));
        assert_eq!(parse_timestamp(b"0017"), Some(17));
        assert_eq!(parse_timestamp(b"18446744073709551615"), Some(u64::MAX));
    }

    #[test]
    fn rejects_everything_else() {
        for raw in [
            &b""[..],
            b"   ",
            b"0",
            b"000",
            b"-1",
            b"+1",
            b"1.5",
            b"1e9",
            b"0x10",
            b"1 7",
            b"18446744073709551616",
            b"1234567890123456789012345",
            "١٢".as_bytes(),
        ] {
            assert_eq!(parse_timestamp(raw), None, "{raw:?}");
        }
    }
}
