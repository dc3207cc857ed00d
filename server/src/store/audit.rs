//! The audit trail of admin actions.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use crate::db::Db;
use crate::util::{random_hex, rfc3339_from_millis};

/// The admin actions recorded, by their codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A webhook endpoint was registered.
    EndpointCreated,
    /// A webhook endpoint was deleted.
    EndpointDeleted,
    /// An endpoint's signing secret was rotated.
    EndpointSecretRotated,
    /// An endpoint was disabled.
    EndpointDisabled,
    /// An endpoint was enabled.
    EndpointEnabled,
    /// A dead letter was put back in the outbox.
    DeadLetterReplayed,
    /// The latched indexer stall was cleared.
    IndexerStallCleared,
    /// The indexer's reorg flag was cleared.
    IndexerReorgCleared,
    /// A historical-event replay was started.
    IndexerReplayStarted,
    /// An API key was created.
    ApiKeyCreated,
    /// An API key was revoked.
    ApiKeyRevoked,
}

impl Action {
    /// The code stored and answered.
    pub fn code(self) -> &'static str {
        match self {
            Self::EndpointCreated => "WEBHOOK_ENDPOINT_CREATED",
            Self::EndpointDeleted => "WEBHOOK_ENDPOINT_DELETED",
            Self::EndpointSecretRotated => "WEBHOOK_ENDPOINT_SECRET_ROTATED",
            Self::EndpointDisabled => "WEBHOOK_ENDPOINT_DISABLED",
            Self::EndpointEnabled => "WEBHOOK_ENDPOINT_ENABLED",
            Self::DeadLetterReplayed => "DEAD_LETTER_REPLAYED",
            Self::IndexerStallCleared => "INDEXER_STALL_CLEARED",
            Self::IndexerReorgCleared => "INDEXER_REORG_CLEARED",
            Self::IndexerReplayStarted => "INDEXER_REPLAY_STARTED",
            Self::ApiKeyCreated => "API_KEY_CREATED",
            Self::ApiKeyRevoked => "API_KEY_REVOKED",
        }
    }
}

/// One recorded action, as `GET /api/audit` answers it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// `aud_` + 24 hex digits.
    pub id: String,
    /// When (RFC 3339).
    pub at: String,
    /// The fingerprint of the key that acted (never the key).
    pub actor: String,
    /// The action's code.
    pub action: String,
    /// What it acted on, if anything.
    pub target: Option<String>,
    /// Facts of the action (never secrets).
    pub details: Option<Value>,
}

/// Records `action` by `actor` on `target`.
pub async fn record(
    db: &Db,
    now_ms: i64,
    actor: &str,
    action: Action,
    target: Option<&str>,
    details: Option<&Value>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(format!("aud_{}", random_hex(12)))
    .bind(now_ms)
    .bind(actor)
    .bind(action.code())
    .bind(target)
    .bind(details.map(Value::to_string))
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The newest `limit` entries, newest first, optionally of one action.
pub async fn list(
    db: &Db,
    action: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let columns = "id, at, actor, action, target, details";
    let rows = match action {
        Some(action) => {
            sqlx::query(&format!(
                "SELECT {columns} FROM audit_log WHERE action = $1 ORDER BY at DESC, id DESC LIMIT {limit}"
            ))
            .bind(action)
            .fetch_all(&db.pool)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {columns} FROM audit_log ORDER BY at DESC, id DESC LIMIT {limit}"
            ))
            .fetch_all(&db.pool)
            .await?
        }
    };
    rows.iter()
        .map(|row| {
            let details: Option<String> = row.try_get(5)?;
            Ok(AuditEntry {
                id: row.try_get(0)?,
                at: rfc3339_from_millis(row.try_get(1)?),
                actor: row.try_get(2)?,
                action: row.try_get(3)?,
                target: row.try_get(4)?,
                details: details.and_then(|text| serde_json::from_str(&text).ok()),
            })
        })
        .collect()
}
