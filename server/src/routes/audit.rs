//! `GET /api/audit`: the trail of admin actions, and the one way handlers add to it.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::db::Db;
use crate::error::{ApiResponse, AppError};
use crate::store::audit::{self, Action};
use crate::util::unix_millis;

/// Largest page of the audit list.
pub const MAX_AUDIT_LIMIT: u32 = 500;

/// Records an admin action that has happened. The action stands either way: a failure to
/// record it is logged as an error, never answered as the action's failure.
pub async fn note(
    db: &Db,
    principal: &Principal,
    action: Action,
    target: Option<&str>,
    details: Option<Value>,
) {
    let recorded = audit::record(
        db,
        unix_millis(),
        &principal.0,
        action,
        target,
        details.as_ref(),
    )
    .await;
    if let Err(err) = recorded {
        tracing::error!(action = action.code(), error = %err, "cannot record the audit entry");
    }
}

/// `GET /api/audit` (admin; filters `action`, `limit`), newest first.
pub async fn list(
    State(db): State<Db>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(params) = query.map_err(|e| AppError::validation(format!("Bad query: {e}")))?;
    let invalid = |field: &str, code: &str, message: &str| AppError::Validation {
        message: format!("{field}: {message}"),
        details: Some(json!([{ "field": field, "code": code, "message": message }])),
    };
    let action = params.get("action").map(String::as_str);
    if action.is_some_and(|a| !ACTIONS.iter().any(|known| known.code() == a)) {
        return Err(invalid(
            "action",
            "INVALID_ACTION",
            "is not a recorded action",
        ));
    }
    let limit = match params.get("limit").map(|raw| raw.parse::<u32>()) {
        None => 50,
        Some(Ok(n)) if (1..=MAX_AUDIT_LIMIT).contains(&n) => n,
        Some(_) => {
            return Err(invalid(
                "limit",
                "INVALID_LIMIT",
                "must be an integer from 1 to 500",
            ));
        }
    };
    Ok(ApiResponse::ok(audit::list(&db, action, limit).await?).into_response())
}

/// Every action, for validation and the document's enum.
pub const ACTIONS: [Action; 11] = [
    Action::EndpointCreated,
    Action::EndpointDeleted,
    Action::EndpointSecretRotated,
    Action::EndpointDisabled,
    Action::EndpointEnabled,
    Action::DeadLetterReplayed,
    Action::IndexerStallCleared,
    Action::IndexerReorgCleared,
    Action::IndexerReplayStarted,
    Action::ApiKeyCreated,
    Action::ApiKeyRevoked,
];
