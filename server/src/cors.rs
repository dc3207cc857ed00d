//! CORS for browser clients: only origins in `CORS_ALLOWED_ORIGINS` get the CORS headers,
//! and a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered
//! from the route table: 204 with the path's methods for an allowed origin, 403
//! `CORS_ORIGIN_NOT_ALLOWED` otherwise, 404 for a path nothing serves.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::routes::table::Route;

/// Request headers a browser may send.
const ALLOWED_HEADERS: &str =
    "authorization, content-type, x-api-key, idempotency-key, x-request-id, x-correlation-id";
/// Response headers a browser may read.
const EXPOSED_HEADERS: &str = "x-request-id, x-correlation-id, x-ratelimit-limit, \
                               x-ratelimit-remaining, x-ratelimit-reset, retry-after";
/// How long a browser may cache a preflight answer, in seconds.
const MAX_AGE_SECONDS: &str = "600";

/// The allowed origins (`scheme://host[:port]`, compared exactly, case-insensitively).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorsPolicy {
    origins: Vec<String>,
}

impl CorsPolicy {
    /// Parses the comma-separated list; each entry must be an `http(s)` origin without path.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut origins = Vec::new();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let url = url::Url::parse(entry)
                .map_err(|_| format!("CORS_ALLOWED_ORIGINS: {entry:?} is not an origin"))?;
            let origin = url.origin().ascii_serialization();
            if !matches!(url.scheme(), "http" | "https")
                || !origin.eq_ignore_ascii_case(entry.trim_end_matches('/'))
            {
                return Err(format!(
                    "CORS_ALLOWED_ORIGINS: {entry:?} must be scheme://host[:port] with no path"
                ));
            }
            origins.push(origin.to_ascii_lowercase());
        }
        Ok(Self { origins })
    }

    fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }
}

/// The methods the table serves at `path`, or none.
fn methods_at(path: &str) -> Vec<&'static str> {
    Route::ALL
        .iter()
        .map(|route| route.spec())
        .filter(|spec| matches_template(spec.path, path))
        .map(|spec| match spec.verb.as_str() {
            "get" => "GET",
            "post" => "POST",
            "patch" => "PATCH",
            _ => "DELETE",
        })
        .collect()
}

/// `/api/streams/{id}` matches `/api/streams/str_1`.
fn matches_template(template: &str, path: &str) -> bool {
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.starts_with('{') && !b.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

fn origin_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Answers preflights and adds the CORS headers to answers for allowed origins.
pub async fn cors(State(policy): State<Arc<CorsPolicy>>, request: Request, next: Next) -> Response {
    let origin = origin_of(request.headers());
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let Some(origin) = origin else {
        return next.run(request).await;
    };
    let allowed = policy.allows(&origin);
    if preflight {
        let methods = methods_at(request.uri().path());
        if methods.is_empty() {
            return AppError::NotFound(format!("No route for {}", request.uri().path()))
                .into_response();
        }
        if !allowed {
            return AppError::Forbidden("This origin is not allowed (CORS_ALLOWED_ORIGINS)")
                .into_response();
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        add_origin(headers, &origin);
        if let Ok(value) = HeaderValue::from_str(&methods.join(", ")) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, value);
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE_SECONDS),
        );
        return response;
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if allowed {
        add_origin(headers, &origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
    response
}

fn add_origin(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_and_templates_match_segments() {
        let policy = CorsPolicy::parse(&["https://app.example.test".into()]).unwrap();
        assert!(policy.allows("https://APP.example.test"));
        assert!(!policy.allows("https://app.example.test.evil.test"));
        assert!(CorsPolicy::parse(&["https://x.test/path".into()]).is_err());
        assert!(CorsPolicy::parse(&["ftp://x.test".into()]).is_err());
        assert!(matches_template("/api/streams/{id}", "/api/streams/s1"));
        assert!(!matches_template("/api/streams/{id}", "/api/streams/"));
        assert!(!matches_template("/api/streams", "/api/streams/s1"));
        assert_eq!(methods_at("/api/streams"), vec!["POST", "GET"]);
    }
}
