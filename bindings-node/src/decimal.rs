//! Decimal amounts as they cross an API, classified and parsed by the facade.

use fluxora_webhooks_facade::core::decimal;
use fluxora_webhooks_facade::{DecimalInput, JsError, Precision, check_decimal, stroops_of};
use napi::bindgen_prelude::*;
use napi::{Env, ValueType};
use napi_derive::napi;

use crate::errors::{bad_argument, throw};

/// Options of `validateDecimalString`.
#[napi(object)]
pub struct DecimalOptions {
    /// Also require Stellar precision (at most 7 fractional digits), as for amount fields.
    pub amount: Option<bool>,
}

/// A JS value as the facade's decimal input (the text is owned by `text`).
fn input<'a>(value: &Unknown<'_>, text: &'a mut String) -> Result<DecimalInput<'a>> {
    Ok(match value.get_type()? {
        ValueType::Undefined | ValueType::Null => DecimalInput::Missing,
        ValueType::String => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be a string.
            let owned = unsafe { value.cast::<String>() }?;
            *text = owned;
            DecimalInput::Text(text)
        }
        _ => DecimalInput::NotText,
    })
}

/// Validates a decimal string as it crosses the API: `{ valid: true, value }` with the
/// normalized value, or `{ valid: false, code, message, field }` with a `DECIMAL_*` code.
#[napi(
    ts_args_type = "value: unknown, field?: string, options?: DecimalOptions",
    ts_return_type = "DecimalValidation"
)]
pub fn validate_decimal_string<'env>(
    env: &'env Env,
    value: Unknown<'env>,
    field: Option<String>,
    options: Option<DecimalOptions>,
) -> Result<Object<'env>> {
    let precision = match options.and_then(|o| o.amount) {
        Some(true) => Precision::Stellar,
        _ => Precision::Any,
    };
    let mut text = String::new();
    let checked = check_decimal(input(&value, &mut text)?, precision);
    let mut result = Object::new(env)?;
    match checked {
        Ok(normalized) => {
            result.set_named_property("valid", true)?;
            result.set_named_property("value", normalized)?;
        }
        Err(error) => {
            result.set_named_property("valid", false)?;
            result.set_named_property("code", error.code())?;
            result.set_named_property("message", error.to_string())?;
            result.set_named_property("field", field.as_deref().unwrap_or("value"))?;
        }
    }
    Ok(result)
}

/// Converts an amount string to stroops (1 unit = 10^7 stroops): `"1.5"` is `15000000n`.
/// Throws an `Error` whose `code` is the `DECIMAL_*` code for an invalid amount.
#[napi(ts_args_type = "value: string")]
pub fn parse_to_stroops(env: &Env, value: Unknown<'_>) -> Result<i128> {
    let mut text = String::new();
    stroops_of(input(&value, &mut text)?).map_err(|error| throw(env, JsError::decimal(error)))
}

/// Formats stroops as a normalized amount string: `15000000n` is `"1.5"`.
#[napi]
pub fn format_from_stroops(env: &Env, stroops: BigInt) -> Result<String> {
    let (value, lossless) = stroops.get_i128();
    if !lossless {
        return Err(bad_argument(
            env,
            "stroops must fit in a signed 128-bit integer",
        ));
    }
    Ok(decimal::format_stroops(value).as_str().to_owned())
}
