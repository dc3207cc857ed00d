//! Every error this package throws is made here, in [`throw`]: a JS error with a `code`
//! (and, for a setting, the `field` and `problem`). Messages never contain a secret.

use fluxora_webhooks_facade::core::decimal::DecimalError;
use fluxora_webhooks_facade::redis::UnexpectedReply;
use fluxora_webhooks_facade::{Problem, SettingsError, Spelling, UnknownVerdict};
use napi::Env;
use napi::bindgen_prelude::*;

/// Code of the error thrown for a body that is not raw bytes (e.g. a parsed JSON object).
pub(crate) const ERR_INVALID_BODY: &str = "ERR_FLUXORA_INVALID_BODY";
/// Code of the error thrown for any other argument of the wrong type.
pub(crate) const ERR_INVALID_ARGUMENT: &str = "ERR_FLUXORA_INVALID_ARGUMENT";
/// Code of the error thrown for a setting the facade rejected.
pub(crate) const ERR_INVALID_SETTING: &str = "ERR_FLUXORA_INVALID_SETTING";
/// Code of the error thrown when `isDuplicateDelivery` returns a promise.
pub(crate) const ERR_ASYNC_CALLBACK: &str = "ERR_FLUXORA_ASYNC_CALLBACK";
/// Code of the error thrown when a replay store answered something it never answers.
pub(crate) const ERR_REPLAY_STORE: &str = "ERR_FLUXORA_REPLAY_STORE";

/// What went wrong at the boundary, before or after the facade ran.
pub(crate) enum Failure {
    /// An argument of the wrong type (`TypeError`).
    Argument(String),
    /// A body that is not raw bytes (`TypeError`).
    Body(String),
    /// `isDuplicateDelivery` returned a promise (`TypeError`).
    AsyncCallback,
    /// A setting the facade rejected (`TypeError` for a wrong type or a missing secret,
    /// `RangeError` for a number out of range).
    Settings(SettingsError),
    /// A decimal the core rejected (`Error` with the `DECIMAL_*` code).
    Decimal(DecimalError),
    /// The Redis script answered an unknown reply (`Error`).
    RedisReply(UnexpectedReply),
    /// A replay store answered an unknown code (`TypeError`).
    Verdict(UnknownVerdict),
}

/// The one place where failures become thrown JS errors. Returns the napi error that tells
/// napi-rs an exception is pending.
pub(crate) fn throw(env: &Env, failure: Failure) -> Error {
    let mut extra: Vec<(&str, &str)> = Vec::new();
    let (constructor, code, message) = match &failure {
        Failure::Argument(message) => ("TypeError", ERR_INVALID_ARGUMENT, message.clone()),
        Failure::Body(message) => ("TypeError", ERR_INVALID_BODY, message.clone()),
        Failure::AsyncCallback => (
            "TypeError",
            ERR_ASYNC_CALLBACK,
            "isDuplicateDelivery must return a boolean synchronously; for an asynchronous \
             store use RedisReplayStore or Verifier.check and conclude with the store's answer"
                .to_owned(),
        ),
        Failure::Settings(error) => {
            extra.push(("field", error.field.name(Spelling::JavaScript)));
            extra.push(("problem", error.problem.code()));
            let constructor = match error.problem {
                Problem::NotWhole | Problem::OutOfRange => "RangeError",
                _ => "TypeError",
            };
            (
                constructor,
                ERR_INVALID_SETTING,
                error.message(Spelling::JavaScript),
            )
        }
        Failure::Decimal(error) => ("Error", error.code(), error.to_string()),
        Failure::RedisReply(error) => ("Error", ERR_REPLAY_STORE, error.to_string()),
        Failure::Verdict(error) => ("TypeError", ERR_REPLAY_STORE, error.to_string()),
    };
    match make_error(env, constructor, code, &message, &extra).and_then(|error| env.throw(error)) {
        Ok(()) => Error::new(Status::PendingException, message),
        Err(error) => error,
    }
}

/// `new globalThis[constructor](message)` with `code` and `extra` set on it.
fn make_error<'env>(
    env: &'env Env,
    constructor: &str,
    code: &str,
    message: &str,
    extra: &[(&str, &str)],
) -> Result<Object<'env>> {
    let global = env.get_global()?;
    let class: Function<'_, String, Unknown<'_>> = global.get_named_property(constructor)?;
    let created = class.new_instance(message.to_owned())?;
    #[allow(unsafe_code)]
    // SAFETY: `new` on an Error constructor returns an object (it throws otherwise, and
    // `new_instance` has returned that as `Err` already).
    let mut error = unsafe { created.cast::<Object<'env>>() }?;
    error.set_named_property("code", code)?;
    for (name, value) in extra {
        error.set_named_property(name, *value)?;
    }
    Ok(error)
}

/// Shorthand for an argument error.
pub(crate) fn bad_argument(env: &Env, message: impl Into<String>) -> Error {
    throw(env, Failure::Argument(message.into()))
}
