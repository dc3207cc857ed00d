//! Decimal amounts: a Python value classified for the facade, the core's answer, and the
//! one mapping of a decimal error to `DecimalError`.

use fluxora_webhooks_facade::core::decimal::DecimalError as CoreDecimalError;
use fluxora_webhooks_facade::{self as facade, DecimalInput, Precision};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

pyo3::create_exception!(
    fluxora_webhooks,
    DecimalError,
    PyValueError,
    "A value is not an acceptable decimal amount. `.code` is a DECIMAL_* code, `.field` the field name or None."
);

/// The core's decimal error as a Python `DecimalError`. The one mapping for decimals.
fn decimal_error(error: CoreDecimalError, field: Option<&str>) -> PyErr {
    let message = error.to_string();
    let shown = match field {
        Some(field) => format!("{field}: {message}"),
        None => message.clone(),
    };
    Python::attach(|py| {
        let error_object = DecimalError::new_err(shown);
        let value = error_object.value(py);
        let set = value
            .setattr("code", error.code())
            .and_then(|()| value.setattr("field", field))
            .and_then(|()| value.setattr("message", message));
        match set {
            Ok(()) => error_object,
            Err(other) => other,
        }
    })
}

/// Classifies `value` for the facade (None is missing, a `str` is text, anything else is
/// not text) and runs `check` on it. A `str` that is not valid Unicode cannot match the
/// decimal pattern: `DECIMAL_INVALID_FORMAT`.
fn decimal<T>(
    value: &Bound<'_, PyAny>,
    field: Option<&str>,
    check: impl FnOnce(DecimalInput<'_>) -> Result<T, CoreDecimalError>,
) -> PyResult<T> {
    let text;
    let input = if value.is_none() {
        DecimalInput::Missing
    } else if let Ok(value) = value.cast::<PyString>() {
        text = value
            .to_cow()
            .map_err(|_| decimal_error(CoreDecimalError::InvalidFormat, field))?;
        DecimalInput::Text(&text)
    } else {
        DecimalInput::NotText
    };
    check(input).map_err(|error| decimal_error(error, field))
}

/// Validates a decimal string and returns it normalized (trailing fractional zeros
/// stripped). Raises ``DecimalError``; any non-``str`` is ``DECIMAL_INVALID_TYPE``.
#[pyfunction]
#[pyo3(signature = (value, field = None))]
pub(crate) fn parse_decimal(value: &Bound<'_, PyAny>, field: Option<&str>) -> PyResult<String> {
    decimal(value, field, |input| {
        facade::check_decimal(input, Precision::Any)
    })
}

/// Like ``parse_decimal``, plus Stellar precision (at most 7 fractional digits).
#[pyfunction]
#[pyo3(signature = (value, field = None))]
pub(crate) fn parse_amount(value: &Bound<'_, PyAny>, field: Option<&str>) -> PyResult<String> {
    decimal(value, field, |input| {
        facade::check_decimal(input, Precision::Stellar)
    })
}

/// An amount string in stroops (1 unit = 10**7 stroops): ``"-1.5"`` is ``-15000000``.
#[pyfunction]
#[pyo3(signature = (value, field = None))]
pub(crate) fn to_stroops(value: &Bound<'_, PyAny>, field: Option<&str>) -> PyResult<i128> {
    decimal(value, field, facade::stroops_of)
}
