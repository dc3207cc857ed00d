//! Runs every case of the shared `conformance/cases.json` against the core.

use fluxora_conformance::{body_bytes, cases};
use fluxora_webhooks::decimal::{self, DecimalError};
use fluxora_webhooks::{
    DeliveryHeaders, FixedReplayStore, Outcome, ReplayEntry, ReplayGuard, ReplayVerdict, Verifier,
    sign,
};
use serde_json::Value;

fn u64_or(config: &Value, key: &str, defaults: &Value) -> u64 {
    config
        .get(key)
        .and_then(Value::as_u64)
        .or_else(|| defaults.get(key).and_then(Value::as_u64))
        .unwrap_or_else(|| panic!("no value for {key}"))
}

fn verifier_for(config: &Value, defaults: &Value) -> Verifier {
    let secret = config["secret"].as_str().unwrap_or("");
    let mut verifier = Verifier::new(secret.as_bytes())
        .with_tolerance_seconds(u64_or(config, "tolerance_seconds", defaults))
        .with_max_body_bytes(u64_or(config, "max_body_bytes", defaults))
        .with_grace_window_seconds(u64_or(config, "grace_window_seconds", defaults));
    if let Some(previous) = config.get("previous_secret").and_then(Value::as_str) {
        let rotated_at = config
            .get("previous_secret_rotated_at")
            .and_then(Value::as_u64);
        verifier = verifier.with_previous_secret(previous.as_bytes(), rotated_at);
    }
    verifier
}

/// The fixed store is sized at compile time (the cases use two capacities); with the
/// `alloc` feature the cases run against the indexed store instead.
enum Store {
    One(FixedReplayStore<1>),
    Many(Box<FixedReplayStore<1024>>),
    #[cfg(feature = "alloc")]
    Memory(fluxora_webhooks::MemoryReplayStore),
}

impl ReplayGuard for Store {
    fn check_and_record(&mut self, entry: &ReplayEntry<'_>) -> ReplayVerdict {
        match self {
            Store::One(store) => store.check_and_record(entry),
            Store::Many(store) => store.check_and_record(entry),
            #[cfg(feature = "alloc")]
            Store::Memory(store) => store.check_and_record(entry),
        }
    }
}

fn store_for(case: &Value, defaults: &Value) -> Store {
    let replay = case.get("replay").unwrap_or(&defaults["replay"]);
    let capacity = u64_or(replay, "capacity", &defaults["replay"]);
    let retention = u64_or(replay, "delivery_retention_seconds", &defaults["replay"]);
    #[cfg(feature = "alloc")]
    if let Ok(capacity) = usize::try_from(capacity) {
        return Store::Memory(
            fluxora_webhooks::MemoryReplayStore::with_delivery_retention(capacity, retention),
        );
    }
    match capacity {
        1 => Store::One(FixedReplayStore::with_delivery_retention(retention)),
        1024 => Store::Many(Box::new(FixedReplayStore::with_delivery_retention(
            retention,
        ))),
        other => panic!("no fixed store of capacity {other} in this harness"),
    }
}

fn run_delivery(verifier: &Verifier, delivery: &Value, store: &mut Store) -> Outcome {
    let header = |name: &str| delivery["headers"][name].as_str().map(str::as_bytes);
    let headers = DeliveryHeaders {
        delivery_id: header("delivery_id"),
        timestamp: header("timestamp"),
        signature: header("signature"),
    };
    let body = body_bytes(&delivery["body"]);
    let now = delivery["now"].as_u64().expect("now");
    verifier.verify(&headers, &body, now, store)
}

#[test]
fn every_signature_case_gives_the_expected_outcome() {
    let document = cases();
    let defaults = &document["defaults"];
    let mut failures = Vec::new();
    let all = document["signature_cases"].as_array().expect("cases");
    for (index, case) in all.iter().enumerate() {
        let verifier = verifier_for(&case["config"], defaults);
        let mut store = store_for(case, defaults);
        for prior in case
            .get("prior")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let outcome = run_delivery(&verifier, prior, &mut store);
            if outcome.code() != prior["expect_code"] {
                failures.push(format!(
                    "#{index} {}: prior gave {}",
                    case["name"],
                    outcome.code()
                ));
            }
        }
        let outcome = run_delivery(&verifier, case, &mut store);
        let expect = &case["expect"];
        let got = (
            outcome.code(),
            u64::from(outcome.status()),
            outcome.message().as_str().to_owned(),
        );
        let want = (
            expect["code"].as_str().expect("code"),
            expect["status"].as_u64().expect("status"),
            expect["message"].as_str().expect("message").to_owned(),
        );
        if got != want {
            failures.push(format!(
                "#{index} {}: got {got:?}, want {want:?}",
                case["name"]
            ));
        }
        if let Some(previous) = expect.get("used_previous_secret").and_then(Value::as_bool)
            && outcome.used_previous_secret() != previous
        {
            failures.push(format!("#{index} {}: used_previous_secret", case["name"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn incremental_verification_agrees_with_every_case() {
    let document = cases();
    let defaults = &document["defaults"];
    for case in document["signature_cases"].as_array().expect("cases") {
        if case.get("prior").is_some() {
            continue;
        }
        let verifier = verifier_for(&case["config"], defaults);
        let one_shot = run_delivery(&verifier, case, &mut store_for(case, defaults));
        let header = |name: &str| case["headers"][name].as_str().map(str::as_bytes);
        let headers = DeliveryHeaders {
            delivery_id: header("delivery_id"),
            timestamp: header("timestamp"),
            signature: header("signature"),
        };
        let body = body_bytes(&case["body"]);
        let now = case["now"].as_u64().expect("now");
        let streamed = match verifier.start(&headers, now) {
            Err(outcome) => outcome,
            Ok(mut verification) => body
                .chunks(7)
                .try_for_each(|chunk| verification.update(chunk))
                .err()
                .unwrap_or_else(|| verification.finish(&mut store_for(case, defaults))),
        };
        assert_eq!(streamed, one_shot, "{}", case["name"]);
    }
}

#[test]
fn known_answers_sign_as_published() {
    let document = cases();
    for answer in document["known_answers"].as_array().expect("known answers") {
        let signature = sign(
            answer["secret"].as_str().expect("secret").as_bytes(),
            answer["timestamp"].as_str().expect("timestamp").as_bytes(),
            &body_bytes(&answer["body"]),
        );
        assert_eq!(signature.as_str(), answer["signature"]);
    }
}

/// The facade's step before the core: only strings reach the parser.
fn validate(input: &Value, amount: bool) -> Result<(String, Option<i128>), DecimalError> {
    let text = match input {
        Value::Null => return Err(DecimalError::EmptyValue),
        Value::String(text) => text.as_str(),
        _ => return Err(DecimalError::InvalidType),
    };
    if amount {
        let value = decimal::parse_amount(text)?;
        Ok((value.as_str().to_owned(), Some(value.to_stroops()?)))
    } else {
        Ok((decimal::parse(text)?.as_str().to_owned(), None))
    }
}

#[test]
fn every_decimal_case_gives_the_expected_answer() {
    let document = cases();
    let mut failures = Vec::new();
    for case in document["decimal_cases"].as_array().expect("decimal cases") {
        let amount = case["amount"].as_bool().expect("amount");
        let expect = &case["expect"];
        let result = validate(&case["input"], amount);
        let ok = match (&result, expect["valid"].as_bool().expect("valid")) {
            (Ok((normalized, stroops)), true) => {
                normalized == expect["normalized"].as_str().expect("normalized")
                    && expect
                        .get("stroops")
                        .and_then(Value::as_str)
                        .is_none_or(|want| stroops.map(|s| s.to_string()).as_deref() == Some(want))
            }
            (Err(error), false) => error.code() == expect["code"],
            _ => false,
        };
        if !ok {
            failures.push(format!("{}: got {result:?}, want {expect}", case["name"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
