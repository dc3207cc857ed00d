//! The database replay store (SQLite and PostgreSQL) against the conformance file's
//! reservation sequences: one-step records, reservations, commits, releases and lapsed leases
//! answer as in every runtime's in-memory store.
#![allow(clippy::unwrap_used)]

mod common;

use fluxora_conformance::body_bytes;
use fluxora_server::store::replay::{self, CapturedEntry, DbReservation};
use fluxora_webhooks::{Outcome, ReplayVerdict};
use fluxora_webhooks_facade::{ContractHeader, ReceivedHeaders, Verifier};
use serde_json::{Value, json};

use common::*;

fn headers(fields: &Value) -> ReceivedHeaders {
    let mut received = ReceivedHeaders::new();
    for (header, key) in [
        (ContractHeader::DeliveryId, "delivery_id"),
        (ContractHeader::Timestamp, "timestamp"),
        (ContractHeader::Signature, "signature"),
    ] {
        received.set(header, fields[key].as_str().map(str::as_bytes));
    }
    received
}

fn describe(outcome: Outcome) -> Value {
    let mut value = json!({ "code": outcome.code(), "status": outcome.status(), "message": outcome.message().as_str() });
    if outcome.is_ok() {
        value["used_previous_secret"] = outcome.used_previous_secret().into();
    }
    value
}

const RETENTION: u64 = 86_400;

async fn run_case(backend: Backend, case: &Value) -> Result<(), String> {
    let Some(store) = Store::fresh(backend).await else {
        return Err("backend unavailable".into());
    };
    let db = fluxora_server::db::Db::open(&config(&store, &[]).database, 2)
        .await
        .unwrap();
    let verifier = Verifier::with_secret(case["config"]["secret"].as_str().unwrap().as_bytes());
    let lease = case["lease_seconds"].as_u64().unwrap();
    let capacity = case
        .get("replay")
        .and_then(|r| r.get("capacity"))
        .and_then(Value::as_u64);
    let mut held: Vec<Option<DbReservation>> = Vec::new();
    let mut result = Ok(());
    for (index, step) in case["steps"].as_array().unwrap().iter().enumerate() {
        let delivery = &step["delivery"];
        let (got, reservation) = match step["op"].as_str().unwrap() {
            op @ ("reserve" | "verify") => {
                let checked = verifier.check(
                    &headers(&delivery["headers"]),
                    &body_bytes(&delivery["body"]),
                    delivery["now"].as_u64().unwrap(),
                );
                match checked {
                    Err(outcome) => (describe(outcome), None),
                    Ok(accepted) => {
                        let entry = CapturedEntry::from(&accepted);
                        if op == "verify" {
                            let verdict =
                                replay::check_and_record(&db, &entry, RETENTION, capacity)
                                    .await
                                    .unwrap();
                            (describe(accepted.conclude(verdict)), None)
                        } else {
                            match replay::reserve(&db, &entry, lease, capacity).await.unwrap() {
                                Ok(reservation) => (
                                    describe(accepted.conclude(ReplayVerdict::Fresh)),
                                    Some(reservation),
                                ),
                                Err(verdict) => (describe(accepted.conclude(verdict)), None),
                            }
                        }
                    }
                }
            }
            op => {
                let reservation = held[step["of"].as_u64().unwrap() as usize].clone().unwrap();
                let now = step["now"].as_u64().unwrap();
                let done = if op == "commit" {
                    replay::commit(&db, &reservation, now, RETENTION)
                        .await
                        .unwrap()
                } else {
                    replay::release(&db, &reservation, now).await.unwrap()
                };
                (Value::Bool(done), None)
            }
        };
        held.push(reservation);
        if got != step["expect"] && result.is_ok() {
            result = Err(format!("step {index}: got {got}, want {}", step["expect"]));
        }
    }
    db.pool.close().await;
    store.remove().await;
    result
}

async fn every_reservation_case(backend: Backend) {
    let cases = fluxora_conformance::cases();
    let list = cases["reservation_cases"].as_array().unwrap();
    let mut failures = Vec::new();
    for case in list {
        if let Err(why) = run_case(backend, case).await {
            failures.push(format!("{}: {why}", case["name"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} reservation cases failed on {backend:?}:\n{}",
        failures.len(),
        list.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reservation_case_on_sqlite() {
    every_reservation_case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reservation_case_on_postgres() {
    if Store::fresh(Backend::Postgres).await.is_none() {
        return; // reported as NOT RUN by the common helpers
    }
    every_reservation_case(Backend::Postgres).await;
}
