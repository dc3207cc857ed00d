//! The batch statements in SQL both engines run, inside the batch's transaction (SQLite's
//! path), and the pieces the PostgreSQL path shares.

use std::collections::{HashMap, HashSet};

use fluxora_webhooks::ReplayVerdict;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use super::{Answer, Kind, Op};
use crate::store::replay::{DELIVERY_ID_TAKEOVER, as_i64, pair_takeover};

/// `rows` tuples of `columns` cells, `cell(column, n)` writing the one of placeholder `$n`,
/// numbered from `$first` row by row.
pub(super) fn tuples_of(
    rows: usize,
    columns: usize,
    first: usize,
    cell: impl Fn(usize, usize) -> String,
) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (0..columns)
                .map(|column| cell(column, first + row * columns + column))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2, ...), (...)`: `rows` tuples of `columns` placeholders from `$first`.
pub(super) fn tuples(rows: usize, columns: usize, first: usize) -> String {
    tuples_of(rows, columns, first, |_, n| format!("${n}"))
}

/// `$first, ..., $(first + count - 1)`.
pub(super) fn list(count: usize, first: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) type Statement<'q> = Query<'q, Any, AnyArguments<'q>>;

/// The first column of every row, as text.
pub(super) async fn first_column(
    conn: &mut AnyConnection,
    query: Statement<'_>,
) -> Result<Vec<String>, sqlx::Error> {
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>(0))
        .collect()
}

/// Members in the order their rows are written: by delivery id, then (for the pairs) by
/// pair, the same order in every batch, so two batches never wait on each other in a cycle.
pub(super) fn by_delivery_id<'a>(members: &[&'a Op]) -> Vec<&'a Op> {
    let mut sorted = members.to_vec();
    sorted.sort_by(|a, b| {
        let (a, b) = (&a.reservation.entry, &b.reservation.entry);
        a.delivery_id.cmp(&b.delivery_id)
    });
    sorted
}

pub(super) fn by_pair<'a>(members: &[&'a Op]) -> Vec<&'a Op> {
    let mut sorted = members.to_vec();
    sorted.sort_by(|a, b| {
        let (a, b) = (&a.reservation.entry, &b.reservation.entry);
        (a.timestamp, &a.signature).cmp(&(b.timestamp, &b.signature))
    });
    sorted
}

pub(super) fn hold_until(op: &Op, now: u64) -> i64 {
    match op.kind {
        Kind::Reserve { lease_seconds } => as_i64(now.saturating_add(lease_seconds)),
        Kind::Record { retention_seconds } => as_i64(now.saturating_add(retention_seconds)),
        Kind::Commit { .. } | Kind::Release => as_i64(now),
    }
}

/// Why each of `refused` (delivery ids whose row was live) was refused: committed is a
/// duplicate, reserved is in progress.
pub(super) async fn refusals(
    conn: &mut AnyConnection,
    refused: &[&str],
) -> Result<HashMap<String, ReplayVerdict>, sqlx::Error> {
    let mut verdicts = HashMap::new();
    if refused.is_empty() {
        return Ok(verdicts);
    }
    let sql = format!(
        "SELECT delivery_id, reservation_token FROM webhook_seen_deliveries \
         WHERE delivery_id IN ({})",
        list(refused.len(), 1)
    );
    let mut holders = sqlx::query(&sql);
    for id in refused {
        holders = holders.bind(*id);
    }
    let held: HashMap<String, Option<String>> = holders
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    for id in refused {
        // A row gone since the insert was released by another instance just now: the
        // sender's retry will find the id free.
        let verdict = match held.get(*id) {
            Some(None) => ReplayVerdict::DuplicateDelivery,
            Some(Some(_)) | None => ReplayVerdict::InProgress,
        };
        verdicts.insert((*id).to_owned(), verdict);
    }
    Ok(verdicts)
}

/// Deletes the delivery ids written for `replayed` (their pair was taken): nothing stays
/// written for a refused delivery. Those rows are this batch's own and live, and a live row
/// is changed only by its holder (commit, release with the token): none can have changed
/// since, so the ids alone name them.
pub(super) async fn undo(conn: &mut AnyConnection, replayed: &[&Op]) -> Result<(), sqlx::Error> {
    if replayed.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "DELETE FROM webhook_seen_deliveries WHERE delivery_id IN ({})",
        list(replayed.len(), 1)
    );
    let mut delete = sqlx::query(&sql);
    for op in replayed {
        delete = delete.bind(op.reservation.entry.delivery_id.as_str());
    }
    delete.execute(conn).await?;
    Ok(())
}

/// The answers of a reserve group: refused ids, replayed pairs, the rest fresh.
pub(super) fn reserve_answers(
    members: &[&Op],
    mut verdicts: HashMap<String, ReplayVerdict>,
    replayed: &[&Op],
) -> Vec<Answer> {
    for op in replayed {
        let id = op.reservation.entry.delivery_id.clone();
        verdicts.insert(id, ReplayVerdict::ReplayedSignature);
    }
    members
        .iter()
        .map(|op| {
            let id = &op.reservation.entry.delivery_id;
            Answer::Verdict(verdicts.get(id).copied().unwrap_or(ReplayVerdict::Fresh))
        })
        .collect()
}

/// Records or reserves every member (all verified at `now`): the delivery ids, then the
/// pairs of those written; a pair already taken undoes its delivery id.
pub(super) async fn reserve_group(
    conn: &mut AnyConnection,
    members: &[&Op],
    now: u64,
) -> Result<Vec<Answer>, sqlx::Error> {
    let ordered = by_delivery_id(members);
    let sql = format!(
        "INSERT INTO webhook_seen_deliveries \
           (delivery_id, accepted_at_seconds, expires_at_seconds, reservation_token) \
         VALUES {} \
         {takeover_id} \
         RETURNING delivery_id",
        tuples(ordered.len(), 4, 1),
        takeover_id = DELIVERY_ID_TAKEOVER,
    );
    let mut insert = sqlx::query(&sql);
    for op in &ordered {
        insert = insert
            .bind(op.reservation.entry.delivery_id.as_str())
            .bind(as_i64(now))
            .bind(hold_until(op, now))
            .bind(op.token());
    }
    let recorded: HashSet<String> = first_column(conn, insert).await?.into_iter().collect();
    let is_recorded = |op: &&Op| recorded.contains(&op.reservation.entry.delivery_id);
    let refused: Vec<&str> = ordered
        .iter()
        .filter(|op| !is_recorded(op))
        .map(|op| op.reservation.entry.delivery_id.as_str())
        .collect();
    let verdicts = refusals(conn, &refused).await?;

    let pairs = by_pair(
        &ordered
            .iter()
            .copied()
            .filter(is_recorded)
            .collect::<Vec<_>>(),
    );
    let mut replayed = Vec::new();
    if !pairs.is_empty() {
        let sql = format!(
            "INSERT INTO webhook_seen_signatures \
               (signed_at_seconds, signature, delivery_id, expires_at_seconds, committed) \
             VALUES {} \
             {takeover_pair} \
             RETURNING delivery_id",
            tuples(pairs.len(), 5, 2),
            takeover_pair = pair_takeover("$1"),
        );
        let mut insert = sqlx::query(&sql).bind(as_i64(now));
        for op in &pairs {
            let entry = &op.reservation.entry;
            insert = insert
                .bind(as_i64(entry.timestamp))
                .bind(entry.signature.as_str())
                .bind(entry.delivery_id.as_str())
                .bind(as_i64(entry.signature_expires_at))
                .bind(op.committed());
        }
        let paired: HashSet<String> = first_column(conn, insert).await?.into_iter().collect();
        replayed = pairs
            .into_iter()
            .filter(|op| !paired.contains(&op.reservation.entry.delivery_id))
            .collect();
        undo(conn, &replayed).await?;
    }
    Ok(reserve_answers(members, verdicts, &replayed))
}

/// `delivery_id IN (...) AND reservation_token IN (...)` over `members`, from `$first`
/// (each token belongs to one delivery id, so the pairs cannot cross).
pub(super) fn held_by(members: &[&Op], first: usize) -> String {
    format!(
        "delivery_id IN ({}) AND reservation_token IN ({})",
        list(members.len(), first),
        list(members.len(), first + members.len())
    )
}

pub(super) fn bind_held_by<'q>(mut query: Statement<'q>, members: &'q [&Op]) -> Statement<'q> {
    for op in members {
        query = query.bind(op.reservation.entry.delivery_id.as_str());
    }
    for op in members {
        query = query.bind(op.reservation.token.as_str());
    }
    query
}

/// The answers of a settle group: each member settled or not.
pub(super) fn settled_answers(members: &[&Op], settled: &HashSet<String>) -> Vec<Answer> {
    members
        .iter()
        .map(|op| Answer::Settled(settled.contains(&op.reservation.entry.delivery_id)))
        .collect()
}

/// Commits every member's reservation at `now` (those still live), then marks their pairs.
pub(super) async fn commit_group(
    conn: &mut AnyConnection,
    members: &[&Op],
    now: u64,
    retention_seconds: u64,
) -> Result<Vec<Answer>, sqlx::Error> {
    let sql = format!(
        "UPDATE webhook_seen_deliveries \
         SET reservation_token = NULL, accepted_at_seconds = $1, expires_at_seconds = $2 \
         WHERE expires_at_seconds >= $1 AND {} \
         RETURNING delivery_id",
        held_by(members, 3)
    );
    let update = sqlx::query(&sql)
        .bind(as_i64(now))
        .bind(as_i64(now.saturating_add(retention_seconds)));
    let committed: HashSet<String> = first_column(conn, bind_held_by(update, members))
        .await?
        .into_iter()
        .collect();
    let done: Vec<&Op> = members
        .iter()
        .copied()
        .filter(|op| committed.contains(&op.reservation.entry.delivery_id))
        .collect();
    if !done.is_empty() {
        let pairs: Vec<String> = (0..done.len())
            .map(|i| {
                let n = 1 + 3 * i;
                format!(
                    "(signed_at_seconds = ${n} AND signature = ${} AND delivery_id = ${})",
                    n + 1,
                    n + 2
                )
            })
            .collect();
        let sql = format!(
            "UPDATE webhook_seen_signatures SET committed = 1 WHERE {}",
            pairs.join(" OR ")
        );
        let mut mark = sqlx::query(&sql);
        for op in &done {
            let entry = &op.reservation.entry;
            mark = mark
                .bind(as_i64(entry.timestamp))
                .bind(entry.signature.as_str())
                .bind(entry.delivery_id.as_str());
        }
        mark.execute(conn).await?;
    }
    Ok(settled_answers(members, &committed))
}

/// Releases every member's reservation at `now` (those still live). One statement, so it
/// is atomic without a transaction too.
pub(super) async fn release_group(
    conn: &mut AnyConnection,
    members: &[&Op],
    now: u64,
) -> Result<Vec<Answer>, sqlx::Error> {
    let sql = format!(
        "DELETE FROM webhook_seen_deliveries WHERE expires_at_seconds >= $1 AND {} \
         RETURNING delivery_id",
        held_by(members, 2)
    );
    let delete = bind_held_by(sqlx::query(&sql).bind(as_i64(now)), members);
    let released: HashSet<String> = first_column(conn, delete).await?.into_iter().collect();
    Ok(settled_answers(members, &released))
}
