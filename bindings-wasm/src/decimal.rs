//! Decimal amounts as they cross an API, classified and parsed by the facade.

use fluxora_webhooks_facade::core::decimal;
use fluxora_webhooks_facade::{DecimalInput, JsError, Precision, check_decimal, stroops_of};
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::convert::property;
use crate::errors::{bad_argument, fail};

/// The facade's decimal input for a JS value (the text is owned by the caller).
fn input<'a>(value: &JsValue, text: &'a mut String) -> DecimalInput<'a> {
    if value.is_undefined() || value.is_null() {
        return DecimalInput::Missing;
    }
    match value.as_string() {
        Some(owned) => {
            *text = owned;
            DecimalInput::Text(text)
        }
        None => DecimalInput::NotText,
    }
}

/// Validates a decimal string as it crosses the API: `{ valid: true, value }` with the
/// normalized value, or `{ valid: false, code, message, field }` with a `DECIMAL_*` code.
#[wasm_bindgen(js_name = validateDecimalString)]
pub fn validate_decimal_string(value: JsValue, field: JsValue, options: JsValue) -> JsValue {
    let precision = if property(&options, "amount").is_truthy() {
        Precision::Stellar
    } else {
        Precision::Any
    };
    let mut text = String::new();
    let result = Object::new();
    let set = |name: &str, value: JsValue| {
        let _ = Reflect::set(&result, &name.into(), &value);
    };
    match check_decimal(input(&value, &mut text), precision) {
        Ok(normalized) => {
            set("valid", true.into());
            set("value", normalized.into());
        }
        Err(error) => {
            set("valid", false.into());
            set("code", error.code().into());
            set("message", error.to_string().into());
            set(
                "field",
                field
                    .as_string()
                    .unwrap_or_else(|| "value".to_owned())
                    .into(),
            );
        }
    }
    result.into()
}

/// Converts an amount string to stroops (1 unit = 10^7 stroops): `"1.5"` is `15000000n`.
/// Throws an `Error` whose `code` is the `DECIMAL_*` code for an invalid amount.
#[wasm_bindgen(js_name = parseToStroops)]
pub fn parse_to_stroops(value: JsValue) -> Result<i128, JsValue> {
    let mut text = String::new();
    stroops_of(input(&value, &mut text)).map_err(|error| fail(JsError::decimal(error)))
}

/// Formats stroops as a normalized amount string: `15000000n` is `"1.5"`.
#[wasm_bindgen(js_name = formatFromStroops)]
pub fn format_from_stroops(stroops: JsValue) -> Result<String, JsValue> {
    if !stroops.is_bigint() {
        return Err(bad_argument("stroops must be a bigint"));
    }
    let value = i128::try_from(js_sys::BigInt::from(stroops))
        .map_err(|_| bad_argument("stroops must fit in a signed 128-bit integer"))?;
    Ok(decimal::format_stroops(value).as_str().to_owned())
}
