//! The one application error type and the response envelopes.
//!
//! Success: `{ "success": true, "data": ..., "meta": { "timestamp", "requestId", ... } }`.
//! Failure: `{ "success": false, "error": { "code", "message", "details"?, "requestId" } }`.
//! Client errors say what was wrong; internal errors answer a generic 500 and are logged
//! with the request id, never echoed.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::util::now_rfc3339;

tokio::task_local! {
    /// The id of the request being served (set by the request-id middleware).
    pub static REQUEST_ID: String;
}

/// The current request's id, or an empty string outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Every way a request can fail outside the webhook receiver.
#[derive(Debug)]
pub enum AppError {
    /// 400 `VALIDATION_ERROR`: the request is malformed or a field is invalid.
    Validation {
        /// What was wrong.
        message: String,
        /// Field-level errors, when any.
        details: Option<Value>,
    },
    /// 401 `UNAUTHORIZED`: no credentials.
    Unauthorized(&'static str),
    /// 403 `FORBIDDEN`: wrong credentials.
    Forbidden(&'static str),
    /// 404 `NOT_FOUND`.
    NotFound(String),
    /// 405 `METHOD_NOT_ALLOWED`.
    MethodNotAllowed,
    /// 409 with a specific code: the request conflicts with the current state.
    Conflict {
        /// `CONFLICT`, `INVALID_TRANSITION`, `IDEMPOTENCY_KEY_REUSED`, ...
        code: &'static str,
        /// What conflicted.
        message: String,
        /// Extra facts (current status, ...).
        details: Option<Value>,
    },
    /// 413 `PAYLOAD_TOO_LARGE`.
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415 `UNSUPPORTED_MEDIA_TYPE`.
    UnsupportedMediaType,
    /// 429 `RATE_LIMIT_EXCEEDED`.
    RateLimited {
        /// Seconds until the window resets.
        retry_after: u64,
    },
    /// 503 `SERVICE_UNAVAILABLE`.
    Unavailable(&'static str),
    /// 503 `SERVICE_UNAVAILABLE` from readiness, with its reasons as `details` (a list).
    NotReady(Value),
    /// 500 `INTERNAL_ERROR`: logged, never echoed.
    Internal(String),
}

impl AppError {
    /// A 400 with a message only.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
            details: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The envelope's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "VALIDATION_ERROR",
            Self::Unauthorized(_) => "UNAUTHORIZED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict { code, .. } => code,
            Self::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::RateLimited { .. } => "RATE_LIMIT_EXCEEDED",
            Self::Unavailable(_) | Self::NotReady(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Validation { message, .. } | Self::Conflict { message, .. } => message.clone(),
            Self::NotFound(what) => what.clone(),
            Self::Unauthorized(m) | Self::Forbidden(m) | Self::Unavailable(m) => (*m).to_owned(),
            Self::MethodNotAllowed => "Method not allowed on this route".to_owned(),
            Self::PayloadTooLarge { limit } => format!("Request body exceeds {limit} bytes"),
            Self::UnsupportedMediaType => "Content-Type must be application/json".to_owned(),
            Self::RateLimited { retry_after } => {
                format!("Too many requests; retry in {retry_after} seconds")
            }
            Self::NotReady(_) => "Not ready; the details say why".to_owned(),
            Self::Internal(_) => "Internal server error".to_owned(),
        }
    }

    fn details(&self) -> Option<&Value> {
        match self {
            Self::Validation { details, .. } | Self::Conflict { details, .. } => details.as_ref(),
            Self::NotReady(reasons) => Some(reasons),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return Self::Unavailable("The database is unavailable; retry later");
        }
        Self::Internal(format!("database: {err}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let request_id = current_request_id();
        if let Self::Internal(cause) = &self {
            tracing::error!(request_id = %request_id, error = %cause, "internal error");
        }
        let mut error = Map::new();
        error.insert("code".into(), self.code().into());
        error.insert("message".into(), self.message().into());
        if let Some(details) = self.details() {
            error.insert("details".into(), details.clone());
        }
        error.insert("requestId".into(), request_id.into());
        let body = json!({ "success": false, "error": error });
        let mut response = (self.status(), axum::Json(body)).into_response();
        if let Self::RateLimited { retry_after } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if let Self::Unavailable(_) | Self::NotReady(_) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// A successful answer in the envelope.
#[derive(Debug)]
pub struct ApiResponse<T> {
    status: StatusCode,
    data: T,
    meta: Map<String, Value>,
    headers: Vec<(&'static str, &'static str)>,
}

impl<T: Serialize> ApiResponse<T> {
    /// 200 with `data`.
    pub fn ok(data: T) -> Self {
        Self::with_status(StatusCode::OK, data)
    }

    /// `status` with `data`.
    pub fn with_status(status: StatusCode, data: T) -> Self {
        Self {
            status,
            data,
            meta: Map::new(),
            headers: Vec::new(),
        }
    }

    /// Adds a field to `meta`.
    pub fn meta(mut self, key: &str, value: Value) -> Self {
        self.meta.insert(key.to_owned(), value);
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl<T: Serialize> IntoResponse for ApiResponse<T> {
    fn into_response(self) -> Response {
        let mut meta = self.meta;
        meta.insert("timestamp".into(), now_rfc3339().into());
        meta.insert("requestId".into(), current_request_id().into());
        let body = json!({ "success": true, "data": self.data, "meta": meta });
        let mut response = (self.status, axum::Json(body)).into_response();
        for (name, value) in self.headers {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }
}
