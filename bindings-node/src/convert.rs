//! Conversions from JavaScript values into the facade's inputs. Nothing here decides an
//! answer: header names, settings and clocks are judged by the facade.

use fluxora_webhooks_facade::{
    ContractHeader, JsError, OwnedLoose, ReceivedHeaders, SettingsError,
};
use napi::bindgen_prelude::*;
use napi::{Env, JsValue, ValueType};

use crate::errors::throw;

/// The raw body: borrowed from a Buffer/Uint8Array without copying, or a string's UTF-8.
pub(crate) enum Body<'a> {
    Borrowed(BufferSlice<'a>),
    Whole(ArrayBuffer<'a>),
    Text(String),
}

impl Body<'_> {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Body::Borrowed(slice) => slice,
            Body::Whole(buffer) => buffer,
            Body::Text(text) => text.as_bytes(),
        }
    }
}

const BODY_HINT: &str = "rawBody must be the raw request body as a Buffer, Uint8Array, ArrayBuffer or string, exactly as received; \
a parsed JSON object cannot be verified because re-serializing changes the signed bytes \
(read the body with a raw parser, e.g. express.raw({ type: '*/*' }) or await request.arrayBuffer())";

pub(crate) fn body<'a>(env: &Env, value: impl Into<Option<Unknown<'a>>>) -> Result<Body<'a>> {
    let missing = || throw(env, JsError::body(None, BODY_HINT));
    let Some(value) = value.into() else {
        return Err(missing());
    };
    // Fast path for Buffers and every other ArrayBufferView. The type is checked first: before
    // Node 20, `napi_get_buffer_info` (which `BufferSlice` calls) aborts the process on any
    // other value instead of failing (Node 18 on arm64, in scripts/test-dist.sh).
    if value.is_buffer()? {
        #[allow(unsafe_code)]
        // SAFETY: `napi_is_buffer` just found an ArrayBufferView, which is what
        // `napi_get_buffer_info` reads.
        let slice = unsafe { value.cast::<BufferSlice<'a>>() }?;
        return Ok(Body::Borrowed(slice));
    }
    match value.get_type()? {
        ValueType::String => Ok(Body::Text(string(&value)?)),
        ValueType::Object if value.is_arraybuffer()? => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be an ArrayBuffer.
            let buffer = unsafe { value.cast::<ArrayBuffer<'a>>() }?;
            Ok(Body::Whole(buffer))
        }
        ValueType::Undefined | ValueType::Null => Err(missing()),
        other => Err(throw(env, JsError::body(Some(type_name(other)), BODY_HINT))),
    }
}

fn type_name(value_type: ValueType) -> &'static str {
    match value_type {
        ValueType::Object => "an object",
        ValueType::Number => "a number",
        ValueType::Boolean => "a boolean",
        ValueType::BigInt => "a bigint",
        ValueType::Function => "a function",
        ValueType::Symbol => "a symbol",
        _ => "not a string or bytes",
    }
}

/// A value already known to be a string.
fn string(value: &Unknown<'_>) -> Result<String> {
    #[allow(unsafe_code)]
    // SAFETY: every caller checked the value's type to be a string first.
    unsafe {
        value.cast::<String>()
    }
}

/// Converts any JS value (a `Date` becomes its Unix seconds, as a number).
pub(crate) fn owned(value: Option<Unknown<'_>>) -> Result<OwnedLoose> {
    let Some(value) = value else {
        return Ok(OwnedLoose::Absent);
    };
    #[allow(unsafe_code)]
    // SAFETY (each cast below): the value's type was checked first.
    Ok(match value.get_type()? {
        ValueType::Undefined => OwnedLoose::Absent,
        ValueType::Null => OwnedLoose::Null,
        ValueType::Boolean => OwnedLoose::Bool(unsafe { value.cast::<bool>() }?),
        ValueType::Number => OwnedLoose::Number(unsafe { value.cast::<f64>() }?),
        ValueType::String => OwnedLoose::Text(string(&value)?),
        ValueType::BigInt => {
            let (number, lossless) = unsafe { value.cast::<BigInt>() }?.get_i128();
            OwnedLoose::Integer(if lossless { number } else { i128::MAX })
        }
        ValueType::Object if value.is_date()? => {
            let date = unsafe { value.cast::<napi::JsDate<'_>>() }?;
            OwnedLoose::Number(date.value_of()? / 1000.0)
        }
        _ => OwnedLoose::Other,
    })
}

/// A facade settings error, thrown.
pub(crate) fn settings_error(env: &Env, error: SettingsError) -> Error {
    throw(env, JsError::settings(error))
}

/// Reads a named property of an options object.
pub(crate) fn property<'a>(object: &Object<'a>, name: &str) -> Result<Option<Unknown<'a>>> {
    object.get_named_property::<Option<Unknown<'a>>>(name)
}

/// Every value of one header field: a string, or (a field repeated, as Node's
/// `IncomingHttpHeaders` has it) an array of strings; null and undefined are absent.
fn field_values(env: &Env, name: &str, value: Unknown<'_>) -> Result<Vec<String>> {
    let wrong = || throw(env, JsError::header_value(name));
    match value.get_type()? {
        ValueType::Undefined | ValueType::Null => Ok(Vec::new()),
        ValueType::String => Ok(vec![string(&value)?]),
        ValueType::Object if value.is_array()? => {
            #[allow(unsafe_code)]
            // SAFETY: the value was just checked to be an array.
            unsafe { value.cast::<Vec<String>>() }.map_err(|_| wrong())
        }
        _ => Err(wrong()),
    }
}

/// A request's headers in any form Node code has them: a plain object (any name case,
/// string or string-array values: `IncomingHttpHeaders`, AWS Lambda's `event.headers`), a
/// Fetch `Headers` or a `Map` (anything with `entries()`), or an array of `[name, value]`
/// pairs. Every field goes to the facade's one lookup, in order.
pub(crate) fn request_headers(env: &Env, headers: Unknown<'_>) -> Result<ReceivedHeaders> {
    if headers.get_type()? != ValueType::Object {
        return Err(throw(env, JsError::headers_shape()));
    }
    let mut received = ReceivedHeaders::new();
    if headers.is_array()? {
        #[allow(unsafe_code)]
        // SAFETY: the value was just checked to be an array.
        let pairs = unsafe { headers.cast::<Vec<Unknown<'_>>>() }?;
        push_pairs(env, &mut received, pairs)?;
        return Ok(received);
    }
    #[allow(unsafe_code)]
    // SAFETY: the value was just checked to be an object.
    let object = unsafe { headers.cast::<Object<'_>>() }?;
    let entries = property(&object, "entries")?;
    if let Some(entries) = entries.filter(|e| matches!(e.get_type(), Ok(ValueType::Function))) {
        // Headers, Map: walk `headers.entries()`, each item a `[name, value]` pair.
        #[allow(unsafe_code)]
        // SAFETY: the value was just checked to be a function.
        let entries = unsafe { entries.cast::<Function<'_, (), Object<'_>>>() }?;
        let iterator = entries.apply(object, ())?;
        let next: Function<'_, (), Object<'_>> = iterator.get_named_property("next")?;
        let mut pairs = Vec::new();
        loop {
            let step = next.apply(iterator, ())?;
            if step.get_named_property::<bool>("done")? {
                break;
            }
            pairs.push(step.get_named_property::<Unknown<'_>>("value")?);
        }
        push_pairs(env, &mut received, pairs)?;
        return Ok(received);
    }
    for name in Object::keys(&object)? {
        // Only the contract's fields are read; the facade tells which those are.
        if ContractHeader::of(name.as_bytes()).is_none() {
            continue;
        }
        let value: Unknown<'_> = object.get_named_property(&name)?;
        for value in field_values(env, &name, value)? {
            received.push(name.as_bytes(), value.as_bytes());
        }
    }
    Ok(received)
}

fn push_pairs(env: &Env, received: &mut ReceivedHeaders, pairs: Vec<Unknown<'_>>) -> Result<()> {
    let shape = || throw(env, JsError::headers_shape());
    for pair in pairs {
        if pair.get_type()? != ValueType::Object || !pair.is_array()? {
            return Err(shape());
        }
        #[allow(unsafe_code)]
        // SAFETY: the value was just checked to be an array.
        let pair = unsafe { pair.cast::<Vec<Unknown<'_>>>() }?;
        let [name, value] = <[Unknown<'_>; 2]>::try_from(pair).map_err(|_| shape())?;
        if name.get_type()? != ValueType::String {
            return Err(shape());
        }
        let name = string(&name)?;
        for value in field_values(env, &name, value)? {
            received.push(name.as_bytes(), value.as_bytes());
        }
    }
    Ok(())
}

/// The headers of a delivery given as fields (`deliveryId`, `timestamp`, `signature`).
pub(crate) fn field_headers(
    env: &Env,
    delivery_id: Option<Unknown<'_>>,
    timestamp: Option<Unknown<'_>>,
    signature: Option<Unknown<'_>>,
) -> Result<ReceivedHeaders> {
    let mut received = ReceivedHeaders::new();
    for (header, name, value) in [
        (ContractHeader::DeliveryId, "deliveryId", delivery_id),
        (ContractHeader::Timestamp, "timestamp", timestamp),
        (ContractHeader::Signature, "signature", signature),
    ] {
        if let Some(value) = value {
            for value in field_values(env, name, value)? {
                received.append(header, value.as_bytes());
            }
        }
    }
    Ok(received)
}

/// `now` as Unix seconds: absent is the system clock; a number is seconds; a `Date` is
/// converted from its milliseconds. The facade judges the value.
pub(crate) fn now_seconds(env: &Env, value: Option<Unknown<'_>>) -> Result<u64> {
    let value = owned(value)?;
    fluxora_webhooks_facade::now_from(value.loose(), fluxora_webhooks_facade::system_now)
        .map_err(|error| settings_error(env, error))
}
