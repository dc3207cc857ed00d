//! The application state and the router.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{delete, get, patch, post};

use crate::auth::ApiKeys;
use crate::config::Config;
use crate::db::Db;
use crate::delivery::CircuitBreakers;
use crate::metrics::Metrics;
use crate::ratelimit::{RateLimiter, rate_limit};
use crate::routes::{health, indexer, meta, receive, streams, webhooks};
use crate::ws::StreamHub;
use crate::{middleware, openapi};

/// Everything a handler may need; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// The database.
    pub db: Db,
    /// Write keys.
    pub api_keys: Arc<ApiKeys>,
    /// Admin keys.
    pub admin_keys: Arc<ApiKeys>,
    /// The indexer's worker token (as a one-key set).
    pub indexer_token: Arc<ApiKeys>,
    /// Wakes the delivery worker when outbox rows were written.
    pub outbox_wakeup: Arc<Notify>,
    /// Per-endpoint circuit breakers of this instance.
    pub breakers: Arc<CircuitBreakers>,
    /// The WebSocket feed's fan-out and connection counts.
    pub hub: Arc<StreamHub>,
    /// In-memory metrics.
    pub metrics: Arc<Metrics>,
    /// Rate-limit counters.
    pub rate_limiter: Arc<RateLimiter>,
    /// When the process started serving.
    pub started: Instant,
    /// The database check of `GET /health`, answered from memory for a second.
    pub health: Arc<crate::routes::health::DatabaseCheck>,
}

impl AppState {
    /// State over an open database.
    pub fn new(config: Config, db: Db) -> Self {
        Self {
            api_keys: Arc::new(ApiKeys::new(&config.api_keys)),
            admin_keys: Arc::new(ApiKeys::new(&config.admin_api_keys)),
            indexer_token: Arc::new(ApiKeys::new(
                &config.indexer.token.iter().cloned().collect::<Vec<_>>(),
            )),
            outbox_wakeup: Arc::default(),
            hub: Arc::default(),
            breakers: Arc::new(CircuitBreakers::new(
                config.delivery.breaker_threshold,
                config.delivery.breaker_cooldown,
            )),
            config: Arc::new(config),
            db,
            metrics: Arc::default(),
            rate_limiter: Arc::default(),
            started: Instant::now(),
            health: Arc::default(),
        }
    }
}

/// The router: every route of [`openapi::ROUTES`] plus the cross-cutting layers
/// (outermost first: request id, security headers, access log + metrics, rate limits).
pub fn app(state: AppState) -> Router {
    debug_assert!(!openapi::ROUTES.is_empty());
    Router::new()
        .route("/", get(meta::info))
        .route("/health", get(health::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(meta::metrics))
        .route("/openapi.json", get(meta::openapi))
        .route("/api/streams", post(streams::create).get(streams::list))
        .route(
            "/api/streams/{id}",
            get(streams::get).delete(streams::cancel),
        )
        .route("/api/streams/{id}/status", patch(streams::set_status))
        .route("/internal/webhooks/receive", post(receive::receive))
        .route("/ws/streams", get(crate::ws::upgrade))
        .route("/internal/indexer/batches", post(indexer::ingest))
        .route("/api/admin/indexer/clear-stall", post(indexer::clear_stall))
        .route("/api/admin/indexer/clear-reorg", post(indexer::clear_reorg))
        .route(
            "/api/admin/webhooks/endpoints",
            post(webhooks::create_endpoint).get(webhooks::list_endpoints),
        )
        .route(
            "/api/admin/webhooks/endpoints/{id}",
            delete(webhooks::delete_endpoint),
        )
        .route(
            "/api/admin/webhooks/endpoints/{id}/rotate-secret",
            post(webhooks::rotate_secret),
        )
        .route(
            "/api/admin/webhooks/endpoints/{id}/disable",
            post(webhooks::disable_endpoint),
        )
        .route(
            "/api/admin/webhooks/endpoints/{id}/enable",
            post(webhooks::enable_endpoint),
        )
        .route(
            "/api/admin/webhooks/deliveries",
            get(webhooks::list_deliveries),
        )
        .route(
            "/api/admin/webhooks/deliveries/{id}",
            get(webhooks::get_delivery),
        )
        .route(
            "/api/admin/webhooks/dead-letters",
            get(webhooks::list_dead_letters),
        )
        .route(
            "/api/admin/webhooks/dead-letters/{id}/replay",
            post(webhooks::replay_dead_letter),
        )
        .fallback(meta::not_found)
        .method_not_allowed_fallback(meta::method_not_allowed)
        .layer(from_fn_with_state(state.clone(), rate_limit))
        .layer(from_fn_with_state(state.clone(), middleware::observe))
        .layer(from_fn(middleware::security_headers))
        .layer(from_fn(middleware::request_id))
        .with_state(state)
}
