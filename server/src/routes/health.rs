//! `GET /health`, `/health/live`, `/health/ready`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::{ApiResponse, AppError};
use crate::util::now_rfc3339;

/// What `GET /health` and `/metrics` report of the dependencies, measured at most once a
/// second (and within a second): monitors poll often, and a poll must not become a query.
#[derive(Debug, Default)]
pub struct HealthCache(tokio::sync::Mutex<Option<(Instant, Snapshot)>>);

/// One measurement of the dependencies.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The database answered.
    pub database_ok: bool,
    /// The indexer's check (see [`crate::routes::indexer::health_check`]).
    pub indexer: Value,
}

impl HealthCache {
    const FRESH_FOR: Duration = Duration::from_secs(1);

    /// The last snapshot while it is fresh, else a new one (one caller measures, the
    /// others wait for its answer).
    pub async fn snapshot(&self, state: &AppState) -> Snapshot {
        let mut cached = self.0.lock().await;
        if let Some((_, snapshot)) = cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < Self::FRESH_FOR)
        {
            return snapshot.clone();
        }
        let measure = async {
            let database_ok = state.db.ping().await.is_ok();
            let indexer = if database_ok {
                crate::routes::indexer::health_check(state).await
            } else {
                json!({ "status": "unknown" })
            };
            Snapshot {
                database_ok,
                indexer,
            }
        };
        let snapshot = tokio::time::timeout(Self::FRESH_FOR, measure)
            .await
            .unwrap_or_else(|_| Snapshot {
                database_ok: false,
                indexer: json!({ "status": "unknown" }),
            });
        *cached = Some((Instant::now(), snapshot.clone()));
        snapshot
    }
}

impl HealthCache {
    /// Forgets the snapshot, after a write that changes what it reports.
    pub async fn invalidate(&self) {
        *self.0.lock().await = None;
    }
}

/// Overall health: always 200 while the process serves; `status` is `degraded` when the
/// database does not answer.
pub async fn health(State(state): State<AppState>) -> Response {
    let Snapshot {
        database_ok,
        indexer,
    } = state.health.snapshot(&state).await;
    ApiResponse::ok(json!({
        "status": if database_ok { "ok" } else { "degraded" },
        "service": "fluxora-server",
        "version": env!("CARGO_PKG_VERSION"),
        "timestamp": now_rfc3339(),
        "uptimeSeconds": state.started.elapsed().as_secs(),
        "checks": {
            "database": {
                "status": if database_ok { "ok" } else { "unreachable" },
                "backend": state.db.backend.name(),
            },
            "indexer": indexer,
            "websocket": { "status": "ok", "connections": state.hub.connections() },
        },
    }))
    .into_response()
}

/// Liveness: the process answers.
pub async fn live() -> Response {
    ApiResponse::ok(json!({ "status": "ok" })).into_response()
}

/// Readiness: 503 when the database is unreachable.
pub async fn ready(State(state): State<AppState>) -> Response {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(1), state.db.ping()).await;
    match ping {
        Ok(Ok(())) => {
            ApiResponse::ok(json!({ "status": "ready", "database": "ok" })).into_response()
        }
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness: database unreachable");
            AppError::Unavailable("Database is unreachable").into_response()
        }
        Err(_) => {
            tracing::warn!("readiness: the database did not answer within a second");
            AppError::Unavailable("Database is unreachable").into_response()
        }
    }
}
