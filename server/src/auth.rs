//! API-key authentication: `Authorization: Bearer <key>` or `X-Api-Key: <key>`, checked by
//! the [`gate`] each route's table entry puts in front of its handler.
//!
//! Keys are compared as SHA-256 digests in constant time (`subtle`), against every
//! configured key without stopping early, so neither the length nor the position of a
//! match shows in the timing.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::{Choice, ConstantTimeEq};

use crate::error::AppError;
use crate::store::api_keys;
use crate::util::{sha256, sha256_hex};

/// The configured write keys, as digests.
#[derive(Clone, Default)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
}

impl core::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ApiKeys({} configured)", self.digests.len())
    }
}

impl ApiKeys {
    /// Digests of `keys`.
    pub fn new(keys: &[String]) -> Self {
        Self {
            digests: keys.iter().map(|k| sha256(k.as_bytes())).collect(),
        }
    }

    /// True when `presented` is one of the keys (constant time in the key material).
    pub fn accepts(&self, presented: &str) -> bool {
        let digest = sha256(presented.as_bytes());
        let mut matched = Choice::from(0);
        for key in &self.digests {
            matched |= key.ct_eq(&digest);
        }
        bool::from(matched)
    }
}

/// The key a request presents, if any (`Authorization: Bearer` first, then `X-Api-Key`).
pub fn presented_api_key(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let mut parts = value.trim().splitn(2, ' ');
        if let (Some(scheme), Some(token)) = (parts.next(), parts.next())
            && scheme.eq_ignore_ascii_case("bearer")
            && !token.trim().is_empty()
        {
            return Some(token.trim().to_owned());
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Who may call a route: declared once per route in [`crate::routes::table`], enforced by
/// [`gate`] before the handler runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A write key (`API_KEYS`).
    Write,
    /// An admin key (`ADMIN_API_KEYS`).
    Admin,
    /// The indexer's worker token (`INDEXER_WORKER_TOKEN`); 503 when none is configured.
    Indexer,
    /// The metrics token (`METRICS_TOKEN`) when one is configured; public otherwise.
    Metrics,
}

/// Every key the server accepts, as digests: the part of the state [`gate`] needs.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    /// Write keys.
    pub write: ApiKeys,
    /// Admin keys.
    pub admin: ApiKeys,
    /// The indexer's worker token, when ingestion is configured.
    pub indexer: Option<ApiKeys>,
    /// The metrics token, when `/metrics` is protected.
    pub metrics: Option<ApiKeys>,
}

impl Keyring {
    /// Digests of the configured keys.
    pub fn new(
        write: &[String],
        admin: &[String],
        indexer: Option<&str>,
        metrics: Option<&str>,
    ) -> Self {
        let one = |token: &str| ApiKeys::new(&[token.to_owned()]);
        Self {
            write: ApiKeys::new(write),
            admin: ApiKeys::new(admin),
            indexer: indexer.map(one),
            metrics: metrics.map(one),
        }
    }

    /// The caller's principal under `access`, or the answer that refuses it.
    pub fn admit(&self, access: Access, headers: &HeaderMap) -> Result<Principal, AppError> {
        let (keys, missing, invalid) = match access {
            Access::Public => return Ok(Principal::anonymous()),
            Access::Write => (
                &self.write,
                "An API key is required: Authorization: Bearer <key> or X-Api-Key",
                "The API key is not valid",
            ),
            Access::Admin => (
                &self.admin,
                "An admin API key is required: Authorization: Bearer <key> or X-Api-Key",
                "The admin API key is not valid",
            ),
            Access::Metrics => match &self.metrics {
                Some(keys) => (
                    keys,
                    "The metrics token is required: Authorization: Bearer <token>",
                    "The metrics token is not valid",
                ),
                None => return Ok(Principal::anonymous()),
            },
            Access::Indexer => match &self.indexer {
                Some(keys) => (
                    keys,
                    "The indexer worker token is required: Authorization: Bearer <token>",
                    "The indexer worker token is not valid",
                ),
                None => {
                    return Err(AppError::Unavailable(
                        "Chain-event ingestion is not configured (INDEXER_WORKER_TOKEN)",
                    ));
                }
            },
        };
        let Some(key) = presented_api_key(headers) else {
            return Err(AppError::Unauthorized(missing));
        };
        if !keys.accepts(&key) {
            return Err(AppError::Forbidden(invalid));
        }
        Ok(Principal(sha256_hex(key.as_bytes())[..16].to_owned()))
    }
}

/// A stable, non-secret fingerprint of the key a request was admitted with (empty when the
/// route is public); the scope of idempotency keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal(pub String);

impl Principal {
    fn anonymous() -> Self {
        Self(String::new())
    }
}

/// The state of one route's [`gate`]: its declared access, the configured keys and the
/// database (keys created at run time).
#[derive(Clone, Debug)]
pub struct Gate {
    /// The route's access.
    pub access: Access,
    /// The keys.
    pub keys: Arc<Keyring>,
    /// Where runtime keys are.
    pub db: crate::db::Db,
}

/// A key the configuration does not hold may be a runtime key (`flx_...`) of the scope the
/// route needs; its id is then the principal. Anything else keeps the original refusal.
async fn admit_runtime(
    gate: &Gate,
    headers: &HeaderMap,
    refusal: AppError,
) -> Result<Principal, AppError> {
    let Some(key) = presented_api_key(headers).filter(|k| k.starts_with(api_keys::KEY_PREFIX))
    else {
        return Err(refusal);
    };
    match api_keys::lookup(&gate.db, &key).await? {
        api_keys::Lookup::Live { id, scope } if scope.grants(gate.access) => Ok(Principal(id)),
        _ => Err(refusal),
    }
}

/// Admits the request under the route's access (401 / 403, or 503 for an unconfigured
/// indexer), recording its [`Principal`] for the handler.
pub async fn gate(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let admitted = match gate.keys.admit(gate.access, request.headers()) {
        Err(refusal @ AppError::Forbidden(_))
            if matches!(gate.access, Access::Write | Access::Admin) =>
        {
            admit_runtime(&gate, request.headers(), refusal).await
        }
        other => other,
    };
    match admitted {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(refusal) => refusal.into_response(),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AppError;

    /// The principal [`gate`] admitted; a route whose table entry is public has none, which
    /// answers 401 rather than running a write unauthenticated.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .filter(|p| !p.0.is_empty())
            .cloned()
            .ok_or(AppError::Unauthorized(
                "An API key is required: Authorization: Bearer <key> or X-Api-Key",
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_configured_keys() {
        let keys = ApiKeys::new(&["k-0123456789abcdef".into(), "k-second-key-000000".into()]);
        assert!(keys.accepts("k-second-key-000000"));
        assert!(!keys.accepts("k-0123456789abcdeX"));
        assert!(!ApiKeys::default().accepts(""));
    }

    #[test]
    fn reads_bearer_and_x_api_key() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", "abc".parse().unwrap());
        assert_eq!(presented_api_key(&headers).as_deref(), Some("abc"));
        headers.insert("authorization", "Bearer xyz".parse().unwrap());
        assert_eq!(presented_api_key(&headers).as_deref(), Some("xyz"));
    }
}
