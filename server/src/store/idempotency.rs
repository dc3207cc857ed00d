//! Idempotency-Key records: the first answer to a (caller, key), replayed for the same request.

use sqlx::{Any, Row, Transaction};

use crate::db::Db;
use crate::util::unix_millis;

/// A stored first answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// SHA-256 of the method, path and body of the first request.
    pub request_hash: String,
    /// Its HTTP status.
    pub status: u16,
    /// Its `data`, as JSON text.
    pub body: String,
}

/// Records a first answer inside `tx` (a unique violation means the key is taken).
pub async fn insert(
    tx: &mut Transaction<'static, Any>,
    principal: &str,
    key: &str,
    request_hash: &str,
    status: u16,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO idempotency_keys (principal, idempotency_key, request_hash, response_status, response_body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(principal)
    .bind(key)
    .bind(request_hash)
    .bind(i64::from(status))
    .bind(body)
    .bind(unix_millis())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The record of (`principal`, `key`), if any.
pub async fn find(
    db: &Db,
    principal: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT request_hash, response_status, response_body FROM idempotency_keys \
         WHERE principal = $1 AND idempotency_key = $2",
    )
    .bind(principal)
    .bind(key)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|row| {
        let status: i64 = row.try_get("response_status")?;
        Ok(IdempotencyRecord {
            request_hash: row.try_get("request_hash")?,
            status: u16::try_from(status).unwrap_or(500),
            body: row.try_get("response_body")?,
        })
    })
    .transpose()
}
