//! Decimal amounts as they cross an API: how a runtime's value is classified before the
//! core parses it.

use fluxora_webhooks::decimal::{self, DecimalError};

/// A decimal value as a runtime handed it over.
///
/// ```
/// use fluxora_webhooks_facade::{DecimalInput, Precision, check_decimal};
/// use fluxora_webhooks_facade::core::decimal::DecimalError;
///
/// assert_eq!(check_decimal(DecimalInput::Missing, Precision::Any), Err(DecimalError::EmptyValue));
/// assert_eq!(check_decimal(DecimalInput::NotText, Precision::Any), Err(DecimalError::InvalidType));
/// assert_eq!(check_decimal(DecimalInput::Text("100.50"), Precision::Any).as_deref(), Ok("100.5"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalInput<'a> {
    /// null, undefined, `None`, a missing field.
    Missing,
    /// A value that is not a string: a JSON number, an object, a list, a boolean.
    NotText,
    /// A string.
    Text(&'a str),
}

/// How many fractional digits a decimal may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// Any number of digits.
    Any,
    /// Stellar's 7 (amount fields, stroop conversion).
    Stellar,
}

fn text(input: DecimalInput<'_>) -> Result<&str, DecimalError> {
    match input {
        DecimalInput::Missing => Err(DecimalError::EmptyValue),
        DecimalInput::NotText => Err(DecimalError::InvalidType),
        DecimalInput::Text(text) => Ok(text),
    }
}

/// The normalized decimal (trailing fractional zeros stripped), or its `DECIMAL_*` error.
///
/// ```
/// use fluxora_webhooks_facade::{DecimalInput, Precision, check_decimal};
/// use fluxora_webhooks_facade::core::decimal::DecimalError;
///
/// let eight = DecimalInput::Text("1.00000001");
/// assert_eq!(check_decimal(eight, Precision::Stellar), Err(DecimalError::PrecisionExceeded));
/// assert!(check_decimal(eight, Precision::Any).is_ok());
/// ```
pub fn check_decimal(
    input: DecimalInput<'_>,
    precision: Precision,
) -> Result<String, DecimalError> {
    let text = text(input)?;
    let parsed = match precision {
        Precision::Any => decimal::parse(text),
        Precision::Stellar => decimal::parse_amount(text),
    };
    parsed.map(|value| value.as_str().to_owned())
}

/// The amount in stroops (1 unit = 10^7 stroops), or its `DECIMAL_*` error.
///
/// ```
/// use fluxora_webhooks_facade::{DecimalInput, stroops_of};
///
/// assert_eq!(stroops_of(DecimalInput::Text("1.5")), Ok(15_000_000));
/// ```
pub fn stroops_of(input: DecimalInput<'_>) -> Result<i128, DecimalError> {
    decimal::to_stroops(text(input)?)
}
