//! `GET /health`, `/health/live`, `/health/ready`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;
use crate::error::{ApiResponse, AppError};
use crate::util::now_rfc3339;

/// Overall health: always 200 while the process serves; `status` is `degraded` when the
/// database does not answer.
pub async fn health(State(state): State<AppState>) -> Response {
    let database_ok = state.db.ping().await.is_ok();
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
