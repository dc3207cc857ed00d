//! Group commit of the replay store: concurrent reserves, commits and releases share
//! multi-row statements, one commit per batch instead of one transaction each.
//!
//! Writer tasks take whatever is queued when they become free (no timer: a lone request is
//! written at once, a burst waits for at most one batch in flight), write it ([`portable`]:
//! one transaction, on SQLite; [`postgres`]: one self-contained statement per group), and
//! answer each operation only once its writes have committed, so no answer ever rests on
//! state that could still roll back. The checks are the ones of
//! [`super::single`], in the same order: the delivery id first (committed: duplicate;
//! reserved and live: in progress), then the (timestamp, signature) pair.
//!
//! Within one batch a delivery id, and a signature pair, appears at most once: a second
//! operation on the same key waits for the next batch, so it sees the first one's result.
//! Between instances (several writers on PostgreSQL) the unique indexes decide as before,
//! and rows are written in key order so two batches never wait on each other in a cycle.

mod portable;
mod postgres;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use fluxora_webhooks::ReplayVerdict;
use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{CapturedEntry, DbReservation, single};
use crate::db::{Backend, WriteTurn};

/// Operations in one transaction at most (and a bound on the statements' parameters).
const MAX_BATCH: usize = 128;
/// Operations queued before callers wait for room.
const QUEUE: usize = 4 * MAX_BATCH;

/// Writer tasks: SQLite has one writer at a time anyway; on PostgreSQL several batches are
/// in flight while earlier ones wait for their commit to be flushed.
fn writers(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 4,
    }
}

/// Batches that failed for another reason than an unreachable database and were written
/// one operation at a time instead.
static FALLBACKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many batches this process wrote one by one after a failure (see `write_batch`): the
/// answers stay right, but a count that grows means the batch statements are failing.
pub fn batch_fallbacks() -> u64 {
    FALLBACKS.load(std::sync::atomic::Ordering::Relaxed)
}

/// What an operation does, beyond the reservation it concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Recorded as handled at once (one step: nothing runs between check and record).
    Record {
        retention_seconds: u64,
    },
    Reserve {
        lease_seconds: u64,
    },
    Commit {
        retention_seconds: u64,
    },
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
    /// The signature pair a record or a reserve writes.
    fn pair(&self) -> Option<(u64, &str)> {
        let entry = &self.reservation.entry;
        matches!(self.kind, Kind::Record { .. } | Kind::Reserve { .. })
            .then_some((entry.timestamp, entry.signature.as_str()))
    }

    /// The token its delivery id row holds: none once recorded (committed).
    fn token(&self) -> Option<&str> {
        match self.kind {
            Kind::Record { .. } => None,
            _ => Some(&self.reservation.token),
        }
    }

    /// Whether its pair is written committed (a record) or reserved.
    fn committed(&self) -> i64 {
        i64::from(matches!(self.kind, Kind::Record { .. }))
    }

    /// The same operation in a transaction of its own.
    async fn run_alone(&self, pool: &AnyPool) -> Result<Answer, sqlx::Error> {
        let reservation = &self.reservation;
        Ok(match self.kind {
            Kind::Record { retention_seconds } => {
                let admission = single::Admission::Record { retention_seconds };
                Answer::Verdict(single::admit(pool, &reservation.entry, admission, None).await?)
            }
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
    /// On SQLite each batch takes `turn`, the process's write turn (see `Db::write_turn`).
    pub fn start(pool: AnyPool, backend: Backend, turn: WriteTurn) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers(backend) {
            let writer = Writer {
                pool: pool.clone(),
                backend,
                turn: turn.clone(),
            };
            tokio::spawn(writer.write_batches(receiver.clone()));
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

    /// Records `entry` as handled, kept for `retention_seconds`.
    pub(super) async fn record(
        &self,
        entry: CapturedEntry,
        retention_seconds: u64,
    ) -> Result<ReplayVerdict, sqlx::Error> {
        let now = entry.now;
        let reservation = DbReservation {
            entry,
            token: String::new(),
        };
        verdict(
            self.submit(reservation, now, Kind::Record { retention_seconds })
                .await?,
        )
    }

    /// Reserves `reservation.entry` under `reservation.token` for `lease_seconds`.
    pub(super) async fn reserve(
        &self,
        reservation: DbReservation,
        lease_seconds: u64,
    ) -> Result<ReplayVerdict, sqlx::Error> {
        let now = reservation.entry.now;
        verdict(
            self.submit(reservation, now, Kind::Reserve { lease_seconds })
                .await?,
        )
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

fn verdict(answer: Answer) -> Result<ReplayVerdict, sqlx::Error> {
    match answer {
        Answer::Verdict(verdict) => Ok(verdict),
        Answer::Settled(_) => Err(sqlx::Error::Protocol("mismatched answer".into())),
    }
}

fn settled(answer: Answer) -> Result<bool, sqlx::Error> {
    match answer {
        Answer::Settled(done) => Ok(done),
        Answer::Verdict(_) => Err(sqlx::Error::Protocol("mismatched answer".into())),
    }
}

/// One writer task's database.
struct Writer {
    pool: AnyPool,
    backend: Backend,
    turn: WriteTurn,
}

impl Writer {
    /// One writer: takes a batch, writes it, answers it, until the queue is closed and empty.
    async fn write_batches(self, queue: Arc<Mutex<mpsc::Receiver<Op>>>) {
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
            self.write_batch(batch).await;
        }
    }

    /// Writes one batch and answers it: in one transaction on SQLite, in one statement per
    /// group on PostgreSQL (see [`postgres`]). When the database cannot be reached every
    /// operation gets that error; any other failure (a deadlock between instances, say) runs
    /// the operations again one by one, so one bad row never fails its neighbours.
    async fn write_batch(&self, batch: Vec<Op>) {
        let (pool, backend) = (&self.pool, self.backend);
        let written = match backend {
            Backend::Sqlite => {
                // The turn's connection, kept from batch to batch (see `WriteTurn`).
                let mut kept = self.turn.lock().await;
                let written = write_in_transaction(pool, &mut kept, &batch).await;
                if written.is_err() {
                    // A connection that failed is not trusted again: the next batch takes
                    // a new one.
                    *kept = None;
                }
                written
            }
            Backend::Postgres => match pool.acquire().await {
                Ok(mut conn) => apply(&mut conn, backend, &batch).await,
                Err(err) => Err(err),
            },
        };
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
}

/// Writes `batch` in one transaction on `kept`, taken from `pool` first when empty.
async fn write_in_transaction(
    pool: &AnyPool,
    kept: &mut Option<AnyConnection>,
    batch: &[Op],
) -> Result<Vec<Answer>, sqlx::Error> {
    let conn = match kept {
        Some(conn) => conn,
        None => kept.insert(pool.acquire().await?.detach()),
    };
    let mut tx = conn.begin().await?;
    let answers = apply(&mut tx, Backend::Sqlite, batch).await?;
    tx.commit().await?;
    Ok(answers)
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
/// own reserves wrote), then records and reserves, each grouped by time so one statement serves a group.
async fn apply(
    conn: &mut AnyConnection,
    backend: Backend,
    batch: &[Op],
) -> Result<Vec<Answer>, sqlx::Error> {
    let mut answers = vec![Answer::Settled(false); batch.len()];
    let mut groups: HashMap<(u8, u64, u64), Vec<usize>> = HashMap::new();
    for (index, op) in batch.iter().enumerate() {
        let key = match op.kind {
            Kind::Commit { retention_seconds } => (0, op.now, retention_seconds),
            Kind::Release => (1, op.now, 0),
            Kind::Record { .. } | Kind::Reserve { .. } => (2, op.now, 0),
        };
        groups.entry(key).or_default().push(index);
    }
    let mut keys: Vec<_> = groups.keys().copied().collect();
    keys.sort_unstable();
    let postgres = backend == Backend::Postgres;
    for key in keys {
        let members: Vec<&Op> = groups[&key].iter().map(|&index| &batch[index]).collect();
        let results = match key {
            (0, now, retention) if postgres => {
                postgres::commit_group(conn, &members, now, retention).await?
            }
            (0, now, retention) => portable::commit_group(conn, &members, now, retention).await?,
            (1, now, _) => portable::release_group(conn, &members, now).await?,
            (_, now, _) if postgres => postgres::reserve_group(conn, &members, now).await?,
            (_, now, _) => portable::reserve_group(conn, &members, now).await?,
        };
        for (&index, answer) in groups[&key].iter().zip(results) {
            answers[index] = answer;
        }
    }
    Ok(answers)
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
        assert_eq!(portable::tuples(2, 3, 2), "($2, $3, $4), ($5, $6, $7)");
        assert_eq!(portable::list(3, 4), "$4, $5, $6");
    }
}
