//! Every error this package throws is made here, in [`fail`]: the facade's [`JsError`]
//! (class, `code`, message, `field` / `problem`) as a real JS error. Messages never contain a
//! secret.

use fluxora_webhooks_facade::{JsClass, JsError, SettingsError};
use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// The JS error for `error`.
pub(crate) fn fail(error: JsError) -> JsValue {
    let object: js_sys::Error = match error.class {
        JsClass::TypeError => js_sys::TypeError::new(&error.message).into(),
        JsClass::RangeError => js_sys::RangeError::new(&error.message).into(),
        JsClass::Error => js_sys::Error::new(&error.message),
    };
    let _ = Reflect::set(&object, &"code".into(), &error.code.into());
    for (name, value) in error.extra {
        let _ = Reflect::set(&object, &name.into(), &value.into());
    }
    object.into()
}

/// Shorthand for an argument error.
pub(crate) fn bad_argument(message: impl Into<String>) -> JsValue {
    fail(JsError::argument(message))
}

/// Shorthand for a settings error.
pub(crate) fn settings_error(error: SettingsError) -> JsValue {
    fail(JsError::settings(error))
}
