//! `verify`: the core's outcome for a captured delivery, and the likely causes of a mismatch.

use std::process::ExitCode;

use fluxora_webhooks::NoReplayGuard;
use fluxora_webhooks_facade::{
    ContractHeader, Loose, ReceivedHeaders, SecretRule, SettingsInput, Spelling, Verifier,
};

use super::diagnose::diagnose_mismatch;
use super::{VerifyArgs, read_body};
use crate::util::unix_seconds;

/// The contract headers found in a captured listing of `name: value` lines (a request line
/// or other headers are ignored), by the one lookup every runtime uses: names are
/// case-insensitive and a repeated field is one value joined with `", "`. Values keep their
/// bytes apart from the line break and the one space after the colon.
pub fn parse_captured_headers(text: &str) -> ReceivedHeaders {
    let mut found = ReceivedHeaders::new();
    for line in text.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.strip_prefix(' ').unwrap_or(value);
        found.push(name.trim().as_bytes(), value.as_bytes());
    }
    found
}

/// The verifier the options describe, validated by the facade.
fn verifier(args: &VerifyArgs) -> Result<Verifier, String> {
    let whole = |value: u64| Loose::Integer(i128::from(value));
    let settings = SettingsInput {
        secret: Loose::Text(args.secret.secret()),
        previous_secret: args
            .previous_secret
            .as_deref()
            .map_or(Loose::Absent, Loose::Text),
        previous_secret_field: None,
        previous_secret_rotated_at: args.previous_secret_rotated_at.map_or(Loose::Absent, whole),
        grace_window_seconds: whole(args.grace_window_seconds),
        tolerance_seconds: whole(args.tolerance_seconds),
        max_body_bytes: whole(args.max_body_bytes),
    };
    // Like a receiver, an empty secret answers missing_secret (500) rather than failing here.
    Verifier::from_input(&settings, SecretRule::Optional)
        .map_err(|error| error.message(Spelling::Python).replace('_', "-"))
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
        None => ReceivedHeaders::new(),
    };
    captured.set(
        ContractHeader::DeliveryId,
        args.delivery_id.as_deref().map(str::as_bytes),
    );
    captured.set(
        ContractHeader::Timestamp,
        args.timestamp.as_deref().map(str::as_bytes),
    );
    captured.set(
        ContractHeader::Signature,
        args.signature.as_deref().map(str::as_bytes),
    );
    let verifier = match verifier(args) {
        Ok(verifier) => verifier,
        Err(message) => {
            eprintln!("error: --{message}");
            return ExitCode::from(2);
        }
    };
    let secret = args.secret.secret().as_bytes();
    let now = args.now.unwrap_or_else(unix_seconds);
    let outcome = verifier.verify(&captured, &body, now, &mut NoReplayGuard);
    let causes = diagnose_mismatch(
        secret,
        captured.get(ContractHeader::Timestamp).unwrap_or_default(),
        captured.get(ContractHeader::Signature).unwrap_or_default(),
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
    fn a_repeated_captured_header_is_one_combined_value() {
        let found = parse_captured_headers("x-fluxora-signature: aa\nX-Fluxora-Signature: bb\n");
        assert_eq!(found.get(ContractHeader::Signature), Some(&b"aa, bb"[..]));
    }

    #[test]
    fn parses_a_captured_request() {
        let text = "POST /hook HTTP/1.1\r\nX-Fluxora-Delivery-Id: dlv_1\r\nx-fluxora-timestamp: 1710000000\r\nX-FLUXORA-SIGNATURE: abc\r\nContent-Type: application/json\r\n";
        let found = parse_captured_headers(text);
        assert_eq!(found.get(ContractHeader::DeliveryId), Some(&b"dlv_1"[..]));
        assert_eq!(
            found.get(ContractHeader::Timestamp),
            Some(&b"1710000000"[..])
        );
        assert_eq!(found.get(ContractHeader::Signature), Some(&b"abc"[..]));
    }
}
