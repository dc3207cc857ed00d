//! Every error this package throws is made here, in [`throw`]: the facade's [`JsError`]
//! (class, `code`, message, `field` / `problem`) as a real JS error. Messages never contain a
//! secret.

use fluxora_webhooks_facade::JsError;
use napi::Env;
use napi::bindgen_prelude::*;

/// Throws `error` on `env`. Returns the napi error that tells napi-rs an exception is pending.
pub(crate) fn throw(env: &Env, error: JsError) -> Error {
    match make_error(env, &error).and_then(|object| env.throw(object)) {
        Ok(()) => Error::new(Status::PendingException, error.message),
        Err(failure) => failure,
    }
}

/// `new globalThis[class](message)` with `code` and the extra properties set on it.
fn make_error<'env>(env: &'env Env, error: &JsError) -> Result<Object<'env>> {
    let global = env.get_global()?;
    let class: Function<'_, String, Unknown<'_>> = global.get_named_property(error.class.name())?;
    let created = class.new_instance(error.message.clone())?;
    #[allow(unsafe_code)]
    // SAFETY: `new` on an Error constructor returns an object (it throws otherwise, and
    // `new_instance` has returned that as `Err` already).
    let mut object = unsafe { created.cast::<Object<'env>>() }?;
    object.set_named_property("code", error.code)?;
    for (name, value) in &error.extra {
        object.set_named_property(name, *value)?;
    }
    Ok(object)
}

/// Shorthand for an argument error.
pub(crate) fn bad_argument(env: &Env, message: impl Into<String>) -> Error {
    throw(env, JsError::argument(message))
}
