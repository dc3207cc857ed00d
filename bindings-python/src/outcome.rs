//! Outcomes as Python values: the `Verification` result, the interned code strings, and
//! the one mapping of an outcome to its exception family ([`raise_for`]). Every code,
//! status and message is the core's.

use fluxora_webhooks_facade::core::{Outcome, OutcomeCode, parse_timestamp};
use fluxora_webhooks_facade::{ContractHeader, ReceivedHeaders};
use pyo3::exceptions::PyException;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

pyo3::create_exception!(
    fluxora_webhooks,
    WebhookVerificationError,
    PyException,
    "A delivery failed verification. `.code`, `.status` and `.message` are the contract's."
);
pyo3::create_exception!(
    fluxora_webhooks,
    WebhookConfigurationError,
    WebhookVerificationError,
    "The receiver is misconfigured (`missing_secret`, 500): never acknowledge, so the sender retries."
);
pyo3::create_exception!(
    fluxora_webhooks,
    MissingHeaderError,
    WebhookVerificationError,
    "A required header is absent or empty (`missing_delivery_id`, `missing_timestamp`, `missing_signature`)."
);
pyo3::create_exception!(
    fluxora_webhooks,
    PayloadTooLargeError,
    WebhookVerificationError,
    "The body is longer than the configured limit (`payload_too_large`, 413)."
);
pyo3::create_exception!(
    fluxora_webhooks,
    TimestampError,
    WebhookVerificationError,
    "The timestamp is malformed (`invalid_timestamp`) or outside the window (`timestamp_outside_tolerance`)."
);
pyo3::create_exception!(
    fluxora_webhooks,
    SignatureVerificationError,
    WebhookVerificationError,
    "No valid secret produced the signature (`signature_mismatch`, `previous_secret_expired`)."
);
pyo3::create_exception!(
    fluxora_webhooks,
    ReplayDetectedError,
    WebhookVerificationError,
    "Already accepted (`duplicate_delivery`, `replayed_signature`, 409): a sender records 409 as delivered."
);
pyo3::create_exception!(
    fluxora_webhooks,
    ConsumerOverloadedError,
    WebhookVerificationError,
    "The replay store is full of unexpired entries (`consumer_overloaded`, 429): retry later."
);

pyo3::create_exception!(
    fluxora_webhooks,
    DeliveryInProgressError,
    WebhookVerificationError,
    "Another attempt of this delivery is still being processed (`delivery_in_progress`, 429): retry later."
);

/// The outcome code strings, interned once (at module import) and shared by every
/// `Verification.code` and the module's constants (`OK`, `SIGNATURE_MISMATCH`, ...),
/// in the order of `OutcomeCode::ALL`.
static CODES: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();

/// The interned Python string of an outcome code.
pub(crate) fn code_string(py: Python<'_>, kind: OutcomeCode) -> Bound<'_, PyString> {
    let codes = CODES.get_or_init(py, || {
        OutcomeCode::ALL
            .iter()
            .map(|code| PyString::intern(py, code.as_str()).unbind())
            .collect()
    });
    match OutcomeCode::ALL.iter().position(|code| *code == kind) {
        Some(index) => codes[index].bind(py).clone(),
        None => PyString::new(py, kind.as_str()),
    }
}

/// The result of verifying one delivery. Truthy only when ``ok``.
///
/// ``event`` is the ``x-fluxora-event`` header as received: it is NOT signed, so never
/// route on it without checking the signed body.
#[pyclass(module = "fluxora_webhooks", frozen)]
pub(crate) struct Verification {
    /// The core's answer: `ok`, `status`, `code`, `message` and `used_previous_secret`
    /// are derived from it on access (nothing is formatted or allocated per call).
    pub(crate) outcome: Outcome,
    /// The contract headers as the facade gathered them.
    pub(crate) headers: ReceivedHeaders,
}

/// Received header bytes as text (invalid UTF-8 replaced).
fn header_text(py: Python<'_>, value: Option<&[u8]>) -> Option<Py<PyString>> {
    value.map(|bytes| PyString::new(py, &String::from_utf8_lossy(bytes)).unbind())
}

#[pymethods]
impl Verification {
    /// True when every check passed.
    #[getter]
    fn ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// The HTTP status a receiver answers with.
    #[getter]
    fn status(&self) -> u16 {
        self.outcome.status()
    }

    /// The contract's code, e.g. ``"ok"`` or ``"signature_mismatch"``.
    #[getter]
    fn code<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        code_string(py, self.outcome.kind())
    }

    /// The contract's human-readable message.
    #[getter]
    fn message<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        PyString::new(py, self.outcome.message().as_str())
    }

    /// True when only the previous secret (inside its grace window) matched.
    #[getter]
    fn used_previous_secret(&self) -> bool {
        self.outcome.used_previous_secret()
    }

    /// The ``x-fluxora-delivery-id`` header as received, or None.
    #[getter]
    fn delivery_id(&self, py: Python<'_>) -> Option<Py<PyString>> {
        header_text(py, self.headers.get(ContractHeader::DeliveryId))
    }

    /// The timestamp as parsed by the core, or None when absent or malformed.
    #[getter]
    fn timestamp(&self) -> Option<u64> {
        self.headers
            .get(ContractHeader::Timestamp)
            .and_then(parse_timestamp)
    }

    /// The ``x-fluxora-event`` header as received (unsigned), or None.
    #[getter]
    fn event(&self, py: Python<'_>) -> Option<Py<PyString>> {
        header_text(py, self.headers.event())
    }

    fn __bool__(&self) -> bool {
        self.outcome.is_ok()
    }

    fn __repr__(&self) -> String {
        let text = |value: Option<&[u8]>| {
            value.map_or_else(
                || "None".to_owned(),
                |bytes| format!("{:?}", String::from_utf8_lossy(bytes)),
            )
        };
        let flag = |value: bool| if value { "True" } else { "False" };
        format!(
            "Verification(ok={}, status={}, code={:?}, message={:?}, used_previous_secret={}, delivery_id={}, timestamp={}, event={})",
            flag(self.outcome.is_ok()),
            self.outcome.status(),
            self.outcome.code(),
            self.outcome.message().as_str(),
            flag(self.outcome.used_previous_secret()),
            text(self.headers.get(ContractHeader::DeliveryId)),
            self.timestamp()
                .map_or_else(|| "None".to_owned(), |t| t.to_string()),
            text(self.headers.event()),
        )
    }

    /// Raises the exception of this outcome's family unless ``ok``; returns self.
    fn raise_for_status(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        match raise_for(&slf) {
            Some(error) => Err(error),
            None => Ok(slf),
        }
    }
}

/// `Verification` -> the exception of its family, or None when ok. The one mapping.
pub(crate) fn raise_for(verification: &Bound<'_, Verification>) -> Option<PyErr> {
    let py = verification.py();
    let outcome = verification.get().outcome;
    let kind = outcome.kind();
    if kind == OutcomeCode::Ok {
        return None;
    }
    let message = PyString::new(py, outcome.message().as_str()).unbind();
    let family: fn(Py<PyString>) -> PyErr = match kind {
        OutcomeCode::MissingSecret => WebhookConfigurationError::new_err,
        OutcomeCode::MissingDeliveryId
        | OutcomeCode::MissingTimestamp
        | OutcomeCode::MissingSignature => MissingHeaderError::new_err,
        OutcomeCode::PayloadTooLarge => PayloadTooLargeError::new_err,
        OutcomeCode::InvalidTimestamp | OutcomeCode::TimestampOutsideTolerance => {
            TimestampError::new_err
        }
        OutcomeCode::PreviousSecretExpired | OutcomeCode::SignatureMismatch => {
            SignatureVerificationError::new_err
        }
        OutcomeCode::DuplicateDelivery | OutcomeCode::ReplayedSignature => {
            ReplayDetectedError::new_err
        }
        OutcomeCode::ConsumerOverloaded => ConsumerOverloadedError::new_err,
        OutcomeCode::DeliveryInProgress => DeliveryInProgressError::new_err,
        _ => WebhookVerificationError::new_err,
    };
    let error = family(message.clone_ref(py));
    let value = error.value(py);
    let set = value
        .setattr(intern!(py, "code"), code_string(py, kind))
        .and_then(|()| value.setattr(intern!(py, "status"), outcome.status()))
        .and_then(|()| value.setattr(intern!(py, "message"), message))
        .and_then(|()| value.setattr(intern!(py, "verification"), verification));
    Some(match set {
        Ok(()) => error,
        Err(other) => other,
    })
}
