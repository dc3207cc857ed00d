//! One replay-store operation in its own transaction: the reference the batched path
//! ([`super::group`]) answers like, and its fallback when a batch fails or a capacity is set.
//!
//! The delivery id is checked first (unique key), then the (timestamp, signature) pair
//! (unique key). A row that has expired is taken over; an unexpired one is never evicted.
//! Two instances racing on the same delivery serialize on the unique index: exactly one
//! records it.

use fluxora_webhooks::ReplayVerdict;
use sqlx::AnyPool;

use super::{CapturedEntry, DELIVERY_ID_TAKEOVER, DbReservation, as_i64, pair_takeover};

/// How a delivery is admitted: recorded at once, or reserved for a lease.
pub(super) enum Admission<'a> {
    Record { retention_seconds: u64 },
    Reserve { token: &'a str, lease_seconds: u64 },
}

/// The checks of both forms in one transaction, in the contract's order: the delivery id
/// (committed: duplicate; reserved and unexpired: in progress), the (timestamp, signature)
/// pair (refused unless expired, or left uncommitted by an earlier attempt of this same
/// delivery), then room. Nothing is written unless every check passed.
pub(super) async fn admit(
    pool: &AnyPool,
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
    let mut tx = pool.begin().await?;
    let insert_id = format!(
        "INSERT INTO webhook_seen_deliveries \
           (delivery_id, accepted_at_seconds, expires_at_seconds, reservation_token) \
         VALUES ($1, $2, $3, $4) {DELIVERY_ID_TAKEOVER}"
    );
    let recorded = sqlx::query(&insert_id)
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
    let insert_pair = format!(
        "INSERT INTO webhook_seen_signatures \
           (signed_at_seconds, signature, delivery_id, expires_at_seconds, committed) \
         VALUES ($1, $2, $3, $4, $5) {}",
        pair_takeover("$6")
    );
    let recorded = sqlx::query(&insert_pair)
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

/// Commits a reservation at `now`: the delivery id is then kept for `retention_seconds`.
/// False when the reservation was lost (its lease had run out, or it was settled).
pub(super) async fn commit(
    pool: &AnyPool,
    reservation: &DbReservation,
    now: u64,
    retention_seconds: u64,
) -> Result<bool, sqlx::Error> {
    let entry = &reservation.entry;
    let mut tx = pool.begin().await?;
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
pub(super) async fn release(
    pool: &AnyPool,
    reservation: &DbReservation,
    now: u64,
) -> Result<bool, sqlx::Error> {
    let released = sqlx::query(
        "DELETE FROM webhook_seen_deliveries \
         WHERE delivery_id = $1 AND reservation_token = $2 AND expires_at_seconds >= $3",
    )
    .bind(&reservation.entry.delivery_id)
    .bind(&reservation.token)
    .bind(as_i64(now))
    .execute(pool)
    .await?
    .rows_affected();
    Ok(released == 1)
}
