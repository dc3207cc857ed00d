//! The shared conformance file through the server's real receiver, over real HTTP: every
//! signature case and every header case, each on a server configured from the case through
//! the server's own options, with the receiver's clock set to the case's `now`.
//!
//! A case whose header values cannot cross HTTP unchanged (surrounding whitespace, which
//! HTTP parsers strip, or control characters) is left to the runtimes' suites; the count of
//! cases run is asserted.
#![allow(clippy::unwrap_used)]

mod common;

use fluxora_conformance::body_bytes;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use common::*;

/// The server options a case's configuration stands for.
fn options(case: &Value, defaults: &Value) -> Vec<String> {
    let config = &case["config"];
    let mut args = vec![
        "--webhook-secret".to_owned(),
        config["secret"].as_str().unwrap_or("").to_owned(),
    ];
    let mut flag = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            args.push(name.to_owned());
            args.push(value);
        }
    };
    let number = |key: &str| {
        config
            .get(key)
            .and_then(Value::as_u64)
            .map(|v| v.to_string())
    };
    flag(
        "--webhook-secret-previous",
        config["previous_secret"].as_str().map(str::to_owned),
    );
    flag(
        "--webhook-secret-rotated-at",
        number("previous_secret_rotated_at"),
    );
    flag(
        "--webhook-grace-window-seconds",
        number("grace_window_seconds"),
    );
    flag("--webhook-tolerance-seconds", number("tolerance_seconds"));
    flag("--webhook-max-body-bytes", number("max_body_bytes"));
    let replay = |key: &str| {
        case.get("replay")
            .and_then(|r| r.get(key))
            .or_else(|| defaults["replay"].get(key))
            .and_then(Value::as_u64)
            .map(|v| v.to_string())
    };
    flag("--replay-max-entries", replay("capacity"));
    flag(
        "--replay-retention-seconds",
        replay("delivery_retention_seconds"),
    );
    args
}

/// The header values of a delivery given as fields, in wire order.
fn field_pairs(headers: &Value) -> Vec<(String, String)> {
    [
        ("x-fluxora-delivery-id", "delivery_id"),
        ("x-fluxora-timestamp", "timestamp"),
        ("x-fluxora-signature", "signature"),
    ]
    .iter()
    .filter_map(|(name, key)| {
        headers[*key]
            .as_str()
            .map(|value| ((*name).to_owned(), value.to_owned()))
    })
    .collect()
}

fn header_pairs(case: &Value) -> Vec<(String, String)> {
    case["header_pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// HTTP carries a header value unchanged only without surrounding whitespace and controls.
fn sendable(pairs: &[(String, String)]) -> bool {
    pairs.iter().all(|(_, value)| {
        value.trim_matches([' ', '\t']) == value && value.bytes().all(|b| b >= 0x20 && b != 0x7f)
    })
}

/// POSTs one delivery; answers (status, code, message, usedPreviousSecret).
async fn post(
    server: &TestServer,
    pairs: &[(String, String)],
    body: Vec<u8>,
) -> (u16, String, Option<String>, bool) {
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let response = server
        .client
        .post(server.url("/internal/webhooks/receive"))
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if answer["ok"] == true {
        let previous = answer["usedPreviousSecret"] == true;
        return (status, "ok".to_owned(), None, previous);
    }
    (
        status,
        answer["error"].as_str().unwrap_or("").to_owned(),
        answer["message"].as_str().map(str::to_owned),
        false,
    )
}

/// Runs one case on a fresh server; `Err` says what differed.
async fn run(
    backend: Backend,
    case: &Value,
    defaults: &Value,
    pairs: Vec<(String, String)>,
) -> Result<(), String> {
    let options = options(case, defaults);
    let extra: Vec<&str> = options.iter().map(String::as_str).collect();
    let Some(server) = TestServer::start(backend, &extra).await else {
        return Err("backend unavailable".to_owned());
    };
    let clock = server.state().config.webhook.clock.clone();
    let mut result = Ok(());
    for prior in case
        .get("prior")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        clock.set(prior["now"].as_u64().unwrap());
        let (_, code, _, _) = post(
            &server,
            &field_pairs(&prior["headers"]),
            body_bytes(&prior["body"]),
        )
        .await;
        if code != prior["expect_code"] {
            result = Err(format!("prior answered {code}"));
        }
    }
    if result.is_ok() {
        clock.set(case["now"].as_u64().unwrap());
        let (status, code, message, previous) =
            post(&server, &pairs, body_bytes(&case["body"])).await;
        let expect = &case["expect"];
        let message_ok = code == "ok" || message.as_deref() == expect["message"].as_str();
        let previous_ok =
            code != "ok" || Some(previous) == expect["used_previous_secret"].as_bool();
        if !(u64::from(status) == expect["status"]
            && code == expect["code"]
            && message_ok
            && previous_ok)
        {
            result = Err(format!(
                "got {status} {code} {message:?} previous={previous}, want {expect}"
            ));
        }
    }
    server.stop().await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sendable_case_through_the_http_receiver_on_sqlite() {
    every_sendable_case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sendable_case_through_the_http_receiver_on_postgres() {
    if Store::fresh(Backend::Postgres).await.is_none() {
        return; // reported as NOT RUN by the common helpers
    }
    every_sendable_case(Backend::Postgres).await;
}

async fn every_sendable_case(backend: Backend) {
    let cases = fluxora_conformance::cases();
    let defaults = &cases["defaults"];
    let mut failures = Vec::new();
    let (mut ran, mut skipped) = (0, 0);
    let signature_cases = cases["signature_cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let pairs = field_pairs(&case["headers"]);
            let priors_sendable = case
                .get("prior")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .all(|prior| sendable(&field_pairs(&prior["headers"])));
            (case, pairs, priors_sendable)
        });
    let header_cases = cases["header_cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| (case, header_pairs(case), true));
    for (case, pairs, priors_sendable) in signature_cases.chain(header_cases) {
        if !(priors_sendable && sendable(&pairs)) {
            skipped += 1;
            continue;
        }
        ran += 1;
        if let Err(why) = run(backend, case, defaults, pairs).await {
            failures.push(format!("{}: {why}", case["name"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "conformance through the HTTP receiver ({backend:?}): {ran} cases run, {skipped} not sendable over HTTP"
    );
    assert!(ran >= 100, "ran {ran}");
}
