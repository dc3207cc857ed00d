//! The rules of a stream: what a create request (from the API or from a chain event's
//! `stream.created` payload) must hold, checked in one place so both routes agree.

use fluxora_webhooks::decimal::{self, DecimalError};
use serde_json::{Value, json};

use crate::error::AppError;
use crate::stellar::validate_account_id;
use crate::store::streams::{Stream, StreamStatus};
use crate::util::random_hex;

/// One invalid field.
#[derive(Debug, Clone)]
pub struct FieldError {
    /// The request field.
    pub field: &'static str,
    /// Stable code for clients.
    pub code: &'static str,
    /// Human-readable reason.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            code,
            message: message.into(),
        }
    }
}

/// The 400 answer for `errors` (a message plus one detail per field).
pub fn validation(errors: &[FieldError]) -> AppError {
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

/// A required Stellar account id field.
pub fn account(field: &'static str, value: Option<&Value>) -> Result<String, FieldError> {
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
pub fn amount(
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

/// Validates a create request into a new stream (every field problem at once).
pub fn new_stream(body: &Value, now_ms: i64) -> Result<Stream, AppError> {
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

/// The `status` field of a status change, or its field error.
pub fn requested_status(body: &Value) -> Result<StreamStatus, AppError> {
    match body.get("status") {
        Some(Value::String(name)) => StreamStatus::parse(name),
        _ => None,
    }
    .ok_or_else(|| validation(&[invalid_status()]))
}

/// The field error of a status outside the four.
pub fn invalid_status() -> FieldError {
    FieldError::new(
        "status",
        "INVALID_STATUS",
        "must be one of active, paused, completed, cancelled",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(end_time: Option<i64>) -> Value {
        json!({
            "sender": crate::stellar::encode_account_id(&[1; 32]),
            "recipient": crate::stellar::encode_account_id(&[2; 32]),
            "depositAmount": "100.50",
            "ratePerSecond": "0",
            "startTime": 1_000,
            "endTime": end_time,
        })
    }

    #[test]
    fn normalizes_amounts_and_orders_times() {
        let stream = new_stream(&body(Some(1_001)), 1_710_000_000_000).unwrap();
        assert_eq!(stream.deposit_amount, "100.5");
        assert!(new_stream(&body(Some(1_000)), 0).is_err());
        let chain = chain_stream("chain-1", &body(None), 0).unwrap();
        assert_eq!(chain.id, "chain-1");
        assert!(chain_stream("chain-1", &json!({}), 0).is_none());
    }
}
