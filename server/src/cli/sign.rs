//! `sign`: the header set of one delivery, signed by the core.

use std::process::ExitCode;

use fluxora_webhooks::{
    HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign,
};

use super::{SignArgs, read_body};
use crate::util::unix_seconds;

/// A complete signed header set, in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `x-fluxora-delivery-id`.
    pub delivery_id: String,
    /// `x-fluxora-timestamp`.
    pub timestamp: String,
    /// `x-fluxora-signature`.
    pub signature: String,
    /// `x-fluxora-event`.
    pub event: String,
}

impl SignedHeaders {
    /// Signs `body` with `secret` at `timestamp` (default now) under `delivery_id` (default random).
    pub fn new(
        secret: &[u8],
        body: &[u8],
        timestamp: Option<u64>,
        delivery_id: Option<&str>,
        event: &str,
    ) -> Self {
        let timestamp = timestamp.unwrap_or_else(unix_seconds).to_string();
        let signature = sign(secret, timestamp.as_bytes(), body);
        Self {
            delivery_id: delivery_id
                .map_or_else(fluxora_webhooks_facade::new_delivery_id, str::to_owned),
            timestamp,
            signature: signature.as_str().to_owned(),
            event: event.to_owned(),
        }
    }

    /// `(name, value)` pairs.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            (HEADER_DELIVERY_ID, &self.delivery_id),
            (HEADER_TIMESTAMP, &self.timestamp),
            (HEADER_SIGNATURE, &self.signature),
            (HEADER_EVENT, &self.event),
        ]
    }
}

/// Runs `sign`.
pub fn run_sign(args: &SignArgs) -> ExitCode {
    let body = match read_body(&args.body) {
        Ok(body) => body,
        Err(err) => {
            eprintln!("error: cannot read {}: {err}", args.body.display());
            return ExitCode::from(2);
        }
    };
    let headers = SignedHeaders::new(
        args.secret.secret().as_bytes(),
        &body,
        args.timestamp,
        args.delivery_id.as_deref(),
        &args.event,
    );
    if args.json {
        let object: serde_json::Map<String, serde_json::Value> = headers
            .pairs()
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
            .collect();
        println!("{}", serde_json::Value::Object(object));
    } else {
        for (name, value) in headers.pairs() {
            println!("{name}: {value}");
        }
    }
    ExitCode::SUCCESS
}
