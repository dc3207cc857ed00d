//! The receiver's replay store in the database, shared by every instance.
//!
//! The receiver runs every check up to the replay step (the facade's [`Accepted`]); this
//! module then checks and records the delivery: the delivery id first (unique key), then the
//! (timestamp, signature) pair (unique key). Concurrent operations are group-committed
//! ([`group`]): one transaction per batch instead of one per request, answered only once the
//! batch is durable. [`single`] is the same contract one operation at a time.

mod group;
mod single;

use fluxora_webhooks::ReplayVerdict;
use fluxora_webhooks_facade::Accepted;

use crate::db::Db;
use crate::util::bytes_to_key;

pub use group::{GroupCommit, batch_fallbacks};

/// An accepted delivery, owned, ready to be checked against the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedEntry {
    /// The delivery id as text (distinct ids stay distinct; see `bytes_to_key`).
    pub delivery_id: String,
    /// The signed timestamp.
    pub timestamp: u64,
    /// The decoded signature as lowercase hex (the same for upper- and lowercase headers).
    pub signature: String,
    /// The verification time.
    pub now: u64,
    /// Until when the (timestamp, signature) pair must be remembered.
    pub signature_expires_at: u64,
}

impl From<&Accepted> for CapturedEntry {
    fn from(accepted: &Accepted) -> Self {
        Self {
            delivery_id: bytes_to_key(accepted.delivery_id()),
            timestamp: accepted.timestamp(),
            signature: accepted.signature_hex(),
            now: accepted.now(),
            signature_expires_at: accepted.signature_expires_at(),
        }
    }
}

/// When a delivery id's row may be written over: only once it has expired (a live one,
/// reserved or committed, is never evicted). The same rule for every write path.
const DELIVERY_ID_TAKEOVER: &str = "ON CONFLICT (delivery_id) DO UPDATE SET \
       accepted_at_seconds = excluded.accepted_at_seconds, \
       expires_at_seconds = excluded.expires_at_seconds, \
       reservation_token = excluded.reservation_token \
     WHERE webhook_seen_deliveries.expires_at_seconds < excluded.accepted_at_seconds";

/// When a signature pair's row may be written over (`now`: the placeholder of the check's
/// time): once expired, or when an earlier attempt of the same delivery left it uncommitted.
fn pair_takeover(now: &str) -> String {
    format!(
        "ON CONFLICT (signed_at_seconds, signature) DO UPDATE SET \
           delivery_id = excluded.delivery_id, \
           expires_at_seconds = excluded.expires_at_seconds, \
           committed = excluded.committed \
         WHERE webhook_seen_signatures.expires_at_seconds < {now} \
            OR (webhook_seen_signatures.committed = 0 \
                AND webhook_seen_signatures.delivery_id = excluded.delivery_id)"
    )
}

fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A reservation of a delivery in the database (two-phase replay): commit it once the
/// delivery was handled, release it when handling failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbReservation {
    /// The reserved delivery.
    pub entry: CapturedEntry,
    /// Which attempt holds the reservation.
    pub token: String,
}

/// Checks and records `entry` in one step, as handled: `Fresh` when recorded, otherwise
/// why not. For a receiver that does nothing between the check and its answer; one that
/// handles the delivery first uses the two-phase [`reserve`] and [`commit`].
///
/// Group-committed; with a capacity (`max_entries`) it runs alone, as [`reserve`] does.
pub async fn check_and_record(
    db: &Db,
    entry: &CapturedEntry,
    retention_seconds: u64,
    max_entries: Option<u64>,
) -> Result<ReplayVerdict, sqlx::Error> {
    match max_entries {
        Some(_) => {
            let admission = single::Admission::Record { retention_seconds };
            single::admit(&db.pool, entry, admission, max_entries).await
        }
        None => {
            db.replay_group()
                .record(entry.clone(), retention_seconds)
                .await
        }
    }
}

/// Reserves `entry` for `lease_seconds` under a fresh token: `Ok(reservation)` when
/// reserved, otherwise the verdict (`InProgress` while another attempt holds it).
///
/// Group-committed; with a capacity (`max_entries`) it runs alone, since the count of live
/// entries decides each admission in turn.
pub async fn reserve(
    db: &Db,
    entry: &CapturedEntry,
    lease_seconds: u64,
    max_entries: Option<u64>,
) -> Result<Result<DbReservation, ReplayVerdict>, sqlx::Error> {
    let reservation = DbReservation {
        entry: entry.clone(),
        token: fluxora_webhooks_facade::redis::new_token(),
    };
    let verdict = match max_entries {
        Some(_) => {
            let admission = single::Admission::Reserve {
                token: &reservation.token,
                lease_seconds,
            };
            single::admit(&db.pool, entry, admission, max_entries).await?
        }
        None => {
            db.replay_group()
                .reserve(reservation.clone(), lease_seconds)
                .await?
        }
    };
    Ok(match verdict {
        ReplayVerdict::Fresh => Ok(reservation),
        verdict => Err(verdict),
    })
}

/// Commits a reservation at `now`: the delivery id is then kept for `retention_seconds`.
/// False when the reservation was lost (its lease had run out, or it was settled).
pub async fn commit(
    db: &Db,
    reservation: &DbReservation,
    now: u64,
    retention_seconds: u64,
) -> Result<bool, sqlx::Error> {
    db.replay_group()
        .commit(reservation.clone(), now, retention_seconds)
        .await
}

/// Releases a reservation: the delivery id is free again (its pair stays, for this id only).
/// False when the reservation was lost.
pub async fn release(db: &Db, reservation: &DbReservation, now: u64) -> Result<bool, sqlx::Error> {
    db.replay_group().release(reservation.clone(), now).await
}
