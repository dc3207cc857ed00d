//! `fluxora_webhooks._native`: the PyO3 binding over `fluxora-webhooks-facade` and the
//! `fluxora-webhooks` core.
//!
//! It converts Python values to the facade's inputs and the facade's results back:
//! header fields (`headers`), loose settings (`settings`), the checks (`verifier`), the
//! replay step in every store, one-step or reserved (`replay`, `reservation`), signing
//! (`signing`), decimals (`decimal`) and the Redis store's script, keys and replies
//! (`redis`). Errors are raised in one place per kind:
//! `outcome::raise_for` for outcomes, `settings::settings_error` for settings,
//! `decimal::decimal_error` for decimals. Header lookup, settings validation, replay
//! verdicts, signed header sets, decimal classification and the Redis script are the
//! facade's; every code, status and message comes from it or the core. No function here
//! can panic on user input.

use fluxora_webhooks_facade::core::decimal::DecimalError as CoreDecimalError;
use fluxora_webhooks_facade::core::{
    self as core_crate, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    OutcomeCode,
};
use fluxora_webhooks_facade::redis as facade_redis;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};

mod body;
mod decimal;
mod headers;
mod outcome;
mod redis;
mod replay;
mod reservation;
mod settings;
mod signing;
mod store;
mod text;
mod verifier;

/// The PyO3 binding of the Fluxora webhooks facade and core.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    text::init(py);
    m.add_class::<verifier::Verifier>()?;
    m.add_class::<outcome::Verification>()?;
    m.add_class::<reservation::Reservation>()?;
    m.add_class::<store::MemoryReplayStore>()?;
    m.add_class::<store::NoReplayStore>()?;
    m.add_function(wrap_pyfunction!(verifier::verify, m)?)?;
    m.add_function(wrap_pyfunction!(signing::compute_signature, m)?)?;
    m.add_function(wrap_pyfunction!(signing::signed_headers, m)?)?;
    m.add_function(wrap_pyfunction!(decimal::parse_decimal, m)?)?;
    m.add_function(wrap_pyfunction!(decimal::parse_amount, m)?)?;
    m.add_function(wrap_pyfunction!(decimal::to_stroops, m)?)?;
    m.add_function(wrap_pyfunction!(redis::redis_eval_arguments, m)?)?;
    m.add_function(wrap_pyfunction!(redis::redis_delivery_key, m)?)?;
    m.add_function(wrap_pyfunction!(redis::redis_signature_key, m)?)?;
    m.add_function(wrap_pyfunction!(redis::redis_verdict, m)?)?;
    m.add_function(wrap_pyfunction!(redis::replay_retention_seconds, m)?)?;
    let exceptions: [(&str, Bound<'_, PyType>); 12] = [
        (
            "WebhookVerificationError",
            py.get_type::<outcome::WebhookVerificationError>(),
        ),
        (
            "WebhookConfigurationError",
            py.get_type::<outcome::WebhookConfigurationError>(),
        ),
        (
            "MissingHeaderError",
            py.get_type::<outcome::MissingHeaderError>(),
        ),
        (
            "PayloadTooLargeError",
            py.get_type::<outcome::PayloadTooLargeError>(),
        ),
        ("TimestampError", py.get_type::<outcome::TimestampError>()),
        (
            "SignatureVerificationError",
            py.get_type::<outcome::SignatureVerificationError>(),
        ),
        (
            "ReplayDetectedError",
            py.get_type::<outcome::ReplayDetectedError>(),
        ),
        (
            "ConsumerOverloadedError",
            py.get_type::<outcome::ConsumerOverloadedError>(),
        ),
        (
            "DeliveryInProgressError",
            py.get_type::<outcome::DeliveryInProgressError>(),
        ),
        ("DecimalError", py.get_type::<decimal::DecimalError>()),
        ("SettingsError", py.get_type::<settings::SettingsError>()),
        (
            "SettingsTypeError",
            settings::settings_type_error(py)?.clone(),
        ),
    ];
    for (name, class) in exceptions {
        m.add(name, class)?;
    }

    // Constants, generated from the core's and the facade's lists: never retyped.
    // The same interned objects as `Verification.code`, so `result.code is OK` holds.
    let mut codes = Vec::new();
    for code in OutcomeCode::ALL {
        let value = outcome::code_string(py, code);
        m.add(code.as_str().to_ascii_uppercase(), &value)?;
        codes.push(value);
    }
    m.add("OUTCOME_CODES", PyTuple::new(py, codes)?)?;
    let statuses = PyDict::new(py);
    for code in OutcomeCode::ALL {
        statuses.set_item(code.as_str(), code.status())?;
    }
    m.add("OUTCOME_STATUSES", statuses)?;
    let mut decimal_codes = Vec::new();
    for error in CoreDecimalError::ALL {
        m.add(error.code(), error.code())?;
        decimal_codes.push(error.code());
    }
    m.add("DECIMAL_CODES", PyTuple::new(py, decimal_codes)?)?;
    m.add("HEADER_DELIVERY_ID", HEADER_DELIVERY_ID)?;
    m.add("HEADER_TIMESTAMP", HEADER_TIMESTAMP)?;
    m.add("HEADER_SIGNATURE", HEADER_SIGNATURE)?;
    m.add("HEADER_EVENT", HEADER_EVENT)?;
    m.add(
        "DEFAULT_TOLERANCE_SECONDS",
        core_crate::DEFAULT_TOLERANCE_SECONDS,
    )?;
    m.add("DEFAULT_MAX_BODY_BYTES", core_crate::DEFAULT_MAX_BODY_BYTES)?;
    m.add(
        "DEFAULT_GRACE_WINDOW_SECONDS",
        core_crate::DEFAULT_GRACE_WINDOW_SECONDS,
    )?;
    m.add(
        "DEFAULT_DELIVERY_RETENTION_SECONDS",
        core_crate::DEFAULT_DELIVERY_RETENTION_SECONDS,
    )?;
    m.add(
        "DEFAULT_RESERVATION_LEASE_SECONDS",
        core_crate::DEFAULT_RESERVATION_LEASE_SECONDS,
    )?;
    m.add(
        "DEFAULT_REPLAY_CAPACITY",
        core_crate::MemoryReplayStore::DEFAULT_CAPACITY,
    )?;
    m.add("REDIS_SCRIPT", facade_redis::SCRIPT)?;
    m.add("REDIS_DEFAULT_PREFIX", facade_redis::DEFAULT_PREFIX)?;
    Ok(())
}
