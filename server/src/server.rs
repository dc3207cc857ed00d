//! Starting and stopping the server: database, listener, graceful shutdown, housekeeping.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::{AppState, app};
use crate::config::Config;
use crate::db::Db;
use crate::util::unix_seconds;

/// How long idempotency records are kept: 24 hours.
pub const IDEMPOTENCY_TTL_MS: i64 = 86_400_000;

/// Why the server could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// A server accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The application state (database, metrics, ...).
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    serve: JoinHandle<()>,
    purge: JoinHandle<()>,
    delivery: JoinHandle<()>,
    feed: Option<JoinHandle<()>>,
    grace: Duration,
}

/// Opens the database (migrating it), binds the listener and starts serving.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    let db = Db::open(&config.database, config.database_max_connections)
        .await
        .map_err(|err| StartError(err.to_string()))?;
    let listener = TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(|err| {
            StartError(format!(
                "cannot listen on {}:{}: {err}",
                config.host, config.port
            ))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|err| StartError(format!("no local address: {err}")))?;
    if !config.webhook_secret_configured {
        tracing::warn!(
            "WEBHOOK_SECRET is not set: the receiver answers missing_secret (500) to every delivery"
        );
    }
    if config.api_keys.is_empty() {
        tracing::warn!("API_KEYS is not set: every write answers 401");
    }
    let grace = Duration::from_secs(config.shutdown_timeout_seconds);
    let state = AppState::new(config, db);
    let (shutdown, stopped) = watch::channel(false);
    let router = app(state.clone());
    let limits = state.config.http;
    let serve = tokio::spawn(crate::listener::serve(
        listener,
        router,
        limits,
        stopped.clone(),
        grace,
    ));
    let delivery = crate::delivery::spawn_worker(
        state.db.clone(),
        state.metrics.clone(),
        state.config.delivery,
        state.resilience.clone(),
        state.outbox_wakeup.clone(),
        state.config.egress.clone(),
        shutdown.subscribe(),
    );
    let feed = (state.db.backend == crate::db::Backend::Postgres)
        .then(|| crate::ws::spawn_feed_tail(state.db.clone(), state.hub.clone()));
    let purge_db = state.db.clone();
    // Replay entries expire on the receiver's clock, the one that judged them.
    let receiver_clock = state.config.webhook.clock.clone();
    let purge_every = state.config.purge_interval;
    let purge = tokio::spawn(async move {
        // The first purge waits one period: a freshly started instance has nothing expired
        // to remove that cannot wait, and a test can set the receiver's clock first.
        let mut every =
            tokio::time::interval_at(tokio::time::Instant::now() + purge_every, purge_every);
        loop {
            every.tick().await;
            let seconds = |now: u64| i64::try_from(now).unwrap_or(i64::MAX);
            let (replay_now, now) = (seconds(receiver_clock.now()), seconds(unix_seconds()));
            match crate::store::purge_expired(&purge_db, replay_now, now, IDEMPOTENCY_TTL_MS).await
            {
                Ok(0) => {}
                Ok(removed) => tracing::debug!(removed, "purged expired records"),
                Err(err) => tracing::warn!(error = %err, "purging expired records failed"),
            }
            // A historical replay whose instance stopped is picked up by a live one.
            if let Err(err) = crate::routes::history::resume_stale(&purge_db).await {
                tracing::warn!(error = %err, "checking for a stopped replay failed");
            }
        }
    });
    // And one this instance ran before a restart, at once.
    if let Err(err) = crate::routes::history::resume_stale(&state.db).await {
        tracing::warn!(error = %err, "checking for a stopped replay failed");
    }
    tracing::info!(
        address = %addr,
        database = state.db.backend.name(),
        "fluxora-server listening"
    );
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        serve,
        purge,
        delivery,
        feed,
        grace,
    })
}

impl RunningServer {
    /// Stops accepting connections and claiming deliveries, lets in-flight requests and
    /// delivery attempts finish (up to the configured grace period), then closes the
    /// database pool.
    pub async fn stop(self) {
        self.state.hub.close();
        let _ = self.shutdown.send(true);
        self.purge.abort();
        if let Some(feed) = &self.feed {
            feed.abort();
        }
        let mut delivery = self.delivery;
        let mut serve = self.serve;
        // The listener itself closes what is still open after the grace period.
        match tokio::time::timeout(self.grace + Duration::from_secs(1), &mut serve).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(error = %err, "server task failed"),
            Err(_) => {
                tracing::warn!("in-flight requests did not finish in time; closing");
                serve.abort();
            }
        }
        match tokio::time::timeout(self.grace, &mut delivery).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(error = %err, "delivery worker failed"),
            Err(_) => {
                // Their leases run out; the rows are attempted again (at least once).
                tracing::warn!("delivery attempts did not finish in time; closing");
                delivery.abort();
            }
        }
        self.state.db.pool.close().await;
        tracing::info!("fluxora-server stopped");
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!(signal = "SIGINT", "shutting down"),
        () = terminate => tracing::info!(signal = "SIGTERM", "shutting down"),
    }
}
