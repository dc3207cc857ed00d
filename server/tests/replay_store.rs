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
    assert_eq!(replay::batch_fallbacks(), 0, "every batch statement ran");
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

/// Two instances (two pools on one store) racing: every delivery id sent three times at
/// once, and every signature pair also under a second delivery id. Whatever the batches,
/// each id and each pair is reserved exactly once, the rest answer in-progress or replayed,
/// and after the commits every id is a duplicate.
async fn concurrent_reserves_admit_each_key_once(backend: Backend) {
    let Some(store) = Store::fresh(backend).await else {
        return;
    };
    let open = || async {
        fluxora_server::db::Db::open(&config(&store, &[]).database, 8)
            .await
            .unwrap()
    };
    let instances = [open().await, open().await];
    const NOW: u64 = 1_800_000_000;
    const DELIVERIES: usize = 120;
    let entry = |id: usize, pair: usize| entry_for(&format!("dlv_{id:04}"), pair, NOW);
    // Ids 0..120, three copies each; ids 1000.. reuse the pairs of 0..60.
    let mut attempts: Vec<CapturedEntry> = (0..DELIVERIES)
        .flat_map(|id| [entry(id, id), entry(id, id), entry(id, id)])
        .chain((0..DELIVERIES / 2).map(|pair| entry(1000 + pair, pair)))
        .collect();
    attempts.reverse();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, attempt) in attempts.into_iter().enumerate() {
        let db = instances[n % 2].clone();
        tasks.spawn(async move {
            let verdict = replay::reserve(&db, &attempt, 60, None).await.unwrap();
            (db, attempt, verdict)
        });
    }
    let mut fresh_ids = std::collections::HashMap::<String, usize>::new();
    let mut fresh_pairs = std::collections::HashMap::<String, usize>::new();
    let mut held = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (db, attempt, verdict) = done.unwrap();
        match verdict {
            Ok(reservation) => {
                *fresh_ids.entry(attempt.delivery_id.clone()).or_default() += 1;
                *fresh_pairs.entry(attempt.signature.clone()).or_default() += 1;
                held.push((db, reservation));
            }
            Err(verdict) => assert!(
                matches!(
                    verdict,
                    ReplayVerdict::InProgress | ReplayVerdict::ReplayedSignature
                ),
                "{verdict:?}"
            ),
        }
    }
    assert!(fresh_ids.values().all(|&n| n == 1), "{fresh_ids:?}");
    assert_eq!(replay::batch_fallbacks(), 0, "every batch statement ran");
    assert!(fresh_pairs.values().all(|&n| n == 1), "{fresh_pairs:?}");
    // Every pair is taken by one id or the other: no pair is lost to a refused attempt.
    assert_eq!(fresh_pairs.len(), DELIVERIES);
    let mut commits = tokio::task::JoinSet::new();
    for (db, reservation) in held {
        commits.spawn(async move { replay::commit(&db, &reservation, NOW + 1, RETENTION).await });
    }
    while let Some(done) = commits.join_next().await {
        assert!(done.unwrap().unwrap(), "a live reservation commits");
    }
    assert_eq!(replay::batch_fallbacks(), 0, "every batch statement ran");
    for id in fresh_ids.keys() {
        let pair: usize = id[4..].parse::<usize>().unwrap() % 1000;
        let again = replay::reserve(&instances[1], &entry_for(id, pair, NOW + 2), 60, None)
            .await
            .unwrap();
        assert_eq!(again, Err(ReplayVerdict::DuplicateDelivery), "{id}");
    }
    for db in instances {
        db.pool.close().await;
    }
    store.remove().await;
}

/// Delivery `id` signed at 1,800,000,000 with signature number `pair`, verified at `now`.
fn entry_for(id: &str, pair: usize, now: u64) -> CapturedEntry {
    CapturedEntry {
        delivery_id: id.to_owned(),
        timestamp: 1_800_000_000,
        signature: format!("{pair:064x}"),
        now,
        signature_expires_at: 1_800_000_300,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reserves_admit_each_key_once_on_sqlite() {
    concurrent_reserves_admit_each_key_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reserves_admit_each_key_once_on_postgres() {
    concurrent_reserves_admit_each_key_once(Backend::Postgres).await;
}

/// The retention purge removes every expired replay row, over several chunks, and nothing
/// that is still live.
async fn purge_removes_expired_entries_in_chunks(backend: Backend) {
    let Some(store) = Store::fresh(backend).await else {
        return;
    };
    let db = fluxora_server::db::Db::open(&config(&store, &[]).database, 2)
        .await
        .unwrap();
    const EXPIRED: i64 = 12_000;
    // Rows 1..=EXPIRED expired at 100; ten more live until 10,000.
    let fill = |table: &str, columns: &str, values: &str| {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
             INSERT INTO {table} ({columns}) SELECT {values} FROM n",
            EXPIRED + 10
        )
    };
    let expiry = format!("CASE WHEN i <= {EXPIRED} THEN 100 ELSE 10000 END");
    for sql in [
        fill(
            "webhook_seen_deliveries",
            "delivery_id, accepted_at_seconds, expires_at_seconds",
            &format!("'dlv_' || CAST(i AS TEXT), 1, {expiry}"),
        ),
        fill(
            "webhook_seen_signatures",
            "signed_at_seconds, signature, delivery_id, expires_at_seconds, committed",
            &format!("i, 'sig', 'dlv_' || CAST(i AS TEXT), {expiry}, 1"),
        ),
    ] {
        sqlx::query(&sql).execute(&db.pool).await.unwrap();
    }
    let removed = fluxora_server::store::purge_expired(&db, 5_000, 5_000, 1_000)
        .await
        .unwrap();
    assert_eq!(removed, 2 * EXPIRED as u64);
    for table in ["webhook_seen_deliveries", "webhook_seen_signatures"] {
        let left: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(left, 10, "{table}");
    }
    db.pool.close().await;
    store.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_removes_expired_entries_in_chunks_on_sqlite() {
    purge_removes_expired_entries_in_chunks(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_removes_expired_entries_in_chunks_on_postgres() {
    purge_removes_expired_entries_in_chunks(Backend::Postgres).await;
}

/// On SQLite the replay writer keeps a connection of its own from batch to batch (its page
/// cache stays warm); the pool keeps all of its connections for everything else, even a
/// pool of one, and the writer's next batches still go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_writer_leaves_the_pool_its_connections() {
    let store = Store::fresh(Backend::Sqlite).await.unwrap();
    let db = fluxora_server::db::Db::open(&config(&store, &[]).database, 1)
        .await
        .unwrap();
    let now = 1_800_000_000;
    let entry = |n: u32| CapturedEntry {
        delivery_id: format!("dlv_pool_{n}"),
        timestamp: now,
        signature: format!("{n:064x}"),
        now,
        signature_expires_at: now + 300,
    };
    for n in 0..3 {
        let verdict = replay::check_and_record(&db, &entry(n), RETENTION, None)
            .await
            .unwrap();
        assert_eq!(verdict, ReplayVerdict::Fresh, "delivery {n}");
        // Within the pool's acquire timeout (800 ms): no connection is missing from it.
        let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_seen_deliveries")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(recorded, i64::from(n) + 1);
    }
    let again = replay::check_and_record(&db, &entry(1), RETENTION, None)
        .await
        .unwrap();
    assert_eq!(again, ReplayVerdict::DuplicateDelivery);
    db.pool.close().await;
    store.remove().await;
}
