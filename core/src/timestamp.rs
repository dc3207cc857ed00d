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
    let value = if digits.len() <= MAX_DIGITS_WITHOUT_OVERFLOW {
        // No overflow possible: validate with a flag instead of a branch per digit, which
        // keeps the multiply-add chain short (this runs on every delivery).
        let mut value: u64 = 0;
        let mut all_digits = true;
        for &byte in digits {
            let digit = byte.wrapping_sub(b'0');
            all_digits &= digit < 10;
            value = value * 10 + u64::from(digit);
        }
        all_digits.then_some(value)?
    } else {
        let mut value: u64 = 0;
        for &byte in digits {
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
        }
        value
    };
    (value > 0).then_some(value)
}

/// The longest input whose unchecked multiply-add cannot overflow a `u64`, even when some
/// bytes are not digits: each is then at most 255, and 255 × 11…1 (17 ones) < 2^64.
const MAX_DIGITS_WITHOUT_OVERFLOW: usize = 17;

#[cfg(test)]
mod tests {
    use super::parse_timestamp;

    #[test]
    fn accepts_plain_and_padded_digits() {
        assert_eq!(parse_timestamp(b"17"), Some(17));
        assert_eq!(parse_timestamp(b"\t17\r\n"), Some(17));
        assert_eq!(parse_timestamp(b"0017"), Some(17));
        // Both sides of the unchecked path's length limit.
        assert_eq!(
            parse_timestamp(b"12345678901234567"),
            Some(12_345_678_901_234_567)
        );
        assert_eq!(
            parse_timestamp(b"123456789012345678"),
            Some(123_456_789_012_345_678)
        );
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
            // Longest input of the unchecked path, all non-digits: no overflow, no panic.
            &[0xff; 17],
            b"1234567890123456x",
            b"12345678901234567x",
        ] {
            assert_eq!(parse_timestamp(raw), None, "{raw:?}");
        }
    }
}
