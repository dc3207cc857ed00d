//! The batch statements on PostgreSQL: each group is one statement (data-modifying CTEs),
//! atomic on its own, so a batch needs no `BEGIN` / `COMMIT` round trips. Only a replayed
//! pair needs a second statement, to undo its delivery id; were the process to die between
//! the two, that id would stay reserved until its lease ran out (in progress, then free
//! again): never a delivery wrongly accepted.

use std::collections::HashSet;

use sqlx::AnyConnection;
use sqlx::Row;

use super::portable::{
    by_delivery_id, by_pair, hold_until, refusals, reserve_answers, settled_answers, tuples_of,
    undo,
};
use super::{Answer, Op};
use crate::store::replay::{DELIVERY_ID_TAKEOVER, as_i64, pair_takeover};

/// Records or reserves every member (all verified at `now`) in one statement: the delivery
/// ids, then the pairs of those written.
pub(super) async fn reserve_group(
    conn: &mut AnyConnection,
    members: &[&Op],
    now: u64,
) -> Result<Vec<Answer>, sqlx::Error> {
    let ordered = by_delivery_id(members);
    let sql = format!(
        "WITH input \
           (delivery_id, hold_until, token, signed_at, signature, signature_expires, committed) \
           AS (VALUES {}), \
         recorded AS ( \
           INSERT INTO webhook_seen_deliveries \
             (delivery_id, accepted_at_seconds, expires_at_seconds, reservation_token) \
           SELECT delivery_id, $1, hold_until, token FROM input ORDER BY delivery_id \
           {takeover_id} \
           RETURNING delivery_id), \
         paired AS ( \
           INSERT INTO webhook_seen_signatures \
             (signed_at_seconds, signature, delivery_id, expires_at_seconds, committed) \
           SELECT i.signed_at, i.signature, i.delivery_id, i.signature_expires, i.committed \
           FROM input i JOIN recorded r ON r.delivery_id = i.delivery_id \
           ORDER BY i.signed_at, i.signature \
           {takeover_pair} \
           RETURNING delivery_id) \
         SELECT CAST(0 AS BIGINT), delivery_id FROM recorded \
         UNION ALL SELECT CAST(1 AS BIGINT), delivery_id FROM paired",
        typed_tuples(
            ordered.len(),
            &[
                "TEXT", "BIGINT", "TEXT", "BIGINT", "TEXT", "BIGINT", "BIGINT"
            ],
            2
        ),
        takeover_id = DELIVERY_ID_TAKEOVER,
        takeover_pair = pair_takeover("$1"),
    );
    let mut insert = sqlx::query(&sql).bind(as_i64(now));
    for op in &ordered {
        let entry = &op.reservation.entry;
        insert = insert
            .bind(entry.delivery_id.as_str())
            .bind(hold_until(op, now))
            .bind(op.token())
            .bind(as_i64(entry.timestamp))
            .bind(entry.signature.as_str())
            .bind(as_i64(entry.signature_expires_at))
            .bind(op.committed());
    }
    let (mut recorded, mut paired) = (HashSet::new(), HashSet::new());
    for row in insert.fetch_all(&mut *conn).await? {
        let stage: i64 = row.try_get(0)?;
        let id: String = row.try_get(1)?;
        if stage == 0 {
            &mut recorded
        } else {
            &mut paired
        }
        .insert(id);
    }
    let refused: Vec<&str> = ordered
        .iter()
        .map(|op| op.reservation.entry.delivery_id.as_str())
        .filter(|id| !recorded.contains(*id))
        .collect();
    let verdicts = refusals(conn, &refused).await?;
    let replayed: Vec<&Op> = by_pair(&ordered)
        .into_iter()
        .filter(|op| {
            let id = &op.reservation.entry.delivery_id;
            recorded.contains(id) && !paired.contains(id)
        })
        .collect();
    undo(conn, &replayed).await?;
    Ok(reserve_answers(members, verdicts, &replayed))
}

/// Commits every member's reservation at `now` (those still live) and marks their pairs,
/// in one statement.
pub(super) async fn commit_group(
    conn: &mut AnyConnection,
    members: &[&Op],
    now: u64,
    retention_seconds: u64,
) -> Result<Vec<Answer>, sqlx::Error> {
    let sql = format!(
        "WITH input (delivery_id, token, signed_at, signature) AS (VALUES {}), \
         committed AS ( \
           UPDATE webhook_seen_deliveries d \
           SET reservation_token = NULL, accepted_at_seconds = $1, expires_at_seconds = $2 \
           FROM input i \
           WHERE d.delivery_id = i.delivery_id AND d.reservation_token = i.token \
             AND d.expires_at_seconds >= $1 \
           RETURNING d.delivery_id), \
         marked AS ( \
           UPDATE webhook_seen_signatures s SET committed = 1 \
           FROM input i JOIN committed c ON c.delivery_id = i.delivery_id \
           WHERE s.signed_at_seconds = i.signed_at AND s.signature = i.signature \
             AND s.delivery_id = i.delivery_id \
           RETURNING s.delivery_id) \
         SELECT delivery_id FROM committed",
        typed_tuples(members.len(), &["TEXT", "TEXT", "BIGINT", "TEXT"], 3)
    );
    let mut update = sqlx::query(&sql)
        .bind(as_i64(now))
        .bind(as_i64(now.saturating_add(retention_seconds)));
    for op in by_delivery_id(members) {
        let entry = &op.reservation.entry;
        update = update
            .bind(entry.delivery_id.as_str())
            .bind(op.reservation.token.as_str())
            .bind(as_i64(entry.timestamp))
            .bind(entry.signature.as_str());
    }
    let committed: HashSet<String> = update
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    Ok(settled_answers(members, &committed))
}

/// Like [`super::portable::tuples`], each placeholder cast to its column's type: inside a
/// CTE's `VALUES` PostgreSQL has no target column to type them from.
fn typed_tuples(rows: usize, types: &[&str], first: usize) -> String {
    tuples_of(rows, types.len(), first, |column, n| {
        format!("CAST(${n} AS {})", types[column])
    })
}
