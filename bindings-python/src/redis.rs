//! The Redis replay store's script, keys, expiries and replies, for the Python
//! `RedisReplayStore`: all the facade's, shared with the Node package.

use std::borrow::Cow;

use fluxora_webhooks_facade as facade;
use fluxora_webhooks_facade::core::ReplayEntry;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::outcome::code_string;
use crate::settings::{Held, settings_error};

/// The decoded signature a Python replay store was handed (32 bytes).
fn signature_bytes(signature: &Bound<'_, PyBytes>) -> PyResult<[u8; 32]> {
    <[u8; 32]>::try_from(signature.as_bytes())
        .map_err(|_| PyValueError::new_err("signature must be the 32 bytes of a decoded signature"))
}

/// The ``KEYS`` and ``ARGV`` of one ``EVAL`` of ``REDIS_SCRIPT`` for an accepted
/// delivery, as ``check_and_record`` receives it: the same keys and expiries every
/// runtime uses.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn redis_eval_arguments(
    prefix: Cow<'_, str>,
    delivery_id: Cow<'_, str>,
    timestamp: u64,
    signature: &Bound<'_, PyBytes>,
    now: u64,
    signature_expires_at: u64,
    delivery_retention_seconds: u64,
) -> PyResult<([String; 2], [String; 5])> {
    let entry = ReplayEntry {
        delivery_id: delivery_id.as_bytes(),
        timestamp,
        signature: signature_bytes(signature)?,
        now,
        signature_expires_at,
    };
    let call = facade::redis::call(&prefix, &entry, delivery_retention_seconds);
    Ok((call.keys, call.args))
}

/// The Redis key remembering a delivery id (a SHA-256 of its UTF-8).
#[pyfunction]
pub(crate) fn redis_delivery_key(prefix: Cow<'_, str>, delivery_id: Cow<'_, str>) -> String {
    facade::redis::delivery_key(&prefix, delivery_id.as_bytes())
}

/// The Redis key remembering a (timestamp, signature) pair.
#[pyfunction]
pub(crate) fn redis_signature_key(
    prefix: Cow<'_, str>,
    timestamp: u64,
    signature: &Bound<'_, PyBytes>,
) -> PyResult<String> {
    Ok(facade::redis::signature_key(
        &prefix,
        timestamp,
        &signature_bytes(signature)?,
    ))
}

/// The outcome code of ``REDIS_SCRIPT``'s integer reply.
#[pyfunction]
pub(crate) fn redis_verdict(py: Python<'_>, reply: i64) -> PyResult<Bound<'_, PyString>> {
    let verdict =
        facade::redis::verdict(reply).map_err(|error| PyValueError::new_err(error.to_string()))?;
    // The verdict's code, as the core names it (a fresh delivery is "ok").
    Ok(code_string(py, verdict.outcome(false).kind()))
}

/// A replay store's ``delivery_retention_seconds``, validated (None is the default).
#[pyfunction]
#[pyo3(signature = (value = None))]
pub(crate) fn replay_retention_seconds(
    py: Python<'_>,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<u64> {
    facade::delivery_retention_seconds(Held::of(value).loose())
        .map_err(|error| settings_error(py, error))
}
