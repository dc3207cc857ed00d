//! `GET /health`, `/health/live`, `/health/ready`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;
use crate::error::{ApiResponse, AppError};
use crate::util::now_rfc3339;

/// The last database check of `GET /health`: monitors poll it often, so the database is
/// asked at most once a second (and for at most a second).
#[derive(Debug, Default)]
pub struct DatabaseCheck(std::sync::Mutex<Option<(std::time::Instant, bool)>>);

impl DatabaseCheck {
    const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(1);

    async fn database_ok(&self, state: &AppState) -> bool {
        let cached = *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, ok)) = cached.filter(|(at, _)| at.elapsed() < Self::FRESH_FOR) {
            return ok;
        }
        let ping = tokio::time::timeout(Self::FRESH_FOR, state.db.ping()).await;
        let ok = matches!(ping, Ok(Ok(())));
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((std::time::Instant::now(), ok));
        ok
    }
}

/// Overall health: always 200 while the process serves; `status` is `degraded` when the
/// database does not answer.
pub async fn health(State(state): State<AppState>) -> Response {
    let database_ok = state.health.database_ok(&state).await;
    let indexer = crate::routes::indexer::health_check(&state).await;
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
