//! The JSON body extractor of the API: content type (415), size limit (413), syntax (400).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;

use crate::error::AppError;

/// The request body limit of the API: 256 KiB.
pub const MAX_REQUEST_BODY_BYTES: usize = 262_144;

/// A JSON request body: the parsed value and the raw bytes it came from.
#[derive(Debug, Clone)]
pub struct JsonBody {
    /// The parsed document.
    pub value: Value,
    /// The bytes as received (for idempotency fingerprints).
    pub raw: Bytes,
}

/// True for `application/json` and `application/*+json`, with any parameters.
pub fn is_json_content_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = AppError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !is_json_content_type(content_type) {
            return Err(AppError::UnsupportedMediaType);
        }
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > MAX_REQUEST_BODY_BYTES as u64) {
            return Err(AppError::PayloadTooLarge {
                limit: MAX_REQUEST_BODY_BYTES,
            });
        }
        let raw = Limited::new(request.into_body(), MAX_REQUEST_BODY_BYTES)
            .collect()
            .await
            .map_err(|err| {
                if err.downcast_ref::<LengthLimitError>().is_some() {
                    AppError::PayloadTooLarge {
                        limit: MAX_REQUEST_BODY_BYTES,
                    }
                } else {
                    AppError::validation("The request body could not be read")
                }
            })?
            .to_bytes();
        let value = serde_json::from_slice(&raw).map_err(|err| AppError::Validation {
            message: "Malformed JSON body".to_owned(),
            details: Some(serde_json::json!({
                "line": err.line(),
                "column": err.column(),
            })),
        })?;
        Ok(Self { value, raw })
    }
}

#[cfg(test)]
mod tests {
    use super::is_json_content_type;

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(is_json_content_type("application/merge-patch+json"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type(""));
    }
}
