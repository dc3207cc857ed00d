//! `GET /`, `GET /openapi.json`, `GET /metrics`, and the fallbacks for unknown routes.

use axum::extract::{OriginalUri, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;
use crate::error::{ApiResponse, AppError};
use crate::routes::table::Route;

/// API info.
pub async fn info() -> Response {
    ApiResponse::ok(json!({
        "name": "Fluxora API",
        "service": "fluxora-server",
        "version": env!("CARGO_PKG_VERSION"),
        "docs": "/openapi.json",
        "health": "/health",
        "endpoints": Route::ALL
            .iter()
            .map(|r| format!("{} {}", r.spec().verb.as_str().to_uppercase(), r.spec().path))
            .collect::<Vec<_>>(),
    }))
    .into_response()
}

/// The OpenAPI document.
pub async fn openapi() -> Response {
    axum::Json(crate::openapi::document()).into_response()
}

/// Prometheus text metrics.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let database_up = state.health.snapshot(&state).await.database_ok;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(database_up),
    )
        .into_response()
}

/// 404 in the envelope.
pub async fn not_found(OriginalUri(uri): OriginalUri) -> AppError {
    AppError::NotFound(format!("No route for {}", uri.path()))
}

/// 405 in the envelope.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
