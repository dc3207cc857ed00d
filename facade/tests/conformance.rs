//! Runs the shared `conformance/cases.json` through the facade: signature cases with the
//! headers given as fields, header cases through the one header lookup, settings cases
//! through the one validation.

use fluxora_conformance::{body_bytes, cases};
use fluxora_webhooks_facade::core::{
    MemoryReplayStore, Outcome, ReplayReservations, ReplayVerdict, Reservation,
};
use fluxora_webhooks_facade::{
    ContractHeader, Field, Loose, Problem, ReceivedHeaders, ReplaySettings, SecretRule, Settings,
    SettingsError, SettingsInput, Verifier,
};
use serde_json::Value;

/// A JSON value as a runtime would hand it over.
fn loose(value: Option<&Value>) -> Loose<'_> {
    match value {
        None => Loose::Absent,
        Some(Value::Null) => Loose::Null,
        Some(Value::Bool(flag)) => Loose::Bool(*flag),
        Some(Value::Number(number)) => match (number.as_i64(), number.as_u64()) {
            (Some(integer), _) => Loose::Integer(i128::from(integer)),
            (_, Some(integer)) => Loose::Integer(i128::from(integer)),
            _ => Loose::Number(number.as_f64().expect("finite")),
        },
        Some(Value::String(text)) => Loose::Text(text),
        Some(_) => Loose::Other,
    }
}

fn settings(config: &Value, rule: SecretRule) -> Result<(Verifier, ReplaySettings), SettingsError> {
    let input = SettingsInput {
        secret: loose(config.get("secret")),
        previous_secret: loose(config.get("previous_secret")),
        previous_secret_rotated_at: loose(config.get("previous_secret_rotated_at")),
        grace_window_seconds: loose(config.get("grace_window_seconds")),
        tolerance_seconds: loose(config.get("tolerance_seconds")),
        max_body_bytes: loose(config.get("max_body_bytes")),
        ..SettingsInput::default()
    };
    let verifier = Settings::from_input(&input, rule).map(Verifier::new)?;
    let replay = config.get("replay");
    let field = |name| loose(replay.and_then(|r| r.get(name)));
    let replay = ReplaySettings::memory(field("capacity"), field("delivery_retention_seconds"))?;
    Ok((verifier, replay))
}

fn store(case: &Value, defaults: &Value) -> MemoryReplayStore {
    let replay = case.get("replay").unwrap_or(&defaults["replay"]);
    let get = |name| {
        replay
            .get(name)
            .or_else(|| defaults["replay"].get(name))
            .and_then(Value::as_u64)
            .expect("replay setting")
    };
    MemoryReplayStore::with_delivery_retention(
        get("capacity") as usize,
        get("delivery_retention_seconds"),
    )
}

fn from_fields(headers: &Value) -> ReceivedHeaders {
    let mut received = ReceivedHeaders::new();
    for (header, name) in [
        (ContractHeader::DeliveryId, "delivery_id"),
        (ContractHeader::Timestamp, "timestamp"),
        (ContractHeader::Signature, "signature"),
    ] {
        received.set(header, headers[name].as_str().map(str::as_bytes));
    }
    received
}

fn describe(outcome: Outcome) -> Value {
    let mut value = serde_json::json!({
        "code": outcome.code(),
        "status": outcome.status(),
        "message": outcome.message().as_str(),
    });
    if outcome.is_ok() {
        value["used_previous_secret"] = outcome.used_previous_secret().into();
    }
    value
}

/// A store that has seen the case's prior deliveries; `Err` when one answered otherwise.
fn primed_store(
    case: &Value,
    defaults: &Value,
    verifier: &Verifier,
) -> Result<MemoryReplayStore, String> {
    let mut store = store(case, defaults);
    for prior in case
        .get("prior")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let outcome = verifier.verify(
            &from_fields(&prior["headers"]),
            &body_bytes(&prior["body"]),
            prior["now"].as_u64().expect("now"),
            &mut store,
        );
        if outcome.code() != prior["expect_code"] {
            return Err(format!("prior answered {}", outcome.code()));
        }
    }
    Ok(store)
}

fn run(case: &Value, defaults: &Value, headers: &ReceivedHeaders) -> Result<(), String> {
    let (verifier, _) = settings(&case["config"], SecretRule::Optional)
        .map_err(|error| format!("settings rejected: {error}"))?;
    let body = body_bytes(&case["body"]);
    let now = case["now"].as_u64().expect("now");
    let mut store = primed_store(case, defaults, &verifier)?;
    let got = describe(verifier.verify(headers, &body, now, &mut store));
    // The two-step form (check, then the store's verdict) answers the same.
    let mut store = primed_store(case, defaults, &verifier)?;
    let two_step = match verifier.check(headers, &body, now) {
        Ok(accepted) => accepted.record(&mut store),
        Err(outcome) => outcome,
    };
    if describe(two_step) != got {
        return Err(format!("check + record answered {}", two_step.code()));
    }
    if got == case["expect"] {
        Ok(())
    } else {
        Err(format!("got {got}, want {}", case["expect"]))
    }
}

fn report(section: &str, failures: Vec<String>, total: usize) {
    assert!(total > 0, "no {section} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} {section} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_signature_case_with_headers_as_fields() {
    let cases = cases();
    let list = cases["signature_cases"]
        .as_array()
        .expect("signature_cases");
    let failures = list
        .iter()
        .filter_map(|case| {
            run(case, &cases["defaults"], &from_fields(&case["headers"]))
                .err()
                .map(|why| format!("{:?}: {why}", case["name"]))
        })
        .collect();
    report("signature", failures, list.len());
}

#[test]
fn every_header_case_through_the_one_lookup() {
    let cases = cases();
    let list = cases["header_cases"].as_array().expect("header_cases");
    let failures = list
        .iter()
        .filter_map(|case| {
            let pairs = case["header_pairs"]
                .as_array()
                .expect("pairs")
                .iter()
                .map(|pair| {
                    (
                        pair[0].as_str().expect("name").to_owned(),
                        pair[1].as_str().expect("value").to_owned(),
                    )
                });
            let headers = ReceivedHeaders::from_pairs(pairs);
            run(case, &cases["defaults"], &headers)
                .err()
                .map(|why| format!("{:?}: {why}", case["name"]))
        })
        .collect();
    report("header", failures, list.len());
}

#[test]
fn every_settings_case_fails_with_its_field_and_problem() {
    let cases = cases();
    let list = cases["settings_cases"].as_array().expect("settings_cases");
    let failures = list
        .iter()
        .filter_map(|case| {
            let want = (
                Field::from_canonical(case["expect"]["field"].as_str().expect("field")),
                Problem::from_code(case["expect"]["problem"].as_str().expect("problem")),
            );
            match settings(&case["config"], SecretRule::Required) {
                Err(error) if (Some(error.field), Some(error.problem)) == want => None,
                Err(error) => Some(format!("{:?}: got {error:?}, want {want:?}", case["name"])),
                Ok(_) => Some(format!("{:?}: accepted", case["name"])),
            }
        })
        .collect();
    report("settings", failures, list.len());
}

/// A reservation step: the answer, and the reservation when one was made.
fn reserve_step(
    verifier: &Verifier,
    store: &mut MemoryReplayStore,
    delivery: &Value,
    lease: u64,
) -> (Value, Option<Reservation>) {
    let headers = from_fields(&delivery["headers"]);
    let body = body_bytes(&delivery["body"]);
    let now = delivery["now"].as_u64().expect("now");
    let accepted = match verifier.check(&headers, &body, now) {
        Ok(accepted) => accepted,
        Err(outcome) => return (describe(outcome), None),
    };
    match accepted.reserve(store, lease) {
        Ok(reservation) => (
            describe(accepted.conclude(ReplayVerdict::Fresh)),
            Some(reservation),
        ),
        Err(outcome) => (describe(outcome), None),
    }
}

#[test]
fn every_reservation_case_in_the_memory_store() {
    let cases = cases();
    let list = cases["reservation_cases"]
        .as_array()
        .expect("reservation_cases");
    let mut failures = Vec::new();
    for case in list {
        let (verifier, _) = settings(&case["config"], SecretRule::Required).expect("settings");
        let mut store = store(case, &cases["defaults"]);
        let lease = case["lease_seconds"].as_u64().expect("lease_seconds");
        let mut held: Vec<Option<Reservation>> = Vec::new();
        for (index, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
            let delivery = &step["delivery"];
            let (got, reservation) = match step["op"].as_str().expect("op") {
                "reserve" => reserve_step(&verifier, &mut store, delivery, lease),
                "verify" => {
                    let outcome = verifier.verify(
                        &from_fields(&delivery["headers"]),
                        &body_bytes(&delivery["body"]),
                        delivery["now"].as_u64().expect("now"),
                        &mut store,
                    );
                    (describe(outcome), None)
                }
                op => {
                    let of = step["of"].as_u64().expect("of") as usize;
                    let now = step["now"].as_u64().expect("now");
                    let reservation = held[of].expect("step `of` made a reservation");
                    let done = if op == "commit" {
                        store.commit(&reservation, now)
                    } else {
                        store.release(&reservation, now)
                    };
                    (Value::Bool(done), None)
                }
            };
            held.push(reservation);
            if got != step["expect"] {
                failures.push(format!(
                    "{:?} step {index}: got {got}, want {}",
                    case["name"], step["expect"]
                ));
            }
        }
    }
    report("reservation", failures, list.len());
}
