//! The application state and the router.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;

use axum::Router;
use axum::extract::FromRef;
use axum::middleware::{from_fn, from_fn_with_state};

use crate::auth::Keyring;
use crate::config::Config;
use crate::db::Db;
use crate::delivery::{CircuitBreakers, Resilience, SharedResilience};
use crate::metrics::Metrics;
use crate::middleware;
use crate::ratelimit::RateLimiter;
use crate::routes::meta;
use crate::routes::table::Route;
use crate::ws::StreamHub;

/// Everything a handler may need; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// The database.
    pub db: Db,
    /// Write, admin and indexer keys.
    pub keys: Arc<Keyring>,
    /// Wakes the delivery worker when outbox rows were written.
    pub outbox_wakeup: Arc<Notify>,
    /// The consumers' circuits and retry rates (shared through Redis when configured).
    pub resilience: Arc<Resilience>,
    /// The WebSocket feed's fan-out and connection counts.
    pub hub: Arc<StreamHub>,
    /// In-memory metrics.
    pub metrics: Arc<Metrics>,
    /// Rate-limit counters.
    pub rate_limiter: Arc<RateLimiter>,
    /// When the process started serving.
    pub started: Instant,
    /// What `GET /health` and `/metrics` report, measured at most once a second.
    pub health: Arc<crate::routes::health::HealthCache>,
}

impl AppState {
    /// State over an open database.
    pub fn new(config: Config, db: Db) -> Self {
        let metrics = Arc::new(Metrics::default());
        Self {
            keys: Arc::new(Keyring::new(
                &config.api_keys,
                &config.admin_api_keys,
                config.indexer.token.as_deref(),
                config.metrics_token.as_deref(),
            )),
            outbox_wakeup: Arc::default(),
            hub: Arc::default(),
            resilience: Arc::new(Resilience::new(
                CircuitBreakers::new(
                    config.delivery.breaker_threshold,
                    config.delivery.breaker_cooldown,
                ),
                config.redis_url.as_deref().and_then(|url| {
                    SharedResilience::new(
                        url,
                        config.delivery.breaker_threshold,
                        config.delivery.breaker_cooldown,
                        config.delivery.retry_rps,
                    )
                    .ok()
                }),
                config.delivery.retry_rps,
                metrics.clone(),
            )),
            config: Arc::new(config),
            db,
            metrics,
            rate_limiter: Arc::default(),
            started: Instant::now(),
            health: Arc::default(),
        }
    }
}

/// The parts of the state a handler, extractor or layer may take alone (`State<Db>`, ...).
macro_rules! state_parts {
    ($($part:ty => $field:ident),* $(,)?) => {$(
        impl FromRef<AppState> for $part {
            fn from_ref(state: &AppState) -> Self {
                state.$field.clone()
            }
        }
    )*};
}

state_parts! {
    Db => db,
    Arc<Config> => config,
    Arc<Metrics> => metrics,
    Arc<Keyring> => keys,
    Arc<StreamHub> => hub,
}

/// The router: every route of the [route table](crate::routes::table), each behind the gate
/// of its access and, where declared, the rate limits; then the cross-cutting layers
/// (outermost first: request id, security headers, access log + metrics).
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for route in Route::ALL {
        router = router.route(route.spec().path, route.method_router(&state));
    }
    router
        .fallback(meta::not_found)
        .method_not_allowed_fallback(meta::method_not_allowed)
        .layer(from_fn_with_state(
            state.metrics.clone(),
            middleware::observe,
        ))
        .layer(from_fn_with_state(
            state.config.cors.clone(),
            crate::cors::cors,
        ))
        .layer(from_fn(middleware::security_headers))
        .layer(from_fn(middleware::request_id))
        .with_state(state)
}
