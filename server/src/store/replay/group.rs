//! Group commit of the replay store: concurrent reserves, commits and releases share one
//! transaction per batch, with multi-row statements, instead of one transaction each.
//!
//! Writer tasks take whatever is queued when they become free (no timer: a lone request is
//! written at once, a burst waits for at most one batch in flight), run it in one
//! transaction, and answer each operation only once that transaction has committed, so no
//! answer ever rests on state that could still roll back. The checks are the ones of
//! [`super::single`], in the same order: the delivery id first (committed: duplicate;
//! reserved and live: in progress), then the (timestamp, signature) pair.
//!
//! Within one batch a delivery id, and a signature pair, appears at most once: a second
//! operation on the same key waits for the next batch, so it sees the first one's result.
//! Between instances (several writers on PostgreSQL) the unique indexes decide as before,
//! and rows are written in key order so two batches never wait on each other in a cycle.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use fluxora_webhooks::ReplayVerdict;
use sqlx::{Any, AnyPool, Row, Transaction};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{DbReservation, as_i64, single};
use crate::db::Backend;

/// Operations in one transaction at most (and a bound on the statements' parameters).
const MAX_BATCH: usize = 128;
/// Operations queued before callers wait for room.
const QUEUE: usize = 4 * MAX_BATCH;

/// Writer tasks: SQLite has one writer at a time anyway; on PostgreSQL a second one prepares
/// the next batch while the first waits for its commit to be flushed.
fn writers(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 2,
    }
}

/// What an operation does, beyond the reservation it concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Reserve { lease_seconds: u64 },
    Commit { retention_seconds: u64 },
    Release,
}

/// An operation's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Verdict(ReplayVerdict),
    Settled(bool),
}

#[derive(Debug)]
struct Op {
    reservation: DbReservation,
    /// The verification time (reserve) or the settling time (commit, release).
    now: u64,
    kind: Kind,
    reply: oneshot::Sender<Result<Answer, sqlx::Error>>,
}

impl Op {
    /// The signature pair a reserve writes.
    fn pair(&self) -> Option<(u64, &str)> {
        let entry = &self.reservation.entry;
        matches!(self.kind, Kind::Reserve { .. })
            .then_some((entry.timestamp, entry.signature.as_str()))
    }

    /// The same operation in a transaction of its own.
    async fn run_alone(&self, pool: &AnyPool) -> Result<Answer, sqlx::Error> {
        let reservation = &self.reservation;
        Ok(match self.kind {
            Kind::Reserve { lease_seconds } => {
                let admission = single::Admission::Reserve {
                    token: &reservation.token,
                    lease_seconds,
                };
                Answer::Verdict(single::admit(pool, &reservation.entry, admission, None).await?)
            }
            Kind::Commit { retention_seconds } => Answer::Settled(
                single::commit(pool, reservation, self.now, retention_seconds).await?,
            ),
            Kind::Release => Answer::Settled(single::release(pool, reservation, self.now).await?),
        })
    }
}

/// The queue to the writer tasks of one database (see the module docs).
#[derive(Debug)]
pub struct GroupCommit {
    queue: mpsc::Sender<Op>,
    pool: AnyPool,
}

impl GroupCommit {
    /// Starts the writer tasks; they end when this handle is dropped, after the queue drains.
    pub fn start(pool: AnyPool, backend: Backend) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers(backend) {
            tokio::spawn(write_batches(pool.clone(), receiver.clone()));
        }
        Self { queue, pool }
    }

    async fn submit(
        &self,
        reservation: DbReservation,
        now: u64,
        kind: Kind,
    ) -> Result<Answer, sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        let op = Op {
            reservation,
            now,
            kind,
            reply,
        };
        match self.queue.send(op).await {
            // A writer that went away without answering (its runtime is shutting down)
            // leaves the outcome unknown: the caller answers 503 and the sender retries.
            Ok(()) => answer.await.unwrap_or(Err(sqlx::Error::WorkerCrashed)),
            Err(mpsc::error::SendError(op)) => op.run_alone(&self.pool).await,
        }
    }

    /// Reserves `reservation.entry` under `reservation.token` for `lease_seconds`.
    pub(super) async fn reserve(
        &self,
        reservation: DbReservation,
        lease_seconds: u64,
    ) -> Result<ReplayVerdict, sqlx::Error> {
        let now = reservation.entry.now;
        match self
            .submit(reservation, now, Kind::Reserve { lease_seconds })
            .await?
        {
            Answer::Verdict(verdict) => Ok(verdict),
            Answer::Settled(_) => Err(sqlx::Error::Protocol("mismatched answer".into())),
        }
    }

    /// Commits a reservation at `now`, keeping the delivery id for `retention_seconds`.
    pub(super) async fn commit(
        &self,
        reservation: DbReservation,
        now: u64,
        retention_seconds: u64,
    ) -> Result<bool, sqlx::Error> {
        let kind = Kind::Commit { retention_seconds };
        settled(self.submit(reservation, now, kind).await?)
    }

    /// Releases a reservation at `now`.
    pub(super) async fn release(
        &self,
        reservation: DbReservation,
        now: u64,
    ) -> Result<bool, sqlx::Error> {
        settled(self.submit(reservation, now, Kind::Release).await?)
    }
}

fn settled(answer: Answer) -> Result<bool, sqlx::Error> {
    match answer {
        Answer::Settled(done) => Ok(done),
        Answer::Verdict(_) => Err(sqlx::Error::Protocol("mismatched answer".into())),
    }
}

/// One writer: takes a batch, writes it, answers it, until the queue is closed and empty.
async fn write_batches(pool: AnyPool, queue: Arc<Mutex<mpsc::Receiver<Op>>>) {
    let mut waiting: VecDeque<Op> = VecDeque::new();
    loop {
        // With operations of its own still waiting this writer never blocks on the queue:
        // another writer may hold it while waiting for operations that only come once
        // these are answered.
        let queue = if waiting.is_empty() {
            Some(queue.lock().await)
        } else {
            queue.try_lock().ok()
        };
        if let Some(mut queue) = queue {
            if waiting.is_empty() {
                match queue.recv().await {
                    Some(op) => waiting.push_back(op),
                    None => return,
                }
            }
            while waiting.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(op) => waiting.push_back(op),
                    Err(_) => break,
                }
            }
        }
        let batch = take_batch(&mut waiting);
        write_batch(&pool, batch).await;
    }
}

/// Takes, in queue order, up to [`MAX_BATCH`] operations whose keys do not repeat; the
/// others stay queued, in order, for the next batch.
fn take_batch(waiting: &mut VecDeque<Op>) -> Vec<Op> {
    let mut ids = HashSet::new();
    let mut pairs = HashSet::new();
    let mut batch = Vec::new();
    let mut later = VecDeque::new();
    while let Some(op) = waiting.pop_front() {
        let fits = batch.len() < MAX_BATCH
            && !ids.contains(&op.reservation.entry.delivery_id)
            && op.pair().is_none_or(|(timestamp, signature)| {
                !pairs.contains(&(timestamp, signature.to_owned()))
            });
        if fits {
            ids.insert(op.reservation.entry.delivery_id.clone());
            if let Some((timestamp, signature)) = op.pair() {
                pairs.insert((timestamp, signature.to_owned()));
            }
            batch.push(op);
        } else {
            later.push_back(op);
        }
    }
    *waiting = later;
    batch
}

/// Writes one batch in one transaction and answers it. When the database cannot be reached
/// every operation gets that error; any other failure (a deadlock between instances, say)
/// runs the operations again one by one, so one bad row never fails its neighbours.
async fn write_batch(pool: &AnyPool, batch: Vec<Op>) {
    let written = async {
        let mut tx = pool.begin().await?;
        let answers = apply(&mut tx, &batch).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(answers)
    }
    .await;
    match written {
        Ok(answers) => {
            for (op, answer) in batch.into_iter().zip(answers) {
                let _ = op.reply.send(Ok(answer));
            }
        }
        Err(err) if crate::db::is_unavailable(&err) => {
            for op in batch {
                let _ = op.reply.send(Err(unavailable(&err)));
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, size = batch.len(), "replay batch failed; writing its operations one by one");
            for op in batch {
                let answer = op.run_alone(pool).await;
                let _ = op.reply.send(answer);
            }
        }
    }
}

/// The same kind of unavailability, for each operation of a failed batch.
fn unavailable(err: &sqlx::Error) -> sqlx::Error {
    match err {
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        sqlx::Error::WorkerCrashed => sqlx::Error::WorkerCrashed,
        other => sqlx::Error::Io(std::io::Error::other(other.to_string())),
    }
}

/// Every operation's answer, in batch order: settlements first (they only touch rows their
/// own reserves wrote), then reserves, each grouped by time so one statement serves a group.
async fn apply(
    tx: &mut Transaction<'static, Any>,
    batch: &[Op],
) -> Result<Vec<Answer>, sqlx::Error> {
    let mut answers = vec![Answer::Settled(false); batch.len()];
    let mut groups: HashMap<(u8, u64, u64), Vec<usize>> = HashMap::new();
    for (index, op) in batch.iter().enumerate() {
        let key = match op.kind {
            Kind::Commit { retention_seconds } => (0, op.now, retention_seconds),
            Kind::Release => (1, op.now, 0),
            Kind::Reserve { .. } => (2, op.now, 0),
        };
        groups.entry(key).or_default().push(index);
    }
    let mut keys: Vec<_> = groups.keys().copied().collect();
    keys.sort_unstable();
    for key in keys {
        let members: Vec<&Op> = groups[&key].iter().map(|&index| &batch[index]).collect();
        let results = match key {
            (0, now, retention) => commit_group(tx, &members, now, retention).await?,
            (1, now, _) => release_group(tx, &members, now).await?,
            (_, now, _) => reserve_group(tx, &members, now).await?,
        };
        for (&index, answer) in groups[&key].iter().zip(results) {
            answers[index] = answer;
        }
    }
    Ok(answers)
}

/// `($1, $2, ...), (...)`: `rows` tuples of `columns` placeholders from `$first`.
fn tuples(rows: usize, columns: usize, first: usize) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (0..columns)
                .map(|column| format!("${}", first + row * columns + column))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$first, ..., $(first + count - 1)`.
fn list(count: usize, first: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reserves every member (all verified at `now`): the delivery ids, then the pairs of
/// those recorded; a pair already taken undoes its delivery id.
async fn reserve_group(
    tx: &mut Transaction<'static, Any>,
    members: &[&Op],
    now: u64,
) -> Result<Vec<Answer>, sqlx::Error> {
    let mut by_id: Vec<&Op> = members.to_vec();
    by_id.sort_by(|a, b| {
        let (a, b) = (&a.reservation.entry, &b.reservation.entry);
        a.delivery_id.cmp(&b.delivery_id)
    });
    let sql = format!(
        "INSERT INTO webhook_seen_deliveries \
           (delivery_id, accepted_at_seconds, expires_at_seconds, reservation_token) \
         VALUES {} \
         ON CONFLICT (delivery_id) DO UPDATE SET \
           accepted_at_seconds = excluded.accepted_at_seconds, \
           expires_at_seconds = excluded.expires_at_seconds, \
           reservation_token = excluded.reservation_token \
         WHERE webhook_seen_deliveries.expires_at_seconds < excluded.accepted_at_seconds \
         RETURNING delivery_id",
        tuples(by_id.len(), 4, 1)
    );
    let mut insert = sqlx::query(&sql);
    for op in &by_id {
        let Kind::Reserve { lease_seconds } = op.kind else {
            continue;
        };
        let reservation = &op.reservation;
        insert = insert
            .bind(reservation.entry.delivery_id.as_str())
            .bind(as_i64(now))
            .bind(as_i64(now.saturating_add(lease_seconds)))
            .bind(reservation.token.as_str());
    }
    let recorded: HashSet<String> = insert
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;

    let mut verdicts: HashMap<&str, ReplayVerdict> = HashMap::new();
    let refused: Vec<&str> = by_id
        .iter()
        .map(|op| op.reservation.entry.delivery_id.as_str())
        .filter(|id| !recorded.contains(*id))
        .collect();
    if !refused.is_empty() {
        let sql = format!(
            "SELECT delivery_id, reservation_token FROM webhook_seen_deliveries \
             WHERE delivery_id IN ({})",
            list(refused.len(), 1)
        );
        let mut holders = sqlx::query(&sql);
        for id in &refused {
            holders = holders.bind(*id);
        }
        let held: HashMap<String, Option<String>> = holders
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        for id in refused {
            // A row gone since the insert was released by another instance just now: the
            // sender's retry will find the id free.
            let verdict = match held.get(id) {
                Some(None) => ReplayVerdict::DuplicateDelivery,
                Some(Some(_)) | None => ReplayVerdict::InProgress,
            };
            verdicts.insert(id, verdict);
        }
    }

    let mut by_pair: Vec<&Op> = by_id
        .iter()
        .copied()
        .filter(|op| recorded.contains(&op.reservation.entry.delivery_id))
        .collect();
    by_pair.sort_by(|a, b| {
        let (a, b) = (&a.reservation.entry, &b.reservation.entry);
        (a.timestamp, &a.signature).cmp(&(b.timestamp, &b.signature))
    });
    if !by_pair.is_empty() {
        let sql = format!(
            "INSERT INTO webhook_seen_signatures \
               (signed_at_seconds, signature, delivery_id, expires_at_seconds, committed) \
             VALUES {} \
             ON CONFLICT (signed_at_seconds, signature) DO UPDATE SET \
               delivery_id = excluded.delivery_id, \
               expires_at_seconds = excluded.expires_at_seconds, \
               committed = excluded.committed \
             WHERE webhook_seen_signatures.expires_at_seconds < $1 \
                OR (webhook_seen_signatures.committed = 0 \
                    AND webhook_seen_signatures.delivery_id = excluded.delivery_id) \
             RETURNING delivery_id",
            tuples(by_pair.len(), 5, 2)
        );
        let mut insert = sqlx::query(&sql).bind(as_i64(now));
        for op in &by_pair {
            let entry = &op.reservation.entry;
            insert = insert
                .bind(as_i64(entry.timestamp))
                .bind(entry.signature.as_str())
                .bind(entry.delivery_id.as_str())
                .bind(as_i64(entry.signature_expires_at))
                .bind(0_i64);
        }
        let paired: HashSet<String> = insert
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
        let replayed: Vec<&Op> = by_pair
            .iter()
            .copied()
            .filter(|op| !paired.contains(&op.reservation.entry.delivery_id))
            .collect();
        if !replayed.is_empty() {
            // Undo their delivery ids: nothing is written for a refused delivery.
            let sql = format!(
                "DELETE FROM webhook_seen_deliveries \
                 WHERE delivery_id IN ({}) AND reservation_token IN ({})",
                list(replayed.len(), 1),
                list(replayed.len(), 1 + replayed.len())
            );
            let mut undo = sqlx::query(&sql);
            for op in &replayed {
                undo = undo.bind(op.reservation.entry.delivery_id.as_str());
            }
            for op in &replayed {
                undo = undo.bind(op.reservation.token.as_str());
            }
            undo.execute(&mut **tx).await?;
            for op in replayed {
                verdicts.insert(
                    &op.reservation.entry.delivery_id,
                    ReplayVerdict::ReplayedSignature,
                );
            }
        }
    }
    Ok(members
        .iter()
        .map(|op| {
            let id = op.reservation.entry.delivery_id.as_str();
            Answer::Verdict(verdicts.get(id).copied().unwrap_or(ReplayVerdict::Fresh))
        })
        .collect())
}

/// `delivery_id IN (...) AND reservation_token IN (...)` over `members`, from `$first`
/// (each token belongs to one delivery id, so the pairs cannot cross).
fn held_by(members: &[&Op], first: usize) -> String {
    format!(
        "delivery_id IN ({}) AND reservation_token IN ({})",
        list(members.len(), first),
        list(members.len(), first + members.len())
    )
}

fn bind_held_by<'q>(
    mut query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    members: &'q [&Op],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for op in members {
        query = query.bind(op.reservation.entry.delivery_id.as_str());
    }
    for op in members {
        query = query.bind(op.reservation.token.as_str());
    }
    query
}

/// Commits every member's reservation at `now` (those still live), then marks their pairs.
async fn commit_group(
    tx: &mut Transaction<'static, Any>,
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
    let committed: HashSet<String> = bind_held_by(update, members)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
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
        mark.execute(&mut **tx).await?;
    }
    Ok(members
        .iter()
        .map(|op| Answer::Settled(committed.contains(&op.reservation.entry.delivery_id)))
        .collect())
}

/// Releases every member's reservation at `now` (those still live).
async fn release_group(
    tx: &mut Transaction<'static, Any>,
    members: &[&Op],
    now: u64,
) -> Result<Vec<Answer>, sqlx::Error> {
    let sql = format!(
        "DELETE FROM webhook_seen_deliveries WHERE expires_at_seconds >= $1 AND {} \
         RETURNING delivery_id",
        held_by(members, 2)
    );
    let delete = sqlx::query(&sql).bind(as_i64(now));
    let released: HashSet<String> = bind_held_by(delete, members)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    Ok(members
        .iter()
        .map(|op| Answer::Settled(released.contains(&op.reservation.entry.delivery_id)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::replay::CapturedEntry;

    fn op(id: &str, timestamp: u64, signature: &str, kind: Kind) -> Op {
        Op {
            reservation: DbReservation {
                entry: CapturedEntry {
                    delivery_id: id.into(),
                    timestamp,
                    signature: signature.into(),
                    now: timestamp,
                    signature_expires_at: timestamp + 300,
                },
                token: format!("tok-{id}"),
            },
            now: timestamp,
            kind,
            reply: oneshot::channel().0,
        }
    }

    #[test]
    fn a_batch_never_holds_a_key_twice() {
        let reserve = Kind::Reserve { lease_seconds: 30 };
        let mut waiting: VecDeque<Op> = [
            op("a", 1, "s1", reserve),
            op("a", 1, "s2", reserve),
            op("b", 1, "s1", reserve),
            op("c", 1, "s3", Kind::Release),
            op("c", 1, "s3", reserve),
            op("d", 1, "s4", reserve),
        ]
        .into();
        let ids = |ops: &[Op]| -> Vec<String> {
            ops.iter()
                .map(|op| op.reservation.entry.delivery_id.clone())
                .collect()
        };
        assert_eq!(ids(&take_batch(&mut waiting)), ["a", "c", "d"]);
        assert_eq!(ids(&take_batch(&mut waiting)), ["a", "b", "c"]);
        assert!(waiting.is_empty());
    }

    #[test]
    fn placeholders_number_rows_in_order() {
        assert_eq!(tuples(2, 3, 2), "($2, $3, $4), ($5, $6, $7)");
        assert_eq!(list(3, 4), "$4, $5, $6");
    }
}
