//! Structured logs: one JSON object per line on standard output (or plain text).
//!
//! What is logged is chosen at each call site: request ids, routes, statuses, outcome codes
//! and delivery ids; never secrets, API keys, signatures or bodies.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `RUST_LOG` (or `LOG_LEVEL`) filters, default `info`.
pub fn init(json: bool) {
    let filter = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("LOG_LEVEL"))
        .unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_new(format!("{filter},sqlx=warn"))
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
    // Already installed (tests start several servers in one process): keep the first.
    drop(result);
}
