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
    /// Redis answered (`None`: not configured).
    pub redis_ok: Option<bool>,
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
        // Each dependency within the second, side by side.
        let database = async {
            let database_ok = state.db.ping().await.is_ok();
            let indexer = if database_ok {
                crate::routes::indexer::health_check(state).await
            } else {
                json!({ "status": "unknown" })
            };
            (database_ok, indexer)
        };
        let (database, redis_ok) = tokio::join!(
            tokio::time::timeout(Self::FRESH_FOR, database),
            tokio::time::timeout(Self::FRESH_FOR, state.resilience.shared_ok()),
        );
        let (database_ok, indexer) =
            database.unwrap_or_else(|_| (false, json!({ "status": "unknown" })));
        let snapshot = Snapshot {
            database_ok,
            indexer,
            redis_ok: redis_ok.unwrap_or(Some(false)),
        };
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

impl Snapshot {
    /// Why the service is degraded: the database does not answer, or the indexer is
    /// starting (no batch yet), stalled (latched until an admin clears it), rolled back a
    /// reorg (until cleared) or unknown. Empty when all is well.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.database_ok {
            problems.push("database unreachable".to_owned());
        }
        match self.indexer["status"].as_str() {
            Some("starting") => problems.push("indexer starting: no batch received yet".to_owned()),
            Some("stalled") => problems.push(
                "indexer stalled: no batch within the stall threshold (latched until cleared)"
                    .to_owned(),
            ),
            Some("unknown") => problems.push("indexer state unknown".to_owned()),
            _ => {}
        }
        if self.redis_ok == Some(false) {
            problems.push(
                "redis unreachable: each instance decides its consumers' circuits alone".to_owned(),
            );
        }
        if self.indexer["reorgDetected"] == json!(true) {
            problems.push("indexer rolled back a reorg (reorgDetected, until cleared)".to_owned());
        }
        problems
    }
}

/// Overall health, at the top level (monitors read `status` there): always 200 while the
/// process serves; `status` is `degraded`, with the reasons in `summary`, while the database
/// does not answer or the indexer is starting, stalled or rolled back a reorg.
pub async fn health(State(state): State<AppState>) -> Response {
    let snapshot = state.health.snapshot(&state).await;
    let problems = snapshot.problems();
    let Snapshot {
        database_ok,
        indexer,
        redis_ok,
    } = snapshot;
    let connections = state.hub.connections();
    axum::Json(json!({
        "status": if problems.is_empty() { "ok" } else { "degraded" },
        "service": "fluxora-server",
        "version": env!("CARGO_PKG_VERSION"),
        "timestamp": now_rfc3339(),
        "uptimeSeconds": state.started.elapsed().as_secs(),
        "wsConnections": connections,
        "lagMs": indexer.get("lagMs").cloned().unwrap_or(Value::Null),
        "summary": if problems.is_empty() { "all checks passed".to_owned() } else { problems.join("; ") },
        "checks": {
            "database": {
                "status": if database_ok { "ok" } else { "unreachable" },
                "backend": state.db.backend.name(),
            },
            "indexer": indexer,
            "websocket": { "status": "ok", "connections": connections },
            "redis": match redis_ok {
                None => json!({ "status": "not_configured" }),
                Some(true) => json!({ "status": "ok" }),
                Some(false) => json!({ "status": "unreachable" }),
            },
        },
    }))
    .into_response()
}

/// Liveness: the process answers.
pub async fn live() -> Response {
    ApiResponse::ok(json!({ "status": "ok" })).into_response()
}

/// Readiness: 503 within a second while degraded (see [`Snapshot::problems`]), with the
/// reasons as details. The database is asked on every call (probes are periodic, and a
/// load balancer must learn of an outage at once); the indexer's state comes from the
/// snapshot.
pub async fn ready(State(state): State<AppState>) -> Response {
    let (ping, mut snapshot) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(1), state.db.ping()),
        state.health.snapshot(&state)
    );
    snapshot.database_ok = matches!(ping, Ok(Ok(())));
    let problems = snapshot.problems();
    if problems.is_empty() {
        return ApiResponse::ok(json!({ "status": "ready", "database": "ok" })).into_response();
    }
    tracing::warn!(reasons = %problems.join("; "), "readiness: not ready");
    AppError::NotReady(json!(problems)).into_response()
}
