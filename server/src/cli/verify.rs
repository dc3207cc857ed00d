//! `verify`: the core's outcome for a captured delivery, and the likely causes of a mismatch.

use std::process::ExitCode;

use fluxora_webhooks::{
    DeliveryHeaders, HEADER_DELIVERY_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, NoReplayGuard,
    Verifier,
};

use super::diagnose::diagnose_mismatch;
use super::{VerifyArgs, read_body};
use crate::util::unix_seconds;

/// The three signed headers found in a captured `name: value` listing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CapturedHeaders {
    /// `x-fluxora-delivery-id`.
    pub delivery_id: Option<String>,
    /// `x-fluxora-timestamp`.
    pub timestamp: Option<String>,
    /// `x-fluxora-signature`.
    pub signature: Option<String>,
}

/// Parses `name: value` lines (case-insensitive names; other lines such as a request line
/// or unrelated headers are ignored). Values keep their bytes apart from the line break.
pub fn parse_captured_headers(text: &str) -> CapturedHeaders {
    let mut found = CapturedHeaders::default();
    for line in text.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
        match name.trim().to_ascii_lowercase().as_str() {
            HEADER_DELIVERY_ID => found.delivery_id = Some(value),
            HEADER_TIMESTAMP => found.timestamp = Some(value),
            HEADER_SIGNATURE => found.signature = Some(value),
            _ => {}
        }
    }
    found
}

/// Runs `verify`: prints code, status and message (and likely causes); succeeds only on `ok`.
pub fn run_verify(args: &VerifyArgs) -> ExitCode {
    let body = match read_body(&args.body) {
        Ok(body) => body,
        Err(err) => {
            eprintln!("error: cannot read {}: {err}", args.body.display());
            return ExitCode::from(2);
        }
    };
    let mut captured = match &args.headers {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => parse_captured_headers(&text),
            Err(err) => {
                eprintln!("error: cannot read {}: {err}", path.display());
                return ExitCode::from(2);
            }
        },
        None => CapturedHeaders::default(),
    };
    if args.delivery_id.is_some() {
        captured.delivery_id.clone_from(&args.delivery_id);
    }
    if args.timestamp.is_some() {
        captured.timestamp.clone_from(&args.timestamp);
    }
    if args.signature.is_some() {
        captured.signature.clone_from(&args.signature);
    }
    let secret = args.secret.secret.as_bytes();
    let now = args.now.unwrap_or_else(unix_seconds);
    let verifier = Verifier::new(secret)
        .with_tolerance_seconds(args.tolerance_seconds)
        .with_max_body_bytes(args.max_body_bytes);
    let headers = DeliveryHeaders {
        delivery_id: captured.delivery_id.as_deref().map(str::as_bytes),
        timestamp: captured.timestamp.as_deref().map(str::as_bytes),
        signature: captured.signature.as_deref().map(str::as_bytes),
    };
    let outcome = verifier.verify(&headers, &body, now, &mut NoReplayGuard);
    let causes = diagnose_mismatch(
        secret,
        captured.timestamp.as_deref().unwrap_or_default().as_bytes(),
        captured.signature.as_deref().unwrap_or_default().as_bytes(),
        &body,
        now,
        args.tolerance_seconds,
        outcome,
    );
    if args.json {
        let causes: Vec<_> = causes
            .iter()
            .map(|d| serde_json::json!({ "cause": d.cause, "detail": d.detail }))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "code": outcome.code(),
                "status": outcome.status(),
                "message": outcome.message().as_str(),
                "usedPreviousSecret": outcome.used_previous_secret(),
                "likelyCauses": causes,
            })
        );
    } else {
        println!(
            "{} {} {}",
            outcome.code(),
            outcome.status(),
            outcome.message()
        );
        if !causes.is_empty() {
            println!("likely causes:");
            for cause in &causes {
                println!("  - {}: {}", cause.cause, cause.detail);
            }
        }
    }
    if outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_captured_request() {
        let text = "POST /hook HTTP/1.1\r\nX-Fluxora-Delivery-Id: dlv_1\r\nx-fluxora-timestamp: 1710000000\r\nX-FLUXORA-SIGNATURE: abc\r\nContent-Type: application/json\r\n";
        let found = parse_captured_headers(text);
        assert_eq!(found.delivery_id.as_deref(), Some("dlv_1"));
        assert_eq!(found.timestamp.as_deref(), Some("1710000000"));
        assert_eq!(found.signature.as_deref(), Some("abc"));
    }
}
