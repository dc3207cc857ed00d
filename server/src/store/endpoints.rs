//! Webhook endpoints: the receivers of outbound deliveries and their signing secrets.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::Db;
use crate::util::rfc3339_from_millis;

/// An endpoint as answered by the admin API (never with its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// `whe_` + 24 hex digits.
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Free text for operators.
    pub description: Option<String>,
    /// `enabled` or `disabled`.
    pub status: String,
    /// When the secret was last rotated, RFC 3339.
    pub secret_rotated_at: Option<String>,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

/// What the delivery worker needs to sign and send.
#[derive(Clone)]
pub struct Target {
    /// Where to POST.
    pub url: String,
    /// The signing secret.
    pub secret: String,
    /// Whether the endpoint is enabled.
    pub enabled: bool,
}

impl core::fmt::Debug for Target {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Target")
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "id, url, description, status, secret_rotated_at, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<Endpoint, sqlx::Error> {
    let rotated: Option<i64> = row.try_get("secret_rotated_at")?;
    Ok(Endpoint {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        description: row.try_get("description")?,
        status: row.try_get("status")?,
        secret_rotated_at: rotated.map(rfc3339_from_millis),
        created_at: rfc3339_from_millis(row.try_get("created_at")?),
        updated_at: rfc3339_from_millis(row.try_get("updated_at")?),
    })
}

/// Stores a new, enabled endpoint.
pub async fn create(
    db: &Db,
    id: &str,
    url: &str,
    description: Option<&str>,
    secret: &str,
    now_ms: i64,
) -> Result<Endpoint, sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, url, description, secret, secret_rotated_at, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, NULL, 'enabled', $5, $5)",
    )
    .bind(id)
    .bind(url)
    .bind(description)
    .bind(secret)
    .bind(now_ms)
    .execute(&db.pool)
    .await?;
    get(db, id).await?.ok_or_else(|| sqlx::Error::RowNotFound)
}

/// The endpoint `id`, if any.
pub async fn get(db: &Db, id: &str) -> Result<Option<Endpoint>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every endpoint, oldest first.
pub async fn list(db: &Db) -> Result<Vec<Endpoint>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints ORDER BY created_at, id"
    ))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Replaces the secret; `None` when there is no such endpoint.
pub async fn rotate_secret(
    db: &Db,
    id: &str,
    secret: &str,
    now_ms: i64,
) -> Result<Option<Endpoint>, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE webhook_endpoints SET secret = $1, secret_rotated_at = $2, updated_at = $2 WHERE id = $3",
    )
    .bind(secret)
    .bind(now_ms)
    .bind(id)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(None);
    }
    get(db, id).await
}

/// Enables or disables; `None` when there is no such endpoint.
pub async fn set_enabled(
    db: &Db,
    id: &str,
    enabled: bool,
    now_ms: i64,
) -> Result<Option<Endpoint>, sqlx::Error> {
    let changed =
        sqlx::query("UPDATE webhook_endpoints SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(if enabled { "enabled" } else { "disabled" })
            .bind(now_ms)
            .bind(id)
            .execute(&db.pool)
            .await?
            .rows_affected();
    if changed == 0 {
        return Ok(None);
    }
    get(db, id).await
}

/// Deletes the endpoint with its outbox rows and their attempts; false when absent.
pub async fn delete(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_outbox WHERE endpoint_id = $1)",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM webhook_outbox WHERE endpoint_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let removed = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(removed == 1)
}

/// The signing targets of every enabled endpoint, by id: one query per claim instead of one
/// per delivery.
pub async fn enabled_targets(db: &Db) -> Result<Vec<(String, Target)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT id, url, secret FROM webhook_endpoints WHERE status = 'enabled'")
            .fetch_all(&db.pool)
            .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("id")?,
                Target {
                    url: row.try_get("url")?,
                    secret: row.try_get("secret")?,
                    enabled: true,
                },
            ))
        })
        .collect()
}
