//! WebAssembly bindings (wasm-bindgen) for the Fluxora webhooks core: the npm package
//! `@fluxora/webhooks-wasm`.
//!
//! This crate converts JavaScript values into the facade's inputs and its results back
//! (`convert`, `results`) and makes every error in one function (`errors::fail`). Every header
//! lookup, setting, replay verdict, signed header set and decimal rule is the facade's
//! (`fluxora-webhooks-facade`); every parse, hash, code, status and message is the core's.
//! `js/api.js` only instantiates the module and adds the Fetch helper.
//!
//! Nothing here can panic on any input: numbers are judged by the facade, and bodies are
//! copied out of their JavaScript view in bounded chunks (so a body far over the limit is
//! never copied whole).

mod convert;
mod decimal;
mod dropin;
mod errors;
mod reservation;
mod results;
mod signing;
mod verifier;

use fluxora_webhooks_facade::core::{DEFAULT_MAX_BODY_BYTES, DEFAULT_TOLERANCE_SECONDS};
use fluxora_webhooks_facade::{ContractHeader, outcome_table};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

pub use decimal::{format_from_stroops, parse_to_stroops, validate_decimal_string};
pub use dropin::verify_webhook_signature;
pub use reservation::Reservation;
pub use signing::{build_webhook_signing_payload, compute_webhook_signature, sign_delivery};
pub use verifier::Verifier;

/// Every outcome code with its status and message under the default configuration, in the
/// order the checks run (`ok` first).
#[wasm_bindgen(js_name = outcomeCodes)]
pub fn outcome_codes() -> Array {
    outcome_table(DEFAULT_TOLERANCE_SECONDS, DEFAULT_MAX_BODY_BYTES)
        .into_iter()
        .map(|outcome| {
            let info = Object::new();
            let _ = Reflect::set(&info, &"code".into(), &outcome.code().into());
            let _ = Reflect::set(&info, &"status".into(), &outcome.status().into());
            let _ = Reflect::set(&info, &"message".into(), &outcome.message().as_str().into());
            JsValue::from(info)
        })
        .collect()
}

/// The header names of the wire contract.
#[wasm_bindgen(js_name = headerNames)]
pub fn header_names() -> JsValue {
    let names = Object::new();
    for (key, header) in [
        ("deliveryId", ContractHeader::DeliveryId),
        ("timestamp", ContractHeader::Timestamp),
        ("signature", ContractHeader::Signature),
        ("event", ContractHeader::Event),
    ] {
        let _ = Reflect::set(&names, &key.into(), &header.name().into());
    }
    names.into()
}

/// The contract headers of a request, as the one lookup finds them (case-insensitive names,
/// repeated fields combined with `", "`); absent ones are `undefined`.
#[wasm_bindgen(js_name = readHeaders)]
pub fn read_headers(headers: JsValue) -> Result<JsValue, JsValue> {
    let received = convert::request_headers(&headers)?;
    let found = Object::new();
    for (key, header) in [
        ("deliveryId", ContractHeader::DeliveryId),
        ("timestamp", ContractHeader::Timestamp),
        ("signature", ContractHeader::Signature),
        ("event", ContractHeader::Event),
    ] {
        if let Some(value) = received.get(header) {
            let text = String::from_utf8_lossy(value);
            Reflect::set(&found, &key.into(), &text.as_ref().into())?;
        }
    }
    Ok(found.into())
}

/// Whether an application's answer `status` settles its reservation by a commit (below 500:
/// handled) rather than a release (500 and above: the sender's retry is processed again).
#[wasm_bindgen(js_name = commitsOn)]
pub fn commits_on(status: u32) -> bool {
    u16::try_from(status).is_ok_and(fluxora_webhooks_facade::commits_on)
}
