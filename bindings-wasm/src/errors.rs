//! Every error this package throws is made here, in [`fail`]: a JS error with a `code` (and,
//! for a setting, the `field` and `problem`). Messages never contain a secret.

use fluxora_webhooks_facade::core::decimal::DecimalError;
use fluxora_webhooks_facade::{Problem, SettingsError, Spelling};
use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// What went wrong at the boundary.
pub(crate) enum Failure {
    /// An argument of the wrong type (`TypeError`, `ERR_FLUXORA_INVALID_ARGUMENT`).
    Argument(String),
    /// A body that is not raw bytes (`TypeError`, `ERR_FLUXORA_INVALID_BODY`).
    Body(String),
    /// `isDuplicateDelivery` returned a promise (`TypeError`, `ERR_FLUXORA_ASYNC_CALLBACK`).
    AsyncCallback,
    /// A setting the facade rejected (`ERR_FLUXORA_INVALID_SETTING`).
    Settings(SettingsError),
    /// A decimal the core rejected (`Error` with the `DECIMAL_*` code).
    Decimal(DecimalError),
}

/// The one place where failures become JS errors.
pub(crate) fn fail(failure: Failure) -> JsValue {
    let mut extra: Vec<(&str, &str)> = Vec::new();
    let (error, code): (js_sys::Error, &str) = match &failure {
        Failure::Argument(message) => (
            js_sys::TypeError::new(message).into(),
            "ERR_FLUXORA_INVALID_ARGUMENT",
        ),
        Failure::Body(message) => (
            js_sys::TypeError::new(message).into(),
            "ERR_FLUXORA_INVALID_BODY",
        ),
        Failure::AsyncCallback => (
            js_sys::TypeError::new(
                "isDuplicateDelivery must return a boolean synchronously; for an asynchronous \
                 store, verify first and de-duplicate afterwards",
            )
            .into(),
            "ERR_FLUXORA_ASYNC_CALLBACK",
        ),
        Failure::Settings(settings) => {
            extra.push(("field", settings.field.name(Spelling::JavaScript)));
            extra.push(("problem", settings.problem.code()));
            let message = settings.message(Spelling::JavaScript);
            let error: js_sys::Error = match settings.problem {
                Problem::NotWhole | Problem::OutOfRange => js_sys::RangeError::new(&message).into(),
                _ => js_sys::TypeError::new(&message).into(),
            };
            (error, "ERR_FLUXORA_INVALID_SETTING")
        }
        Failure::Decimal(decimal) => (js_sys::Error::new(&decimal.to_string()), decimal.code()),
    };
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    for (name, value) in extra {
        let _ = Reflect::set(&error, &name.into(), &value.into());
    }
    error.into()
}

/// Shorthand for an argument error.
pub(crate) fn bad_argument(message: impl Into<String>) -> JsValue {
    fail(Failure::Argument(message.into()))
}

/// Shorthand for a settings error.
pub(crate) fn settings_error(error: SettingsError) -> JsValue {
    fail(Failure::Settings(error))
}
