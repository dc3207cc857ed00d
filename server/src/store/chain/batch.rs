//! The steps of a chain batch that touch every event, each done for the whole batch in one
//! or a few statements: which ledgers and event ids are known, the events and ledgers
//! written, and the streams' changes worked out in memory and written at once.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{ChainEvent, ChainKind, StreamParser};
use crate::db::Backend;
use crate::store::outbox::{self, EventRecord, StreamEvent};
use crate::store::streams::{self, COLUMNS, Stream, from_row};
use crate::util::rfc3339_from_millis;

/// Values per `IN` list or multi-row `INSERT`: well under both engines' placeholder limits.
const CHUNK: usize = 500;

/// `$from, $from+1, ...`: `n` placeholders.
fn list(n: usize, from: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `sql` (with `{}` where the `IN` list goes) for `keys`, a chunk at a time.
async fn select_in<K>(
    tx: &mut Transaction<'static, Any>,
    sql: &str,
    keys: &[K],
) -> Result<Vec<AnyRow>, sqlx::Error>
where
    K: for<'q> sqlx::Encode<'q, Any> + sqlx::Type<Any> + Clone + Send + 'static,
{
    let mut rows = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        let sql = sql.replace("{}", &list(chunk.len(), 1));
        let mut query = sqlx::query(&sql);
        for key in chunk {
            query = query.bind(key.clone());
        }
        rows.extend(query.fetch_all(&mut **tx).await?);
    }
    Ok(rows)
}

fn distinct<T: Eq + core::hash::Hash + Clone>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items.filter(|item| seen.insert(item.clone())).collect()
}

/// The stored hash of each ledger the batch names.
pub(super) async fn known_ledgers(
    tx: &mut Transaction<'static, Any>,
    events: &[ChainEvent],
) -> Result<HashMap<i64, String>, sqlx::Error> {
    let ledgers = distinct(events.iter().map(|e| e.ledger));
    select_in(
        tx,
        "SELECT ledger, ledger_hash FROM chain_ledgers WHERE ledger IN ({})",
        &ledgers,
    )
    .await?
    .iter()
    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
    .collect()
}

/// The batch's event ids already stored.
pub(super) async fn stored_event_ids(
    tx: &mut Transaction<'static, Any>,
    events: &[ChainEvent],
) -> Result<HashSet<String>, sqlx::Error> {
    let ids = distinct(events.iter().map(|e| e.event_id.clone()));
    select_in(
        tx,
        "SELECT event_id FROM chain_events WHERE event_id IN ({})",
        &ids,
    )
    .await?
    .iter()
    .map(|row| row.try_get(0))
    .collect()
}

/// Stores the new events (numbered on from the highest `seq`) and the ledgers not known yet.
pub(super) async fn store_events(
    tx: &mut Transaction<'static, Any>,
    fresh: &[&ChainEvent],
    known: &HashMap<i64, String>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    if fresh.is_empty() {
        return Ok(());
    }
    let mut added = HashSet::new();
    let ledgers: Vec<(i64, &str)> = fresh
        .iter()
        .filter(|e| !known.contains_key(&e.ledger) && added.insert(e.ledger))
        .map(|e| (e.ledger, e.ledger_hash.as_str()))
        .collect();
    for chunk in ledgers.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", list(3, i * 3 + 1)))
            .collect();
        let sql = format!(
            "INSERT INTO chain_ledgers (ledger, ledger_hash, seen_at) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (ledger, hash) in chunk {
            query = query.bind(*ledger).bind(*hash).bind(now_ms);
        }
        query.execute(&mut **tx).await?;
    }
    let mut seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM chain_events")
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    for chunk in fresh.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", list(8, i * 8 + 1)))
            .collect();
        let sql = format!(
            "INSERT INTO chain_events (event_id, ledger, ledger_hash, seq, stream_id, event_type, payload, ingested_at) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for event in chunk {
            seq += 1;
            query = query
                .bind(event.event_id.as_str())
                .bind(event.ledger)
                .bind(event.ledger_hash.as_str())
                .bind(seq)
                .bind(event.stream_id.as_str())
                .bind(event.kind.as_str())
                .bind(event.payload.as_str())
                .bind(now_ms);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// A stream as the batch leaves it.
struct Current {
    stream: Stream,
    version: i64,
    updated_ms: i64,
    /// Created by this batch (inserted), else changed by it (updated) when `changed`.
    new: bool,
    changed: bool,
}

/// One stream event the batch announces.
struct Effect {
    event_type: &'static str,
    stream: Stream,
    version: i64,
    at_ms: i64,
}

/// Applies the new events (in ledger order) to their streams, writes the streams and
/// announces each change: the stream events to publish, in order.
pub(super) async fn apply(
    tx: &mut Transaction<'static, Any>,
    fresh: &[&ChainEvent],
    parse: StreamParser,
    now_ms: i64,
) -> Result<Vec<(String, EventRecord)>, sqlx::Error> {
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    let ids = distinct(fresh.iter().map(|e| e.stream_id.clone()));
    // Locked on PostgreSQL: an API change of one of these streams waits for the batch.
    let lock = match Backend::of(tx) {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let mut current: HashMap<String, Current> = HashMap::new();
    for row in select_in(
        tx,
        &format!("SELECT {COLUMNS}, version FROM streams WHERE id IN ({{}}){lock}"),
        &ids,
    )
    .await?
    {
        let stream = from_row(&row)?;
        current.insert(
            stream.id.clone(),
            Current {
                version: row.try_get("version")?,
                updated_ms: 0,
                new: false,
                changed: false,
                stream,
            },
        );
    }
    // Only streams the chain created follow the chain (so a reorg can re-derive them).
    let mut chain_created: HashSet<String> = select_in(
        tx,
        "SELECT DISTINCT stream_id FROM chain_events WHERE event_type = 'stream.created' AND stream_id IN ({})",
        &ids,
    )
    .await?
    .iter()
    .map(|row| row.try_get(0))
    .collect::<Result<_, _>>()?;
    let announced: HashMap<String, i64> = select_in(
        tx,
        "SELECT stream_id, MAX(stream_version) FROM webhook_outbox WHERE stream_id IN ({}) GROUP BY stream_id",
        &ids,
    )
    .await?
    .iter()
    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
    .collect::<Result<_, sqlx::Error>>()?;
    let mut effects: Vec<Effect> = Vec::new();
    for event in fresh {
        let id = &event.stream_id;
        match event.kind.target() {
            None => {
                chain_created.insert(id.clone());
                if current.contains_key(id) {
                    continue;
                }
                let value: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
                if let Some(stream) = parse(id, &value, now_ms) {
                    let version = announced.get(id).copied().unwrap_or(0) + 1;
                    effects.push(Effect {
                        event_type: ChainKind::Created.as_str(),
                        stream: stream.clone(),
                        version,
                        at_ms: stream.created_ms,
                    });
                    current.insert(
                        id.clone(),
                        Current {
                            version,
                            updated_ms: stream.created_ms,
                            new: true,
                            changed: false,
                            stream,
                        },
                    );
                }
            }
            Some(to) => {
                if !chain_created.contains(id) {
                    continue;
                }
                if let Some(now) = current.get_mut(id)
                    && now.stream.status.allowed_next().contains(&to)
                {
                    now.stream.status = to;
                    now.stream.updated_at = rfc3339_from_millis(now_ms);
                    now.updated_ms = now_ms;
                    now.version += 1;
                    now.changed = true;
                    effects.push(Effect {
                        event_type: streams::event_type(to),
                        stream: now.stream.clone(),
                        version: now.version,
                        at_ms: now_ms,
                    });
                }
            }
        }
    }
    write_streams(tx, &current).await?;
    let events: Vec<StreamEvent<'_>> = effects
        .iter()
        .map(|effect| StreamEvent {
            event_type: effect.event_type,
            stream: &effect.stream,
            version: effect.version,
            at_ms: effect.at_ms,
        })
        .collect();
    let records = outbox::enqueue_many(tx, &events).await?;
    Ok(effects
        .iter()
        .map(|effect| effect.stream.id.clone())
        .zip(records)
        .collect())
}

/// Inserts the streams the batch created and updates those it changed.
async fn write_streams(
    tx: &mut Transaction<'static, Any>,
    current: &HashMap<String, Current>,
) -> Result<(), sqlx::Error> {
    let created: Vec<&Current> = current.values().filter(|c| c.new).collect();
    for chunk in created.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", list(11, i * 11 + 1)))
            .collect();
        let sql = format!(
            "INSERT INTO streams ({COLUMNS}, version) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for c in chunk {
            let s = &c.stream;
            query = query
                .bind(s.id.as_str())
                .bind(s.sender.as_str())
                .bind(s.recipient.as_str())
                .bind(s.deposit_amount.as_str())
                .bind(s.rate_per_second.as_str())
                .bind(s.start_time)
                .bind(s.end_time)
                .bind(s.status.as_str())
                .bind(s.created_ms)
                .bind(c.updated_ms)
                .bind(c.version);
        }
        query.execute(&mut **tx).await?;
    }
    let changed: Vec<&Current> = current.values().filter(|c| c.changed && !c.new).collect();
    for chunk in changed.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = i * 4;
                format!(
                    "(CAST(${} AS TEXT), CAST(${} AS TEXT), CAST(${} AS BIGINT), CAST(${} AS BIGINT))",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4
                )
            })
            .collect();
        let sql = format!(
            "UPDATE streams SET status = v.column2, updated_at = v.column3, version = v.column4 \
             FROM (VALUES {}) AS v WHERE streams.id = v.column1",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for c in chunk {
            query = query
                .bind(c.stream.id.as_str())
                .bind(c.stream.status.as_str())
                .bind(c.updated_ms)
                .bind(c.version);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
