//! API-key authentication of writes: `Authorization: Bearer <key>` or `X-Api-Key: <key>`.
//!
//! Keys are compared as SHA-256 digests in constant time (`subtle`), against every
//! configured key without stopping early, so neither the length nor the position of a
//! match shows in the timing.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use subtle::{Choice, ConstantTimeEq};

use crate::app::AppState;
use crate::error::AppError;
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

/// Proof that the request carries a valid API key; extracting it answers 401 / 403 otherwise.
#[derive(Debug, Clone)]
pub struct WriteAccess {
    /// A stable, non-secret fingerprint of the key (scope of idempotency keys).
    pub principal: String,
}

impl FromRequestParts<AppState> for WriteAccess {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(key) = presented_api_key(&parts.headers) else {
            return Err(AppError::Unauthorized(
                "An API key is required: Authorization: Bearer <key> or X-Api-Key",
            ));
        };
        if !state.api_keys.accepts(&key) {
            return Err(AppError::Forbidden("The API key is not valid"));
        }
        Ok(Self {
            principal: sha256_hex(key.as_bytes())[..16].to_owned(),
        })
    }
}

/// Proof that the request carries a valid admin API key (`ADMIN_API_KEYS`); 401 / 403 otherwise.
#[derive(Debug, Clone, Copy)]
pub struct AdminAccess;

impl FromRequestParts<AppState> for AdminAccess {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(key) = presented_api_key(&parts.headers) else {
            return Err(AppError::Unauthorized(
                "An admin API key is required: Authorization: Bearer <key> or X-Api-Key",
            ));
        };
        if !state.admin_keys.accepts(&key) {
            return Err(AppError::Forbidden("The admin API key is not valid"));
        }
        Ok(Self)
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
