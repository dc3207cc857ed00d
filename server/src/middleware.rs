//! Cross-cutting layers: request ids, security headers, access logs and metrics.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::REQUEST_ID;
use crate::metrics::Metrics;
use crate::util::uuid_v4;

/// `x-request-id`.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// `x-correlation-id`.
pub const CORRELATION_ID_HEADER: &str = "x-correlation-id";

/// A client-supplied id is kept when it is 1 to 128 characters of `[A-Za-z0-9._:-]`.
pub fn well_formed_request_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Accepts a well-formed `x-request-id` (else `x-correlation-id`), or generates one; makes it
/// the current request id for everything inside; echoes both headers on the response.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let (id, correlation) = {
        let headers = request.headers();
        let supplied = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| well_formed_request_id(v))
                .map(str::to_owned)
        };
        let id = supplied(REQUEST_ID_HEADER)
            .or_else(|| supplied(CORRELATION_ID_HEADER))
            .unwrap_or_else(uuid_v4);
        let correlation = supplied(CORRELATION_ID_HEADER).unwrap_or_else(|| id.clone());
        (id, correlation)
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    if let Ok(value) = HeaderValue::from_str(&correlation) {
        headers.insert(CORRELATION_ID_HEADER, value);
    }
    response
}

/// Headers set on every response, errors included.
pub const SECURITY_HEADERS: [(&str, &str); 8] = [
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-resource-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
];

/// Adds the security headers and removes any server banner.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.remove(header::SERVER);
    headers.remove("x-powered-by");
    response
}

/// Logs one line per request (never bodies, signatures or secrets) and records metrics.
pub async fn observe(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics.record_request(method.as_str(), &route, status, elapsed);
    let request_id = response
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let request_id = if request_id.is_empty() {
        crate::error::current_request_id()
    } else {
        request_id
    };
    tracing::info!(
        request_id = %request_id,
        method = %method,
        route = %route,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        "request completed"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::well_formed_request_id;

    #[test]
    fn request_id_shape() {
        assert!(well_formed_request_id("req-1.a:b_c"));
        assert!(!well_formed_request_id(""));
        assert!(!well_formed_request_id("has space"));
        assert!(!well_formed_request_id(&"a".repeat(129)));
        assert!(!well_formed_request_id("<script>"));
    }
}
