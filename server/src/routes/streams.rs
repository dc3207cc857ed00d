//! `/api/streams`: create (idempotent), list (cursor pages), get, cancel, status changes.

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Principal;
use crate::domain::stream::{self as stream_rules, FieldError, new_stream, validation};
use crate::error::{ApiResponse, AppError};
use crate::extract::JsonBody;
use crate::stellar::validate_account_id;
use crate::store::streams::{self, Created, ListFilter, Stream, StreamStatus, Transition};
use crate::util::{sha256_hex, unix_millis};

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size.
pub const MAX_LIMIT: u32 = 100;

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(key.to_owned()))
        }
        _ => Err(AppError::Validation {
            message: "Idempotency-Key must be 1 to 255 visible ASCII characters".to_owned(),
            details: Some(
                json!([{ "field": "Idempotency-Key", "code": "INVALID_IDEMPOTENCY_KEY" }]),
            ),
        }),
    }
}

/// `POST /api/streams`.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, AppError> {
    let key = idempotency_key(&headers)?;
    let stream = new_stream(&body.value, unix_millis())?;
    // Same request = same method, path and JSON document (whitespace and key order aside).
    let request_hash = sha256_hex(format!("POST /api/streams\n{}", body.value).as_bytes());
    let idempotency = key
        .as_deref()
        .map(|k| (principal.0.as_str(), k, request_hash.as_str()));
    match streams::create(&state.db, &stream, idempotency).await? {
        Created::New(stream, event) => {
            tracing::info!(stream_id = %stream.id, "stream created");
            state.outbox_wakeup.notify_one();
            state.hub.publish(&stream.id, &event);
            Ok(ApiResponse::with_status(StatusCode::CREATED, *stream).into_response())
        }
        Created::Replayed(record) => {
            let data: Value = serde_json::from_str(&record.body).unwrap_or(Value::Null);
            let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::CREATED);
            Ok(ApiResponse::with_status(status, data)
                .header("idempotent-replayed", "true")
                .into_response())
        }
        Created::KeyReused => Err(AppError::Conflict {
            code: "IDEMPOTENCY_KEY_REUSED",
            message: "This Idempotency-Key was already used with a different request".to_owned(),
            details: None,
        }),
    }
}

fn encode_cursor(stream: &Stream) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", stream.created_ms, stream.id))
}

fn decode_cursor(cursor: &str) -> Option<(i64, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (created, id) = text.split_once(':')?;
    let created = created.parse().ok()?;
    (!id.is_empty() && id.len() <= 64).then(|| (created, id.to_owned()))
}

/// `GET /api/streams`.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(params) = query.map_err(|e| AppError::validation(format!("Bad query: {e}")))?;
    let mut errors = Vec::new();
    let mut filter = ListFilter::default();
    if let Some(status) = params.get("status") {
        match StreamStatus::parse(status) {
            Some(s) => filter.status = Some(s),
            None => errors.push(stream_rules::invalid_status()),
        }
    }
    for (field, slot) in [
        ("sender", &mut filter.sender),
        ("recipient", &mut filter.recipient),
    ] {
        if let Some(value) = params.get(field) {
            match validate_account_id(value) {
                Ok(()) => *slot = Some(value.clone()),
                Err(e) => errors.push(FieldError::new(field, e.code(), e.message())),
            }
        }
    }
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "limit",
                    "INVALID_LIMIT",
                    format!("must be an integer from 1 to {MAX_LIMIT}"),
                ));
                DEFAULT_LIMIT
            }
        },
    };
    let after = match params.get("cursor") {
        None => None,
        Some(raw) => match decode_cursor(raw) {
            Some(position) => Some(position),
            None => {
                errors.push(FieldError::new(
                    "cursor",
                    "INVALID_CURSOR",
                    "is not a valid cursor",
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(validation(&errors));
    }
    tracing::info!(
        request_id = %crate::error::current_request_id(),
        status = filter.status.map(StreamStatus::as_str),
        sender = filter.sender.as_deref(),
        recipient = filter.recipient.as_deref(),
        limit,
        cursor = after.is_some(),
        "listing streams"
    );
    let mut page = streams::list(&state.db, &filter, after, limit + 1).await?;
    let has_more = page.len() > limit as usize;
    page.truncate(limit as usize);
    let next_cursor = if has_more {
        page.last().map(encode_cursor)
    } else {
        None
    };
    Ok(ApiResponse::ok(page)
        .meta(
            "pagination",
            json!({ "limit": limit, "hasMore": has_more, "nextCursor": next_cursor }),
        )
        .into_response())
}

fn stream_id(path: Result<Path<String>, PathRejection>) -> Result<String, AppError> {
    path.map(|Path(id)| id)
        .map_err(|e| AppError::validation(format!("Bad path: {e}")))
}

fn not_found() -> AppError {
    AppError::NotFound("Stream not found".to_owned())
}

/// `GET /api/streams/{id}`.
pub async fn get(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let id = stream_id(path)?;
    match streams::get(&state.db, &id).await? {
        Some(stream) => Ok(ApiResponse::ok(stream).into_response()),
        None => Err(not_found()),
    }
}

fn transition_answer(
    state: &AppState,
    result: Transition,
    to: StreamStatus,
) -> Result<Response, AppError> {
    match result {
        Transition::Changed(stream, event) => {
            state.outbox_wakeup.notify_one();
            state.hub.publish(&stream.id, &event);
            tracing::info!(stream_id = %stream.id, status = to.as_str(), "stream status changed");
            Ok(ApiResponse::ok(*stream).into_response())
        }
        Transition::NotFound => Err(not_found()),
        Transition::NotAllowed(from) => Err(AppError::Conflict {
            code: if to == StreamStatus::Cancelled {
                "STREAM_NOT_CANCELLABLE"
            } else {
                "INVALID_TRANSITION"
            },
            message: format!(
                "A stream that is {} cannot become {}",
                from.as_str(),
                to.as_str()
            ),
            details: Some(json!({
                "currentStatus": from.as_str(),
                "requestedStatus": to.as_str(),
                "allowed": from.allowed_next().iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            })),
        }),
    }
}

/// `DELETE /api/streams/{id}`: cancels (409 when already cancelled or completed).
pub async fn cancel(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let id = stream_id(path)?;
    let to = StreamStatus::Cancelled;
    transition_answer(
        &state,
        streams::transition(&state.db, &id, to, unix_millis()).await?,
        to,
    )
}

/// `PATCH /api/streams/{id}/status` with `{ "status": ... }`.
pub async fn set_status(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: JsonBody,
) -> Result<Response, AppError> {
    let id = stream_id(path)?;
    let to = stream_rules::requested_status(&body.value)?;
    transition_answer(
        &state,
        streams::transition(&state.db, &id, to, unix_millis()).await?,
        to,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let stream = new_stream(
            &json!({
                "sender": crate::stellar::encode_account_id(&[1; 32]),
                "recipient": crate::stellar::encode_account_id(&[2; 32]),
                "depositAmount": "100.50",
                "ratePerSecond": "0",
            }),
            1_710_000_000_000,
        )
        .unwrap();
        assert_eq!(stream.deposit_amount, "100.5");
        let cursor = encode_cursor(&stream);
        assert_eq!(decode_cursor(&cursor), Some((stream.created_ms, stream.id)));
        assert_eq!(decode_cursor("!!"), None);
    }
}
