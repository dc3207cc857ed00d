//! Conversions from JavaScript values into the facade's inputs. Nothing here decides an
//! answer: header names, settings and clocks are judged by the facade.

use fluxora_webhooks_facade::core::{BodyVerification, Checked, Outcome};
use fluxora_webhooks_facade::{
    ContractHeader, JsError, OwnedLoose, ReceivedHeaders, Verifier, now_from,
};
use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::errors::{fail, settings_error};

/// Converts any JS value (a `Date` becomes its Unix seconds, as a number).
pub(crate) fn owned(value: &JsValue) -> OwnedLoose {
    if value.is_undefined() {
        OwnedLoose::Absent
    } else if value.is_null() {
        OwnedLoose::Null
    } else if let Some(flag) = value.as_bool() {
        OwnedLoose::Bool(flag)
    } else if let Some(number) = value.as_f64() {
        OwnedLoose::Number(number)
    } else if let Some(text) = value.as_string() {
        OwnedLoose::Text(text)
    } else if value.is_bigint() {
        let bigint: js_sys::BigInt = value.clone().unchecked_into();
        OwnedLoose::Integer(i128::try_from(bigint).unwrap_or(i128::MAX))
    } else if let Some(date) = value.dyn_ref::<js_sys::Date>() {
        OwnedLoose::Number(date.get_time() / 1000.0)
    } else {
        OwnedLoose::Other
    }
}

/// A named property of an options object (`undefined` when the value is not an object).
pub(crate) fn property(object: &JsValue, name: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// `now` as Unix seconds: absent is the clock; a number is seconds; a `Date` converts.
pub(crate) fn now_seconds(value: &JsValue) -> Result<u64, JsValue> {
    now_from(owned(value).loose(), clock).map_err(settings_error)
}

/// The JavaScript clock in Unix seconds.
pub(crate) fn clock() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Every value of one header field: a string, or an array of strings; null and undefined
/// are absent.
fn field_values(name: &str, value: &JsValue) -> Result<Vec<String>, JsValue> {
    let wrong = || fail(JsError::header_value(name));
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    if let Some(text) = value.as_string() {
        return Ok(vec![text]);
    }
    if Array::is_array(value) {
        return Array::from(value)
            .iter()
            .map(|part| part.as_string().ok_or_else(wrong))
            .collect();
    }
    Err(wrong())
}

fn push_pair(received: &mut ReceivedHeaders, pair: &JsValue) -> Result<(), JsValue> {
    if !Array::is_array(pair) {
        return Err(fail(JsError::headers_shape()));
    }
    let pair = Array::from(pair);
    let name = match (pair.length(), pair.get(0).as_string()) {
        (2, Some(name)) => name,
        _ => return Err(fail(JsError::headers_shape())),
    };
    for value in field_values(&name, &pair.get(1))? {
        received.push(name.as_bytes(), value.as_bytes());
    }
    Ok(())
}

/// A request's headers in any form JavaScript code has them: a plain object (any name
/// case), a Fetch `Headers` or a `Map` (anything iterable), or an array of `[name, value]`
/// pairs. Every field goes to the facade's one lookup, in order.
pub(crate) fn request_headers(headers: &JsValue) -> Result<ReceivedHeaders, JsValue> {
    if !headers.is_object() {
        return Err(fail(JsError::headers_shape()));
    }
    let mut received = ReceivedHeaders::new();
    if let Some(pairs) = js_sys::try_iter(headers)? {
        for pair in pairs {
            push_pair(&mut received, &pair?)?;
        }
        return Ok(received);
    }
    let object: &Object = headers.unchecked_ref();
    for name in Object::keys(object).iter() {
        let Some(name) = name.as_string() else {
            continue;
        };
        // Only the contract's fields are read; the facade tells which those are.
        if ContractHeader::of(name.as_bytes()).is_none() {
            continue;
        }
        let value = Reflect::get(headers, &JsValue::from_str(&name))?;
        for value in field_values(&name, &value)? {
            received.push(name.as_bytes(), value.as_bytes());
        }
    }
    Ok(received)
}

/// The headers of a delivery given as fields (`deliveryId`, `timestamp`, `signature`).
pub(crate) fn field_headers(delivery: &JsValue) -> Result<ReceivedHeaders, JsValue> {
    let mut received = ReceivedHeaders::new();
    for (header, name) in [
        (ContractHeader::DeliveryId, "deliveryId"),
        (ContractHeader::Timestamp, "timestamp"),
        (ContractHeader::Signature, "signature"),
    ] {
        for value in field_values(name, &property(delivery, name))? {
            received.append(header, value.as_bytes());
        }
    }
    Ok(received)
}

const BODY_HINT: &str = "rawBody must be the raw request body as a Uint8Array, ArrayBuffer or string, exactly as received; \
a parsed JSON object cannot be verified because re-serializing changes the signed bytes \
(read the body with await request.arrayBuffer())";

/// The raw body: a view of the JavaScript bytes (copied into the module in chunks while it
/// is verified), or a string's UTF-8.
pub(crate) enum Body {
    View(Uint8Array),
    Text(Vec<u8>),
}

fn describe(value: &JsValue) -> &'static str {
    if value.is_null() {
        "null"
    } else if Array::is_array(value) {
        "an array"
    } else if value.is_object() {
        "an object"
    } else if value.as_f64().is_some() {
        "a number"
    } else if value.as_bool().is_some() {
        "a boolean"
    } else if value.is_bigint() {
        "a bigint"
    } else {
        "not a string or bytes"
    }
}

/// Reads `rawBody` (a `Uint8Array`, another view, an `ArrayBuffer` or a string).
pub(crate) fn body(value: &JsValue) -> Result<Body, JsValue> {
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        return Ok(Body::View(bytes.clone()));
    }
    if let Some(text) = value.as_string() {
        return Ok(Body::Text(text.into_bytes()));
    }
    if value.is_instance_of::<ArrayBuffer>() || value.is_instance_of::<js_sys::SharedArrayBuffer>()
    {
        return Ok(Body::View(Uint8Array::new(value)));
    }
    if ArrayBuffer::is_view(value) {
        let buffer = Reflect::get(value, &"buffer".into())?;
        let offset = Reflect::get(value, &"byteOffset".into())?
            .as_f64()
            .unwrap_or(0.0) as u32;
        let length = Reflect::get(value, &"byteLength".into())?
            .as_f64()
            .unwrap_or(0.0) as u32;
        return Ok(Body::View(Uint8Array::new_with_byte_offset_and_length(
            &buffer, offset, length,
        )));
    }
    if value.is_undefined() || value.is_null() {
        return Err(fail(JsError::body(None, BODY_HINT)));
    }
    Err(fail(JsError::body(Some(describe(value)), BODY_HINT)))
}

/// Bytes copied out of a JavaScript body view per step.
const CHUNK_BYTES: u32 = 64 * 1024;

/// Feeds a body view to `consume` one chunk at a time, stopping at its first error (so a body
/// far over the limit is never copied whole).
pub(crate) fn each_chunk<E>(
    view: &Uint8Array,
    mut consume: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let length = view.length();
    if length <= CHUNK_BYTES {
        return consume(&view.to_vec());
    }
    let mut start = 0;
    while start < length {
        let end = start.saturating_add(CHUNK_BYTES).min(length);
        consume(&view.subarray(start, end).to_vec())?;
        start = end;
    }
    Ok(())
}

/// Every check up to the replay step, streaming a view through the core.
pub(crate) fn check<'a>(
    verifier: &Verifier,
    headers: &'a ReceivedHeaders,
    body: &Body,
    now: u64,
) -> Result<Checked<'a>, Outcome> {
    let mut verification: BodyVerification<'a> = verifier.core().start(&headers.delivery(), now)?;
    match body {
        Body::Text(bytes) => verification.update(bytes)?,
        Body::View(view) => each_chunk(view, |chunk| verification.update(chunk))?,
    }
    verification.check()
}
