//! Decimal amounts as they cross the Fluxora API: strings, never JSON numbers.
//!
//! A value must match `^[+-]?[0-9]+(\.[0-9]+)?$`, its integer part must fit in an `i64`
//! (absolute value), and amounts carry at most 7 fractional digits (Stellar's precision,
//! 1 unit = 10^7 stroops). Normalization strips trailing fractional zeros and borrows
//! from the input: it never allocates.
//!
//! ```
//! use fluxora_webhooks::decimal::{self, DecimalError};
//!
//! let amount = decimal::parse_amount("100.50").unwrap();
//! assert_eq!(amount.as_str(), "100.5");
//! assert_eq!(amount.to_stroops(), Ok(1_005_000_000));
//! assert_eq!(decimal::parse_amount(".5"), Err(DecimalError::InvalidFormat));
//! assert_eq!(DecimalError::InvalidFormat.code(), "DECIMAL_INVALID_FORMAT");
//! ```

use core::fmt;

use crate::text::FixedText;

/// Fractional digits an amount may carry (Stellar's 7-decimal precision).
///
/// ```
/// use fluxora_webhooks::decimal::{parse_amount, DecimalError, STELLAR_DECIMALS};
///
/// assert_eq!(STELLAR_DECIMALS, 7);
/// assert!(parse_amount("1.0000001").is_ok());
/// assert_eq!(parse_amount("1.00000001"), Err(DecimalError::PrecisionExceeded));
/// ```
pub const STELLAR_DECIMALS: usize = 7;
/// Stroops in one unit.
///
/// ```
/// use fluxora_webhooks::decimal::{format_stroops, to_stroops, STROOPS_PER_UNIT};
///
/// assert_eq!(to_stroops("1"), Ok(STROOPS_PER_UNIT));
/// assert_eq!(to_stroops("-3"), Ok(-3 * STROOPS_PER_UNIT));
/// assert_eq!(format_stroops(STROOPS_PER_UNIT / 4), "0.25");
/// ```
pub const STROOPS_PER_UNIT: i128 = 10_000_000;
const MAX_INTEGER_PART: &[u8] = b"9223372036854775807";

/// Why a value is not an acceptable decimal, in the order the checks run.
///
/// ```
/// use fluxora_webhooks::decimal::{parse_amount, DecimalError};
///
/// let error = parse_amount("1e10").unwrap_err();
/// assert_eq!(error, DecimalError::InvalidFormat);
/// assert_eq!(error.code(), "DECIMAL_INVALID_FORMAT");
/// assert_eq!(error.to_string(), "Decimal value must match ^[+-]?[0-9]+(\\.[0-9]+)?$");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DecimalError {
    /// Null, undefined, missing, empty, or only whitespace.
    #[error("Decimal value is required")]
    EmptyValue,
    /// Not a string (a JSON number, object, list or bool). Produced by facades, which see
    /// the dynamic type; the core only ever receives strings.
    #[error("Decimal value must be a string")]
    InvalidType,
    /// Does not match `^[+-]?[0-9]+(\.[0-9]+)?$`.
    #[error("Decimal value must match ^[+-]?[0-9]+(\\.[0-9]+)?$")]
    InvalidFormat,
    /// The integer part's absolute value exceeds 9223372036854775807.
    #[error("Decimal value is out of range")]
    OutOfRange,
    /// More than 7 fractional digits where Stellar precision is required.
    #[error("Decimal value has more than 7 fractional digits")]
    PrecisionExceeded,
}

impl DecimalError {
    /// Every error, in the order the checks run.
    ///
    /// ```
    /// use fluxora_webhooks::decimal::DecimalError;
    ///
    /// assert_eq!(DecimalError::ALL.len(), 5);
    /// assert_eq!(DecimalError::ALL[0], DecimalError::EmptyValue);
    /// let codes = DecimalError::ALL.map(DecimalError::code);
    /// assert!(codes.iter().all(|code| code.starts_with("DECIMAL_")));
    /// assert_eq!(codes[4], "DECIMAL_PRECISION_EXCEEDED");
    /// ```
    pub const ALL: [DecimalError; 5] = [
        Self::EmptyValue,
        Self::InvalidType,
        Self::InvalidFormat,
        Self::OutOfRange,
        Self::PrecisionExceeded,
    ];

    /// The contract's code, e.g. `"DECIMAL_INVALID_FORMAT"`.
    ///
    /// ```
    /// use fluxora_webhooks::decimal::{parse, DecimalError};
    ///
    /// assert_eq!(parse("   ").unwrap_err().code(), "DECIMAL_EMPTY_VALUE");
    /// assert_eq!(parse("12345678901234567890").unwrap_err().code(), "DECIMAL_OUT_OF_RANGE");
    /// assert_eq!(DecimalError::InvalidType.code(), "DECIMAL_INVALID_TYPE");
    /// ```
    pub const fn code(self) -> &'static str {
        match self {
            Self::EmptyValue => "DECIMAL_EMPTY_VALUE",
            Self::InvalidType => "DECIMAL_INVALID_TYPE",
            Self::InvalidFormat => "DECIMAL_INVALID_FORMAT",
            Self::OutOfRange => "DECIMAL_OUT_OF_RANGE",
            Self::PrecisionExceeded => "DECIMAL_PRECISION_EXCEEDED",
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for DecimalError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// A validated decimal, borrowing its normalized text from the input.
///
/// ```
/// let value = fluxora_webhooks::decimal::parse("-0012.3400").unwrap();
/// assert_eq!(value.as_str(), "-0012.34");
/// assert!(value.is_negative());
/// assert_eq!(value.fraction_digits(), "34");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decimal<'a> {
    normalized: &'a str,
    negative: bool,
    integer_digits: &'a str,
    fraction_digits: &'a str,
}

impl<'a> Decimal<'a> {
    /// The normalized text: trailing fractional zeros (and a bare `.`) stripped; the sign
    /// and leading zeros are kept as given.
    ///
    /// ```
    /// use fluxora_webhooks::decimal::parse;
    ///
    /// assert_eq!(parse("+007.5000").unwrap().as_str(), "+007.5");
    /// assert_eq!(parse("3.000").unwrap().as_str(), "3");
    /// assert_eq!(parse("-0.10").unwrap().to_string(), "-0.1");
    /// ```
    pub fn as_str(&self) -> &'a str {
        self.normalized
    }

    /// True when written with a leading `-` (also for `-0`).
    ///
    /// ```
    /// use fluxora_webhooks::decimal::parse;
    ///
    /// assert!(parse("-1.5").unwrap().is_negative());
    /// assert!(parse("-0").unwrap().is_negative());
    /// assert!(!parse("+1.5").unwrap().is_negative());
    /// ```
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// True when the value is zero, whatever its sign or spelling.
    ///
    /// ```
    /// use fluxora_webhooks::decimal::parse;
    ///
    /// assert!(parse("0").unwrap().is_zero());
    /// assert!(parse("-000.000").unwrap().is_zero());
    /// assert!(!parse("0.0000001").unwrap().is_zero());
    /// ```
    pub fn is_zero(&self) -> bool {
        self.integer_digits.bytes().all(|b| b == b'0') && self.fraction_digits.is_empty()
    }

    /// The integer digits as written (leading zeros kept).
    ///
    /// ```
    /// use fluxora_webhooks::decimal::parse;
    ///
    /// assert_eq!(parse("-0012.34").unwrap().integer_digits(), "0012");
    /// assert_eq!(parse("+7").unwrap().integer_digits(), "7");
    /// ```
    pub fn integer_digits(&self) -> &'a str {
        self.integer_digits
    }

    /// The significant fractional digits (trailing zeros stripped).
    ///
    /// ```
    /// use fluxora_webhooks::decimal::parse;
    ///
    /// assert_eq!(parse("1.2500").unwrap().fraction_digits(), "25");
    /// assert_eq!(parse("1.000").unwrap().fraction_digits(), "");
    /// assert_eq!(parse("7").unwrap().fraction_digits(), "");
    /// ```
    pub fn fraction_digits(&self) -> &'a str {
        self.fraction_digits
    }

    /// The value in stroops (1 unit = 10^7 stroops): `1.5` is 15000000.
    ///
    /// ```
    /// use fluxora_webhooks::decimal::{parse, DecimalError};
    ///
    /// assert_eq!(parse("1.5").unwrap().to_stroops(), Ok(15_000_000));
    /// assert_eq!(parse("-0.0000001").unwrap().to_stroops(), Ok(-1));
    /// // Trailing zeros do not count, but a finer value has no stroop representation.
    /// assert_eq!(parse("2.50000000").unwrap().to_stroops(), Ok(25_000_000));
    /// assert_eq!(parse("0.00000001").unwrap().to_stroops(), Err(DecimalError::PrecisionExceeded));
    /// ```
    pub fn to_stroops(&self) -> Result<i128, DecimalError> {
        if self.fraction_digits.len() > STELLAR_DECIMALS {
            return Err(DecimalError::PrecisionExceeded);
        }
        let whole = digits_value(self.integer_digits.as_bytes());
        let mut fraction = digits_value(self.fraction_digits.as_bytes());
        for _ in self.fraction_digits.len()..STELLAR_DECIMALS {
            fraction *= 10;
        }
        let magnitude = whole * STROOPS_PER_UNIT + fraction;
        Ok(if self.negative { -magnitude } else { magnitude })
    }
}

impl fmt::Display for Decimal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.normalized)
    }
}

/// Validates a decimal string (format and range) and normalizes it, borrowing.
///
/// ```
/// use fluxora_webhooks::decimal::{parse, DecimalError};
///
/// assert_eq!(parse("12.50").unwrap().as_str(), "12.5");
/// // No precision limit here: that is `parse_amount`'s job.
/// assert_eq!(parse("0.123456789").unwrap().fraction_digits(), "123456789");
/// assert_eq!(parse(""), Err(DecimalError::EmptyValue));
/// assert_eq!(parse("1,5"), Err(DecimalError::InvalidFormat));
/// assert_eq!(parse("9223372036854775808"), Err(DecimalError::OutOfRange));
/// ```
pub fn parse(value: &str) -> Result<Decimal<'_>, DecimalError> {
    if value.trim().is_empty() {
        return Err(DecimalError::EmptyValue);
    }
    let bytes = value.as_bytes();
    let (negative, unsigned_start) = match bytes[0] {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let unsigned = &value[unsigned_start..];
    let (integer_digits, raw_fraction) = match unsigned.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (unsigned, None),
    };
    if !is_digits(integer_digits) || raw_fraction.is_some_and(|f| !is_digits(f)) {
        return Err(DecimalError::InvalidFormat);
    }
    if exceeds_i64(integer_digits.as_bytes()) {
        return Err(DecimalError::OutOfRange);
    }
    let fraction_digits = raw_fraction.map_or("", |f| f.trim_end_matches('0'));
    let normalized_len = if fraction_digits.is_empty() {
        unsigned_start + integer_digits.len()
    } else {
        unsigned_start + integer_digits.len() + 1 + fraction_digits.len()
    };
    Ok(Decimal {
        normalized: &value[..normalized_len],
        negative,
        integer_digits,
        fraction_digits,
    })
}

/// [`parse`], plus Stellar precision: at most 7 fractional digits as written.
///
/// ```
/// use fluxora_webhooks::decimal::{parse_amount, DecimalError};
/// assert_eq!(parse_amount("0.0000001").unwrap().to_stroops(), Ok(1));
/// assert_eq!(parse_amount("0.00000001"), Err(DecimalError::PrecisionExceeded));
/// ```
pub fn parse_amount(value: &str) -> Result<Decimal<'_>, DecimalError> {
    let decimal = parse(value)?;
    let written_fraction = value.split_once('.').map_or(0, |(_, f)| f.len());
    if written_fraction > STELLAR_DECIMALS {
        return Err(DecimalError::PrecisionExceeded);
    }
    Ok(decimal)
}

/// Converts an amount string to stroops: `"-1.5"` is -15000000.
///
/// ```
/// assert_eq!(fluxora_webhooks::decimal::to_stroops("-1.5"), Ok(-15_000_000));
/// ```
pub fn to_stroops(value: &str) -> Result<i128, DecimalError> {
    parse_amount(value)?.to_stroops()
}

/// Formats stroops as a normalized decimal amount: 15000000 is `"1.5"`.
///
/// ```
/// use fluxora_webhooks::decimal::format_stroops;
/// assert_eq!(format_stroops(1).as_str(), "0.0000001");
/// assert_eq!(format_stroops(-15_000_000).as_str(), "-1.5");
/// assert_eq!(format_stroops(0).as_str(), "0");
/// ```
pub fn format_stroops(stroops: i128) -> StroopsText {
    StroopsText::display(Stroops(stroops))
}

/// A formatted amount: the longest, `i128::MIN` stroops, is 41 bytes.
///
/// ```
/// use fluxora_webhooks::decimal::{format_stroops, StroopsText};
///
/// let longest: StroopsText = format_stroops(i128::MIN);
/// assert_eq!(longest.as_str().len(), 41);
/// assert_eq!(format_stroops(25_000_000), "2.5");
/// ```
pub type StroopsText = FixedText<48>;

struct Stroops(i128);

impl fmt::Display for Stroops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per_unit = STROOPS_PER_UNIT.unsigned_abs();
        let magnitude = self.0.unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        let (whole, fraction) = (magnitude / per_unit, magnitude % per_unit);
        if fraction == 0 {
            return write!(f, "{sign}{whole}");
        }
        let mut digits = [b'0'; STELLAR_DECIMALS];
        let mut rest = fraction;
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let significant = digits.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
        let fraction_text = core::str::from_utf8(&digits[..significant]).unwrap_or_default();
        write!(f, "{sign}{whole}.{fraction_text}")
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn exceeds_i64(digits: &[u8]) -> bool {
    let first_significant = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    let significant = &digits[first_significant..];
    // Equal-length ASCII digit strings compare like the numbers they spell.
    significant.len() > MAX_INTEGER_PART.len()
        || (significant.len() == MAX_INTEGER_PART.len() && significant > MAX_INTEGER_PART)
}

/// Value of validated ASCII digits that fit in i64 (or the 7-digit fraction), as i128.
fn digits_value(digits: &[u8]) -> i128 {
    digits
        .iter()
        .fold(0i128, |acc, &d| acc * 10 + i128::from(d - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_boundary_is_i64_max() {
        assert!(parse("9223372036854775807").is_ok());
        assert!(parse("-00009223372036854775807.5").is_ok());
        assert_eq!(parse("9223372036854775808"), Err(DecimalError::OutOfRange));
        assert_eq!(parse("-9223372036854775808"), Err(DecimalError::OutOfRange));
    }

    #[test]
    fn largest_amount_round_trips_through_stroops() {
        let stroops = to_stroops("-9223372036854775807.9999999").unwrap();
        assert_eq!(
            format_stroops(stroops).as_str(),
            "-9223372036854775807.9999999"
        );
        assert_eq!(
            format_stroops(i128::MIN).as_str(),
            "-17014118346046923173168730371588.4105728"
        );
    }
}
