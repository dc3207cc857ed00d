//! The delivery workers' side of the outbox: claiming due rows under a lease, and settling
//! finished attempts (and rows handed back unattempted) many at a time.
//!
//! Costs do not grow with the backlog: a claim walks, per endpoint, the partial index of its
//! pending rows in due order and stops at its `LIMIT` (it never sorts the backlog); the
//! per-stream order check is one index probe per candidate; a batch of finished attempts is
//! one transaction of three statements, whatever its size.

use sqlx::{Any, Row, Transaction};

use crate::db::{Backend, Db};

/// A row claimed for one attempt.
#[derive(Clone, Debug)]
pub struct Claimed {
    /// The delivery id.
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event name.
    pub event_type: String,
    /// The exact body to send.
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The stream (with the version: which rows wait behind this one).
    pub stream_id: String,
    /// The stream version the event announces.
    pub stream_version: i64,
}

/// Claims up to `limit` due rows for `owner` until `lease_until_ms`: of each endpoint in
/// `endpoints` (the enabled ones with a free delivery slot on this instance) at most its
/// free slots, the earliest due first.
///
/// A row is due when pending, its next attempt time has come, no live lease holds it, and
/// no earlier version of its stream is still pending for the same endpoint (per-stream
/// order). On PostgreSQL rows locked by another instance's claim are skipped (`FOR UPDATE
/// SKIP LOCKED`), so instances never claim the same row at once.
///
/// Each endpoint's part is a walk of the partial index of its pending rows in due order
/// (`webhook_outbox_pending_by_endpoint`) that stops at that endpoint's limit: an index
/// range that matches the `ORDER BY` exactly, which both planners take with or without
/// statistics, and whose cost depends neither on the backlog nor on other endpoints'. The
/// walk visits, besides the rows it returns, only due rows it cannot take: those in flight
/// (at most the instances' concurrency) and those waiting behind an earlier version that is
/// in flight. Rows waiting behind a retry are not due: [`settle`] moves them to the retry's
/// time.
///
/// Endpoints are claimed for [`ENDPOINTS_PER_CLAIM`] at a time, in the order given, until
/// `limit` rows are claimed (the caller rotates the order between claims).
pub async fn claim(
    db: &Db,
    owner: &str,
    now_ms: i64,
    lease_until_ms: i64,
    limit: u32,
    endpoints: &[(&str, usize)],
) -> Result<Vec<Claimed>, sqlx::Error> {
    let mut claimed = Vec::new();
    for chunk in endpoints.chunks(ENDPOINTS_PER_CLAIM) {
        let left = limit.saturating_sub(u32::try_from(claimed.len()).unwrap_or(u32::MAX));
        if left == 0 {
            break;
        }
        let sql = claim_sql(db.backend, chunk, left);
        let mut query = sqlx::query(&sql)
            .bind(lease_until_ms)
            .bind(owner)
            .bind(now_ms);
        for (endpoint, _) in chunk {
            query = query.bind(*endpoint);
        }
        for row in query.fetch_all(&db.pool).await? {
            claimed.push(Claimed {
                id: row.try_get("id")?,
                endpoint_id: row.try_get("endpoint_id")?,
                event_type: row.try_get("event_type")?,
                payload: row.try_get("payload")?,
                attempts: row.try_get("attempts")?,
                stream_id: row.try_get("stream_id")?,
                stream_version: row.try_get("stream_version")?,
            });
        }
    }
    Ok(claimed)
}

/// Endpoints per claim statement: one `UNION ALL` term each, well under SQLite's limit of
/// 500 terms in a compound `SELECT` (and a plan PostgreSQL makes quickly).
pub const ENDPOINTS_PER_CLAIM: usize = 100;

/// The claim of up to `limit` rows of `endpoints` (`$1` lease end, `$2` owner, `$3` now,
/// `$4`... the endpoints).
fn claim_sql(backend: Backend, endpoints: &[(&str, usize)], limit: u32) -> String {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    // `LIMIT 1 OFFSET 0` keeps the order check a correlated probe per candidate instead of
    // an anti-join the planner may run as a scan per row.
    let parts: Vec<String> = endpoints
        .iter()
        .enumerate()
        .map(|(i, (_, free))| {
            let free = (*free).min(limit as usize);
            format!(
                "SELECT id, next_attempt_at FROM (SELECT o.id, o.next_attempt_at FROM webhook_outbox o \
                 WHERE o.endpoint_id = ${} AND o.status = 'pending' AND o.next_attempt_at <= $3 \
                 AND o.locked_until <= $3 \
                 AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.endpoint_id = o.endpoint_id \
                     AND p.stream_id = o.stream_id AND p.status = 'pending' AND p.stream_version < o.stream_version \
                     LIMIT 1 OFFSET 0) \
                 ORDER BY o.next_attempt_at LIMIT {free}{lock}) AS e{i}",
                i + 4
            )
        })
        .collect();
    format!(
        "UPDATE webhook_outbox SET locked_until = $1, lock_owner = $2 WHERE id IN (\
            SELECT id FROM ({}) AS due ORDER BY next_attempt_at LIMIT {limit}) \
         AND status = 'pending' \
         RETURNING id, endpoint_id, event_type, payload, attempts, stream_id, stream_version",
        parts.join(" UNION ALL ")
    )
}

/// Vacuums the outbox and refreshes its statistics on PostgreSQL (nothing on SQLite, which
/// removes index entries as it deletes). A table that filled faster than autovacuum's pace
/// (it looks at a table about once a minute) has no statistics, and without them the order
/// check of a claim may not probe the best index; and the delivered rows' dead entries stay
/// at the head of the pending index, walked by every claim, until a vacuum. The worker calls
/// this while a backlog lasts.
pub async fn maintain(db: &Db) -> Result<(), sqlx::Error> {
    if db.backend == Backend::Postgres {
        sqlx::query("VACUUM (ANALYZE) webhook_outbox")
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}

/// Drops every lease (SQLite at start: a single instance, so any lease is a dead one's).
pub async fn release_all_leases(db: &Db) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE webhook_outbox SET locked_until = 0, lock_owner = NULL WHERE status = 'pending' AND locked_until > 0",
    )
    .execute(&db.pool)
    .await?
    .rows_affected())
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    /// Accepted (2xx, or 409 `duplicate_delivery`).
    Delivered,
    /// Failed; due again at the time given.
    Retry(i64),
    /// Failed for good, with the dead-letter reason code.
    Dead(&'static str),
}

/// One finished attempt.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// 1-based attempt number.
    pub number: i64,
    /// When it started.
    pub at_ms: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// HTTP status, when an answer came.
    pub status_code: Option<u16>,
    /// `delivered`, `duplicate_delivery`, `retryable_status`, `permanent_status`, `network_error`, `timeout`.
    pub outcome: &'static str,
    /// Short error class (never the URL or the payload).
    pub error: Option<&'static str>,
    /// What happens next.
    pub result: AttemptResult,
}

/// How a claimed row is given back.
#[derive(Clone, Debug)]
pub enum Settled {
    /// After an attempt: recorded, and the row moved on.
    Attempted(Claimed, Attempt),
    /// Without an attempt (endpoint gone or disabled, circuit open, no free slot): pending
    /// again, due at the time given.
    Released(Claimed, i64),
}

impl Settled {
    fn row(&self) -> &Claimed {
        match self {
            Self::Attempted(row, _) | Self::Released(row, _) => row,
        }
    }

    /// When the row is due again, if it stays pending.
    fn due_again(&self) -> Option<i64> {
        match self {
            Self::Attempted(_, attempt) => match attempt.result {
                AttemptResult::Retry(at) => Some(at),
                _ => None,
            },
            Self::Released(_, at) => Some(*at),
        }
    }
}

/// Rows per statement: keeps the placeholders of one statement well under both engines'
/// limits (SQLite 32,766, PostgreSQL 65,535).
const ROWS_PER_STATEMENT: usize = 500;

/// Records finished attempts and gives released rows back, in one transaction: one
/// multi-row `INSERT` of the attempts, one `UPDATE ... FROM (VALUES ...)` of the rows, and,
/// for rows pending again later, one statement that moves the later versions of their
/// streams to that time (they cannot go first, so they should not be walked by every claim
/// meanwhile).
pub async fn settle(db: &Db, settled: &[Settled]) -> Result<(), sqlx::Error> {
    if settled.is_empty() {
        return Ok(());
    }
    let mut tx = db.pool.begin().await?;
    for chunk in settled.chunks(ROWS_PER_STATEMENT) {
        insert_attempts(&mut tx, chunk).await?;
        update_rows(&mut tx, chunk).await?;
        hold_followers(&mut tx, chunk).await?;
    }
    tx.commit().await
}

async fn insert_attempts(
    tx: &mut Transaction<'static, Any>,
    chunk: &[Settled],
) -> Result<(), sqlx::Error> {
    let attempts: Vec<(&Claimed, &Attempt)> = chunk
        .iter()
        .filter_map(|s| match s {
            Settled::Attempted(row, attempt) => Some((row, attempt)),
            Settled::Released(..) => None,
        })
        .collect();
    if attempts.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, outcome, error, duration_ms) VALUES {}",
        placeholders(attempts.len(), 7, &[])
    );
    let mut query = sqlx::query(&sql);
    for (row, attempt) in attempts {
        query = query
            .bind(row.id.as_str())
            .bind(attempt.number)
            .bind(attempt.at_ms)
            .bind(attempt.status_code.map(i64::from))
            .bind(attempt.outcome)
            .bind(attempt.error)
            .bind(attempt.duration_ms);
    }
    query.execute(&mut **tx).await.map(|_| ())
}

/// The new state of a row: (status, attempts, next attempt, last status, last error, dead
/// reason, delivered at, updated at).
type RowState<'a> = (
    &'static str,
    Option<i64>,
    i64,
    Option<i64>,
    Option<&'a str>,
    Option<&'static str>,
    Option<i64>,
    Option<i64>,
);

fn row_state(settled: &Settled) -> RowState<'_> {
    match settled {
        Settled::Released(_, at) => ("pending", None, *at, None, None, None, None, None),
        Settled::Attempted(_, attempt) => {
            let now = attempt.at_ms + attempt.duration_ms;
            let (status, next, reason, delivered) = match &attempt.result {
                AttemptResult::Delivered => ("delivered", now, None, Some(now)),
                AttemptResult::Retry(at) => ("pending", *at, None, None),
                AttemptResult::Dead(reason) => ("dead", now, Some(*reason), None),
            };
            let error = (attempt.result != AttemptResult::Delivered)
                .then(|| attempt.error.unwrap_or(attempt.outcome));
            (
                status,
                Some(attempt.number),
                next,
                attempt.status_code.map(i64::from),
                error,
                reason,
                delivered,
                Some(now),
            )
        }
    }
}

async fn update_rows(
    tx: &mut Transaction<'static, Any>,
    chunk: &[Settled],
) -> Result<(), sqlx::Error> {
    // A released row keeps its attempt data (a NULL attempt count says so); an attempted one
    // takes every column. The casts type the placeholders inside VALUES for PostgreSQL; the
    // columns of VALUES are `column1`, `column2`, ... on both engines.
    let types = [
        "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "BIGINT", "BIGINT",
    ];
    let sql = format!(
        "UPDATE webhook_outbox SET status = v.column2, \
         attempts = COALESCE(v.column3, webhook_outbox.attempts), next_attempt_at = v.column4, \
         locked_until = 0, lock_owner = NULL, \
         last_status_code = CASE WHEN v.column3 IS NULL THEN webhook_outbox.last_status_code ELSE v.column5 END, \
         last_error = CASE WHEN v.column3 IS NULL THEN webhook_outbox.last_error ELSE v.column6 END, \
         dead_reason = CASE WHEN v.column3 IS NULL THEN webhook_outbox.dead_reason ELSE v.column7 END, \
         delivered_at = CASE WHEN v.column3 IS NULL THEN webhook_outbox.delivered_at ELSE v.column8 END, \
         updated_at = COALESCE(v.column9, webhook_outbox.updated_at) \
         FROM (VALUES {}) AS v \
         WHERE webhook_outbox.id = v.column1 AND webhook_outbox.status = 'pending'",
        placeholders(chunk.len(), types.len(), &types)
    );
    let mut query = sqlx::query(&sql);
    for settled in chunk {
        let (status, attempts, next, code, error, reason, delivered, updated) = row_state(settled);
        query = query
            .bind(settled.row().id.as_str())
            .bind(status)
            .bind(attempts)
            .bind(next)
            .bind(code)
            .bind(error)
            .bind(reason)
            .bind(delivered)
            .bind(updated);
    }
    query.execute(&mut **tx).await.map(|_| ())
}

async fn hold_followers(
    tx: &mut Transaction<'static, Any>,
    chunk: &[Settled],
) -> Result<(), sqlx::Error> {
    let later: Vec<(&Claimed, i64)> = chunk
        .iter()
        .filter_map(|s| s.due_again().map(|at| (s.row(), at)))
        .collect();
    if later.is_empty() {
        return Ok(());
    }
    let types = ["TEXT", "TEXT", "BIGINT", "BIGINT"];
    let sql = format!(
        "UPDATE webhook_outbox SET next_attempt_at = v.column4 FROM (VALUES {}) AS v \
         WHERE webhook_outbox.endpoint_id = v.column1 AND webhook_outbox.stream_id = v.column2 \
         AND webhook_outbox.status = 'pending' AND webhook_outbox.stream_version > v.column3 \
         AND webhook_outbox.next_attempt_at < v.column4",
        placeholders(later.len(), types.len(), &types)
    );
    let mut query = sqlx::query(&sql);
    for (row, at) in later {
        query = query
            .bind(row.endpoint_id.as_str())
            .bind(row.stream_id.as_str())
            .bind(row.stream_version)
            .bind(at);
    }
    query.execute(&mut **tx).await.map(|_| ())
}

/// `($1, $2, ...), ($n+1, ...)` for `rows` rows of `columns` placeholders, each wrapped in
/// `CAST(.. AS type)` when `types` are given.
pub(crate) fn placeholders(rows: usize, columns: usize, types: &[&str]) -> String {
    let mut out = String::with_capacity(rows * columns * 8);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..columns {
            if c > 0 {
                out.push_str(", ");
            }
            let n = r * columns + c + 1;
            match types.get(c) {
                Some(ty) => out.push_str(&format!("CAST(${n} AS {ty})")),
                None => out.push_str(&format!("${n}")),
            }
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn numbers_placeholders_row_by_row() {
        assert_eq!(placeholders(2, 2, &[]), "($1, $2), ($3, $4)");
        assert_eq!(
            placeholders(1, 2, &["TEXT", "BIGINT"]),
            "(CAST($1 AS TEXT), CAST($2 AS BIGINT))"
        );
    }
}
