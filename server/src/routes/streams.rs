//! `/api/streams`: create (idempotent), list (cursor pages), get, cancel, status changes.

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fluxora_webhooks::decimal::{self, DecimalError};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::WriteAccess;
use crate::error::{ApiResponse, AppError};
use crate::extract::JsonBody;
use crate::stellar::validate_account_id;
use crate::store::streams::{self, Created, ListFilter, Stream, StreamStatus, Transition};
use crate::util::{random_hex, sha256_hex, unix_millis};

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size.
pub const MAX_LIMIT: u32 = 100;

/// One invalid field.
#[derive(Debug, Clone)]
struct FieldError {
    field: &'static str,
    code: &'static str,
    message: String,
}

impl FieldError {
    fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            code,
            message: message.into(),
        }
    }
}

fn validation(errors: &[FieldError]) -> AppError {
    let message = match errors {
        [only] => format!("{}: {}", only.field, only.message),
        _ => format!("{} fields are invalid", errors.len()),
    };
    AppError::Validation {
        message,
        details: Some(Value::Array(
            errors
                .iter()
                .map(|e| json!({ "field": e.field, "code": e.code, "message": e.message }))
                .collect(),
        )),
    }
}

fn account(field: &'static str, value: Option<&Value>) -> Result<String, FieldError> {
    match value {
        None | Some(Value::Null) => Err(FieldError::new(field, "REQUIRED", "is required")),
        Some(Value::String(id)) => validate_account_id(id)
            .map(|()| id.clone())
            .map_err(|e| FieldError::new(field, e.code(), e.message())),
        Some(_) => Err(FieldError::new(
            field,
            "INVALID_TYPE",
            "must be a Stellar account id string",
        )),
    }
}

/// An amount through the core's decimal module: normalized text, or the core's error code.
fn amount(
    field: &'static str,
    value: Option<&Value>,
    must_be_positive: bool,
) -> Result<String, FieldError> {
    let fail = |e: DecimalError| FieldError::new(field, e.code(), e.to_string());
    let text = match value {
        None | Some(Value::Null) => return Err(fail(DecimalError::EmptyValue)),
        Some(Value::String(text)) => text,
        Some(_) => return Err(fail(DecimalError::InvalidType)),
    };
    let parsed = decimal::parse_amount(text).map_err(fail)?;
    if parsed.is_negative() && !parsed.is_zero() {
        return Err(FieldError::new(
            field,
            "AMOUNT_NEGATIVE",
            "must not be negative",
        ));
    }
    if must_be_positive && parsed.is_zero() {
        return Err(FieldError::new(
            field,
            "AMOUNT_NOT_POSITIVE",
            "must be greater than 0",
        ));
    }
    // `-0` is zero: store it as `0`.
    Ok(parsed.as_str().trim_start_matches(['-', '+']).to_owned())
}

fn unix_time(field: &'static str, value: Option<&Value>) -> Result<Option<i64>, FieldError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| i64::try_from(v).ok())
            .map(Some)
            .ok_or_else(|| {
                FieldError::new(field, "INVALID_INTEGER", "must be a non-negative integer")
            }),
        Some(_) => Err(FieldError::new(
            field,
            "INVALID_INTEGER",
            "must be a non-negative integer",
        )),
    }
}

/// A stream created by a chain event: the create-stream fields of `payload` under the chain's
/// `stream_id` (`None` when a field is invalid).
pub fn chain_stream(stream_id: &str, payload: &Value, now_ms: i64) -> Option<Stream> {
    let mut stream = new_stream(payload, now_ms).ok()?;
    stream.id = stream_id.to_owned();
    Some(stream)
}

/// Validates a create request into a new stream.
fn new_stream(body: &Value, now_ms: i64) -> Result<Stream, AppError> {
    let Some(object) = body.as_object() else {
        return Err(AppError::validation("The body must be a JSON object"));
    };
    let mut errors = Vec::new();
    let mut take =
        |result: Result<String, FieldError>| result.map_err(|e| errors.push(e)).unwrap_or_default();
    let sender = take(account("sender", object.get("sender")));
    let recipient = take(account("recipient", object.get("recipient")));
    let deposit_amount = take(amount("depositAmount", object.get("depositAmount"), true));
    let rate_per_second = take(amount("ratePerSecond", object.get("ratePerSecond"), false));
    let start_time = unix_time("startTime", object.get("startTime"))
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let end_time = unix_time("endTime", object.get("endTime"))
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if !sender.is_empty() && sender == recipient {
        errors.push(FieldError::new(
            "recipient",
            "SAME_AS_SENDER",
            "must differ from sender",
        ));
    }
    let start_time = start_time.unwrap_or(now_ms / 1000);
    if let Some(end) = end_time
        && end <= start_time
    {
        errors.push(FieldError::new(
            "endTime",
            "END_BEFORE_START",
            "must be after startTime",
        ));
    }
    if !errors.is_empty() {
        return Err(validation(&errors));
    }
    Ok(Stream {
        id: format!("str_{}", random_hex(12)),
        sender,
        recipient,
        deposit_amount,
        rate_per_second,
        start_time,
        end_time,
        status: StreamStatus::Active,
        created_at: crate::util::rfc3339_from_millis(now_ms),
        updated_at: crate::util::rfc3339_from_millis(now_ms),
        created_ms: now_ms,
    })
}

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
    access: WriteAccess,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, AppError> {
    let key = idempotency_key(&headers)?;
    let stream = new_stream(&body.value, unix_millis())?;
    // Same request = same method, path and JSON document (whitespace and key order aside).
    let request_hash = sha256_hex(format!("POST /api/streams\n{}", body.value).as_bytes());
    let idempotency = key
        .as_deref()
        .map(|k| (access.principal.as_str(), k, request_hash.as_str()));
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
            None => errors.push(FieldError::new(
                "status",
                "INVALID_STATUS",
                "must be one of active, paused, completed, cancelled",
            )),
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
    _access: WriteAccess,
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
    _access: WriteAccess,
    path: Result<Path<String>, PathRejection>,
    body: JsonBody,
) -> Result<Response, AppError> {
    let id = stream_id(path)?;
    let to = match body.value.get("status") {
        Some(Value::String(name)) => StreamStatus::parse(name),
        _ => None,
    }
    .ok_or_else(|| {
        validation(&[FieldError::new(
            "status",
            "INVALID_STATUS",
            "must be one of active, paused, completed, cancelled",
        )])
    })?;
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
