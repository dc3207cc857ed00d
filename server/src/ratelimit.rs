//! Fixed-window rate limits per client IP and per API key, with `X-RateLimit-*` headers.
//!
//! Counters live in this process: with several instances each enforces its own share.
//! The route table says which routes count: not health, metrics, the signed webhook receiver
//! or the indexer's batches (the receiver authenticates every request by signature, the
//! indexer by its token, and throttling a sender only makes it retry).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::auth::presented_api_key;
use crate::config::RateLimits;
use crate::error::AppError;
use crate::util::sha256_hex;

const WINDOW: Duration = Duration::from_secs(60);
const MAX_TRACKED: usize = 100_000;

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// The verdict for one request against one limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in this window.
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset_after: u64,
}

/// Counters of the current window per key.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, Window>>,
}

impl core::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RateLimiter")
    }
}

impl RateLimiter {
    /// Counts one request for `key` against `limit` per minute.
    pub fn check(&self, key: &str, limit: u32, now: Instant) -> Decision {
        let Ok(mut windows) = self.windows.lock() else {
            return Decision {
                allowed: true,
                limit,
                remaining: limit,
                reset_after: WINDOW.as_secs(),
            };
        };
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, w| now.duration_since(w.started) < WINDOW);
        }
        let window = windows.entry(key.to_owned()).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= WINDOW {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        let reset_after = WINDOW
            .saturating_sub(now.duration_since(window.started))
            .as_secs()
            .max(1);
        if window.count >= limit {
            return Decision {
                allowed: false,
                limit,
                remaining: 0,
                reset_after,
            };
        }
        window.count += 1;
        Decision {
            allowed: true,
            limit,
            remaining: limit - window.count,
            reset_after,
        }
    }
}

fn client_ip(request: &Request, trust_proxy: bool) -> String {
    client_ip_of(
        request.headers(),
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0),
        trust_proxy,
    )
}

/// The client IP: the first `X-Forwarded-For` hop behind a trusted proxy, else the socket's.
pub fn client_ip_of(
    headers: &axum::http::HeaderMap,
    peer: Option<SocketAddr>,
    trust_proxy: bool,
) -> String {
    if trust_proxy
        && let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return first.to_owned();
    }
    peer.map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string())
}

fn set_headers(response: &mut Response, decision: Decision) {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", u64::from(decision.limit)),
        ("x-ratelimit-remaining", u64::from(decision.remaining)),
        ("x-ratelimit-reset", decision.reset_after),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(name, value);
        }
    }
}

/// The part of the state the rate limits need.
#[derive(Clone, Debug)]
pub struct Throttle {
    /// The configured limits.
    pub limits: RateLimits,
    /// The counters.
    pub limiter: Arc<RateLimiter>,
}

impl Throttle {
    /// The limits and counters of `state`.
    pub fn from_state(state: &AppState) -> Self {
        Self {
            limits: state.config.rate_limits,
            limiter: state.rate_limiter.clone(),
        }
    }
}

/// Applies the per-IP and per-API-key limits to the routes the table declares throttled;
/// answers 429 with `Retry-After` when exceeded.
pub async fn rate_limit(
    State(throttle): State<Throttle>,
    request: Request,
    next: Next,
) -> Response {
    let limits = throttle.limits;
    let now = Instant::now();
    let mut tightest: Option<Decision> = None;
    if limits.per_ip > 0 {
        let ip = client_ip(&request, limits.trust_proxy);
        let decision = throttle
            .limiter
            .check(&format!("ip:{ip}"), limits.per_ip, now);
        tightest = Some(decision);
    }
    if tightest.is_none_or(|d| d.allowed)
        && limits.per_api_key > 0
        && let Some(key) = presented_api_key(request.headers())
    {
        let fingerprint = sha256_hex(key.as_bytes());
        let decision =
            throttle
                .limiter
                .check(&format!("key:{fingerprint}"), limits.per_api_key, now);
        if tightest.is_none_or(|d| !decision.allowed || decision.remaining < d.remaining) {
            tightest = Some(decision);
        }
    }
    match tightest {
        None => next.run(request).await,
        Some(decision) if !decision.allowed => {
            let mut response = AppError::RateLimited {
                retry_after: decision.reset_after,
            }
            .into_response();
            set_headers(&mut response, decision);
            response
        }
        Some(decision) => {
            let mut response = next.run(request).await;
            set_headers(&mut response, decision);
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_window_and_resets() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        assert_eq!(limiter.check("a", 2, t0).remaining, 1);
        assert_eq!(limiter.check("a", 2, t0).remaining, 0);
        assert!(!limiter.check("a", 2, t0).allowed);
        assert!(limiter.check("b", 2, t0).allowed);
        assert!(limiter.check("a", 2, t0 + WINDOW).allowed);
    }
}
