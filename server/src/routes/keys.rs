//! `/api/admin/api-keys`: create (the key is answered once), list (never a secret), revoke.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::db::Db;
use crate::error::{ApiResponse, AppError};
use crate::extract::JsonBody;
use crate::routes::audit;
use crate::store::api_keys::{self, Scope};
use crate::store::audit::Action;
use crate::util::unix_millis;

/// Longest key name.
pub const MAX_NAME_CHARS: usize = 100;

fn invalid(field: &str, code: &str, message: &str) -> AppError {
    AppError::Validation {
        message: format!("{field}: {message}"),
        details: Some(json!([{ "field": field, "code": code, "message": message }])),
    }
}

/// `POST /api/admin/api-keys` with `{ name, scope: "write" | "admin" }`: 201 with the key,
/// shown this once.
pub async fn create(
    State(db): State<Db>,
    principal: Principal,
    body: JsonBody,
) -> Result<Response, AppError> {
    let name = match body.value.get("name") {
        Some(Value::String(name)) if (1..=MAX_NAME_CHARS).contains(&name.chars().count()) => {
            name.clone()
        }
        _ => {
            return Err(invalid(
                "name",
                "INVALID_NAME",
                "must be a string of 1 to 100 characters",
            ));
        }
    };
    let Some(scope) = body
        .value
        .get("scope")
        .and_then(Value::as_str)
        .and_then(Scope::parse)
    else {
        return Err(invalid("scope", "INVALID_SCOPE", "must be write or admin"));
    };
    let created = api_keys::create(&db, &name, scope, &principal.0, unix_millis()).await?;
    tracing::info!(key_id = %created.key.id, scope = scope.as_str(), "api key created");
    audit::note(
        &db,
        &principal,
        Action::ApiKeyCreated,
        Some(&created.key.id),
        Some(json!({ "scope": scope.as_str(), "name": name })),
    )
    .await;
    let mut data = serde_json::to_value(&created.key).unwrap_or(Value::Null);
    data["key"] = json!(created.secret);
    Ok(ApiResponse::with_status(StatusCode::CREATED, data).into_response())
}

/// `GET /api/admin/api-keys`: every key, newest first, without secrets.
pub async fn list(State(db): State<Db>) -> Result<Response, AppError> {
    Ok(ApiResponse::ok(api_keys::list(&db).await?).into_response())
}

/// `DELETE /api/admin/api-keys/{id}`: revokes the key at once (404 when unknown).
pub async fn revoke(
    State(db): State<Db>,
    principal: Principal,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let Path(id) = path.map_err(|e| AppError::validation(format!("Bad path: {e}")))?;
    if !api_keys::revoke(&db, &id, unix_millis()).await? {
        return Err(AppError::NotFound("API key not found".to_owned()));
    }
    tracing::info!(key_id = %id, "api key revoked");
    audit::note(&db, &principal, Action::ApiKeyRevoked, Some(&id), None).await;
    Ok(ApiResponse::ok(json!({ "id": id, "revoked": true })).into_response())
}
