//! Signing: the signature of one message and the facade's complete signed header set.

use fluxora_webhooks_facade::core::sign;
use fluxora_webhooks_facade::{
    self as facade, ContractHeader, Loose, SecretRule, Settings, SettingsInput, SignedHeaderSet,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::body::Body;
use crate::headers::ValueBytes;
use crate::settings::{Held, settings_error};

/// A secret's bytes, validated by the facade (`str` as UTF-8, `bytes` as is, None empty).
fn secret_bytes<'h>(py: Python<'_>, secret: &'h Held<'_, '_>) -> PyResult<&'h [u8]> {
    let secret = secret.loose();
    let input = SettingsInput {
        secret,
        ..SettingsInput::default()
    };
    Settings::from_input(&input, SecretRule::Optional)
        .map_err(|error| settings_error(py, error))?;
    Ok(match secret {
        Loose::Text(text) => text.as_bytes(),
        Loose::Bytes(bytes) => bytes,
        _ => &[],
    })
}

/// The ``x-fluxora-signature`` value for ``timestamp`` and ``body``: 64 lowercase hex
/// digits of HMAC-SHA256(secret, timestamp + "." + body).
#[pyfunction]
pub(crate) fn compute_signature(
    py: Python<'_>,
    secret: &Bound<'_, PyAny>,
    timestamp: &Bound<'_, PyAny>,
    body: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let secret = Held::of(Some(secret));
    let key = secret_bytes(py, &secret)?;
    let timestamp = ValueBytes::of(timestamp, ContractHeader::Timestamp)?;
    let body = Body::borrow(body)?;
    Ok(sign(key, timestamp.as_slice(), body.as_slice())
        .as_str()
        .to_owned())
}

/// A complete signed header set for ``body``, for tests and senders: the delivery id
/// (default: a fresh ``dlv_`` + 32 hex digits), the timestamp (default: now), the
/// signature and, when ``event`` is given, the unsigned ``x-fluxora-event`` header.
#[pyfunction]
#[pyo3(signature = (secret, body, *, timestamp = None, delivery_id = None, event = None))]
pub(crate) fn signed_headers<'py>(
    py: Python<'py>,
    secret: &Bound<'py, PyAny>,
    body: &Bound<'py, PyAny>,
    timestamp: Option<&Bound<'py, PyAny>>,
    delivery_id: Option<String>,
    event: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let secret = Held::of(Some(secret));
    let key = secret_bytes(py, &secret)?;
    let body = Body::borrow(body)?;
    let timestamp = facade::timestamp_text(Held::of(timestamp).loose(), facade::system_now)
        .map_err(|error| settings_error(py, error))?;
    let set = SignedHeaderSet::sign(
        key,
        body.as_slice(),
        &timestamp,
        delivery_id.unwrap_or_else(facade::new_delivery_id),
        event.as_deref(),
    );
    let headers = PyDict::new(py);
    for (name, value) in set.pairs() {
        headers.set_item(name, value)?;
    }
    Ok(headers)
}
