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

/// Checks and records `entry`: `Fresh` when recorded, otherwise why not.
pub async fn check_and_record(
    db: &Db,
    entry: &CapturedEntry,
    retention_seconds: u64,
    max_entries: Option<u64>,
) -> Result<ReplayVerdict, sqlx::Error> {
    let now = as_i64(entry.now);
    let mut tx = db.pool.begin().await?;
    let recorded = sqlx::query(
        "INSERT INTO webhook_seen_deliveries (delivery_id, accepted_at_seconds, expires_at_seconds) \
         VALUES ($1, $2, $3) \
         ON CONFLICT (delivery_id) DO UPDATE SET \
           accepted_at_seconds = excluded.accepted_at_seconds, \
           expires_at_seconds = excluded.expires_at_seconds \
         WHERE webhook_seen_deliveries.expires_at_seconds < $2",
    )
    .bind(&entry.delivery_id)
    .bind(now)
    .bind(as_i64(entry.now.saturating_add(retention_seconds)))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if recorded == 0 {
        tx.rollback().await?;
        return Ok(ReplayVerdict::DuplicateDelivery);
    }
    let recorded = sqlx::query(
        "INSERT INTO webhook_seen_signatures (signed_at_seconds, signature, delivery_id, expires_at_seconds) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (signed_at_seconds, signature) DO UPDATE SET \
           delivery_id = excluded.delivery_id, \
           expires_at_seconds = excluded.expires_at_seconds \
         WHERE webhook_seen_signatures.expires_at_seconds < $5",
    )
    .bind(as_i64(entry.timestamp))
    .bind(&entry.signature)
    .bind(&entry.delivery_id)
    .bind(as_i64(entry.signature_expires_at))
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if recorded == 0 {
        tx.rollback().await?;
        return Ok(ReplayVerdict::ReplayedSignature);
    }
    if let Some(max) = max_entries {
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhook_seen_deliveries WHERE expires_at_seconds >= $1",
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
