//! The receiver's replay store in the database, shared by every instance.
//!
//! The receiver runs every check up to the replay step (the facade's [`Accepted`]); this
//! module then checks and records the delivery in one transaction: the delivery id first (unique key), then the
//! (timestamp, signature) pair (unique key). A row that has expired is taken over; an
//! unexpired one is never evicted. Two instances racing on the same delivery serialize on
//! the unique index: exactly one records it.

use fluxora_webhooks::ReplayVerdict;
use fluxora_webhooks_facade::Accepted;

use crate::db::Db;
use crate::util::bytes_to_key;

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

/// How a delivery is admitted: recorded at once, or reserved for a lease.
enum Admission<'a> {
    Record { retention_seconds: u64 },
    Reserve { token: &'a str, lease_seconds: u64 },
}

/// The checks of both forms in one transaction, in the contract's order: the delivery id
/// (committed: duplicate; reserved and unexpired: in progress), the (timestamp, signature)
/// pair (refused unless expired, or left uncommitted by an earlier attempt of this same
/// delivery), then room. Nothing is written unless every check passed.
async fn admit(
    db: &Db,
    entry: &CapturedEntry,
    admission: Admission<'_>,
    max_entries: Option<u64>,
) -> Result<ReplayVerdict, sqlx::Error> {
    let now = as_i64(entry.now);
    let (token, hold_until, committed) = match admission {
        Admission::Record { retention_seconds } => {
            (None, entry.now.saturating_add(retention_seconds), 1)
        }
        Admission::Reserve {
            token,
            lease_seconds,
        } => (Some(token), entry.now.saturating_add(lease_seconds), 0),
    };
    let mut tx = db.pool.begin().await?;
    let recorded = sqlx::query(
        "INSERT INTO webhook_seen_deliveries \
           (delivery_id, accepted_at_seconds, expires_at_seconds, reservation_token) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (delivery_id) DO UPDATE SET \
           accepted_at_seconds = excluded.accepted_at_seconds, \
           expires_at_seconds = excluded.expires_at_seconds, \
           reservation_token = excluded.reservation_token \
         WHERE webhook_seen_deliveries.expires_at_seconds < $2",
    )
    .bind(&entry.delivery_id)
    .bind(now)
    .bind(as_i64(hold_until))
    .bind(token)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if recorded == 0 {
        let holder: Option<String> = sqlx::query_scalar(
            "SELECT reservation_token FROM webhook_seen_deliveries WHERE delivery_id = $1",
        )
        .bind(&entry.delivery_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.rollback().await?;
        return Ok(match holder {
            Some(_) => ReplayVerdict::InProgress,
            None => ReplayVerdict::DuplicateDelivery,
        });
    }
    let recorded = sqlx::query(
        "INSERT INTO webhook_seen_signatures \
           (signed_at_seconds, signature, delivery_id, expires_at_seconds, committed) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (signed_at_seconds, signature) DO UPDATE SET \
           delivery_id = excluded.delivery_id, \
           expires_at_seconds = excluded.expires_at_seconds, \
           committed = excluded.committed \
         WHERE webhook_seen_signatures.expires_at_seconds < $6 \
            OR (webhook_seen_signatures.committed = 0 \
                AND webhook_seen_signatures.delivery_id = excluded.delivery_id)",
    )
    .bind(as_i64(entry.timestamp))
    .bind(&entry.signature)
    .bind(&entry.delivery_id)
    .bind(as_i64(entry.signature_expires_at))
    .bind(committed)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if recorded == 0 {
        tx.rollback().await?;
        return Ok(ReplayVerdict::ReplayedSignature);
    }
    if let Some(max) = max_entries {
        // Every live attempt counts, as in the core's stores: each live pair, plus each live
        // delivery id whose own pair has already expired.
        let live: i64 = sqlx::query_scalar(
            "SELECT \
               (SELECT COUNT(*) FROM webhook_seen_signatures WHERE expires_at_seconds >= $1) + \
               (SELECT COUNT(*) FROM webhook_seen_deliveries d WHERE d.expires_at_seconds >= $1 \
                  AND NOT EXISTS (SELECT 1 FROM webhook_seen_signatures s \
                    WHERE s.delivery_id = d.delivery_id AND s.expires_at_seconds >= $1 \
                      AND (s.committed = 1) = (d.reservation_token IS NULL)))",
        )
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if u64::try_from(live).unwrap_or(0) > max {
            tx.rollback().await?;
            return Ok(ReplayVerdict::Full);
        }
    }
    tx.commit().await?;
    Ok(ReplayVerdict::Fresh)
}

/// Checks and records `entry` in one step: `Fresh` when recorded, otherwise why not.
pub async fn check_and_record(
    db: &Db,
    entry: &CapturedEntry,
    retention_seconds: u64,
    max_entries: Option<u64>,
) -> Result<ReplayVerdict, sqlx::Error> {
    admit(
        db,
        entry,
        Admission::Record { retention_seconds },
        max_entries,
    )
    .await
}

/// Reserves `entry` for `lease_seconds` under a fresh token: `Ok(reservation)` when
/// reserved, otherwise the verdict (`InProgress` while another attempt holds it).
pub async fn reserve(
    db: &Db,
    entry: &CapturedEntry,
    lease_seconds: u64,
    max_entries: Option<u64>,
) -> Result<Result<DbReservation, ReplayVerdict>, sqlx::Error> {
    let token = fluxora_webhooks_facade::redis::new_token();
    let admission = Admission::Reserve {
        token: &token,
        lease_seconds,
    };
    Ok(match admit(db, entry, admission, max_entries).await? {
        ReplayVerdict::Fresh => Ok(DbReservation {
            entry: entry.clone(),
            token,
        }),
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
    let entry = &reservation.entry;
    let mut tx = db.pool.begin().await?;
    let committed = sqlx::query(
        "UPDATE webhook_seen_deliveries \
         SET reservation_token = NULL, accepted_at_seconds = $3, expires_at_seconds = $4 \
         WHERE delivery_id = $1 AND reservation_token = $2 AND expires_at_seconds >= $3",
    )
    .bind(&entry.delivery_id)
    .bind(&reservation.token)
    .bind(as_i64(now))
    .bind(as_i64(now.saturating_add(retention_seconds)))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if committed == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query(
        "UPDATE webhook_seen_signatures SET committed = 1 \
         WHERE signed_at_seconds = $1 AND signature = $2 AND delivery_id = $3",
    )
    .bind(as_i64(entry.timestamp))
    .bind(&entry.signature)
    .bind(&entry.delivery_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Releases a reservation: the delivery id is free again (its pair stays, for this id only).
/// False when the reservation was lost.
pub async fn release(db: &Db, reservation: &DbReservation, now: u64) -> Result<bool, sqlx::Error> {
    let released = sqlx::query(
        "DELETE FROM webhook_seen_deliveries \
         WHERE delivery_id = $1 AND reservation_token = $2 AND expires_at_seconds >= $3",
    )
    .bind(&reservation.entry.delivery_id)
    .bind(&reservation.token)
    .bind(as_i64(now))
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(released == 1)
}
