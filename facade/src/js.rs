//! The errors the two JavaScript packages (napi-rs and wasm-bindgen) throw: which class,
//! which `code`, which message and which extra properties. Each binding only materializes
//! the [`JsError`] in its runtime.

use fluxora_webhooks::decimal::DecimalError;

use crate::redis::UnexpectedReply;
use crate::replay::UnknownVerdict;
use crate::settings::{Problem, SettingsError, Spelling};

/// The JavaScript error class to throw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsClass {
    /// `Error`.
    Error,
    /// `TypeError`: a value of the wrong type.
    TypeError,
    /// `RangeError`: a number out of range.
    RangeError,
}

impl JsClass {
    /// The global constructor's name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Error => "Error",
            Self::TypeError => "TypeError",
            Self::RangeError => "RangeError",
        }
    }
}

/// One error to throw: class, `code`, message and extra string properties. Never holds a
/// secret (no constructor takes one).
///
/// ```
/// use fluxora_webhooks_facade::{Field, JsClass, JsError, Problem, SettingsError};
///
/// let error = JsError::settings(SettingsError { field: Field::ToleranceSeconds, problem: Problem::OutOfRange });
/// assert_eq!((error.class, error.code), (JsClass::RangeError, "ERR_FLUXORA_INVALID_SETTING"));
/// assert_eq!(error.extra, vec![("field", "toleranceSeconds"), ("problem", "out_of_range")]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsError {
    /// The class.
    pub class: JsClass,
    /// The `code` property.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// Further properties, e.g. `field` and `problem`.
    pub extra: Vec<(&'static str, &'static str)>,
}

impl JsError {
    fn new(class: JsClass, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            class,
            code,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    /// An argument of the wrong type or shape.
    pub fn argument(message: impl Into<String>) -> Self {
        Self::new(JsClass::TypeError, "ERR_FLUXORA_INVALID_ARGUMENT", message)
    }

    /// A body that is not raw bytes: `kind` describes what was passed (`None`: nothing),
    /// `hint` says how to read the raw body in the package's runtimes.
    ///
    /// ```
    /// use fluxora_webhooks_facade::JsError;
    ///
    /// let error = JsError::body(Some("an object"), "read it raw");
    /// assert_eq!(error.message, "rawBody is an object: read it raw");
    /// assert_eq!(JsError::body(None, "read it raw").message, "rawBody is missing: read it raw");
    /// ```
    pub fn body(kind: Option<&str>, hint: &str) -> Self {
        let message = match kind {
            Some(kind) => format!("rawBody is {kind}: {hint}"),
            None => format!("rawBody is missing: {hint}"),
        };
        Self::new(JsClass::TypeError, "ERR_FLUXORA_INVALID_BODY", message)
    }

    /// A header field whose value is neither a string nor an array of strings.
    #[must_use]
    pub fn header_value(name: &str) -> Self {
        Self::argument(format!(
            "header {name} must be a string or an array of strings"
        ))
    }

    /// Headers in a form no runtime has them in.
    #[must_use]
    pub fn headers_shape() -> Self {
        Self::argument(
            "headers must be a plain object, a Fetch Headers, a Map or an array of [name, value] pairs",
        )
    }

    /// `isDuplicateDelivery` returned a promise.
    #[must_use]
    pub fn async_callback() -> Self {
        Self::new(
            JsClass::TypeError,
            "ERR_FLUXORA_ASYNC_CALLBACK",
            "isDuplicateDelivery must return a boolean synchronously; for an asynchronous store \
             verify first and de-duplicate afterwards (RedisReplayStore, or Verifier.check and \
             the store's answer)",
        )
    }

    /// A setting the facade rejected: `TypeError` for a wrong type or a missing secret,
    /// `RangeError` for a number that is not whole or out of range.
    #[must_use]
    pub fn settings(error: SettingsError) -> Self {
        let class = match error.problem {
            Problem::NotWhole | Problem::OutOfRange => JsClass::RangeError,
            _ => JsClass::TypeError,
        };
        let mut js = Self::new(
            class,
            "ERR_FLUXORA_INVALID_SETTING",
            error.message(Spelling::JavaScript),
        );
        js.extra = vec![
            ("field", error.field.name(Spelling::JavaScript)),
            ("problem", error.problem.code()),
        ];
        js
    }

    /// A decimal the core rejected: an `Error` whose `code` is the `DECIMAL_*` code.
    #[must_use]
    pub fn decimal(error: DecimalError) -> Self {
        Self::new(JsClass::Error, error.code(), error.to_string())
    }

    /// A replay store answered an unknown code.
    #[must_use]
    pub fn verdict(error: &UnknownVerdict) -> Self {
        Self::new(
            JsClass::TypeError,
            "ERR_FLUXORA_REPLAY_STORE",
            error.to_string(),
        )
    }

    /// The Redis script answered an unknown reply.
    #[must_use]
    pub fn redis_reply(error: UnexpectedReply) -> Self {
        Self::new(
            JsClass::Error,
            "ERR_FLUXORA_REPLAY_STORE",
            error.to_string(),
        )
    }
}
