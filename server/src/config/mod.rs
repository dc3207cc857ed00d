//! Server configuration, validated once at start: bad configuration fails fast.

mod options;

pub use options::ServeOptions;

use core::fmt;
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fluxora_webhooks_facade::{Loose, SecretRule, SettingsInput, Spelling, Verifier};

use crate::delivery::DeliveryConfig;
use crate::ws::WsConfig;

/// Largest batch of a historical-event replay.
pub const MAX_REPLAY_BATCH_SIZE: u32 = 10_000;
/// Largest `WEBHOOK_CONCURRENCY` / `WEBHOOK_ENDPOINT_CONCURRENCY`.
pub const MAX_DELIVERY_CONCURRENCY: u32 = 4096;

/// Which database the server uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// An SQLite file (created when missing).
    Sqlite {
        /// Path of the database file.
        path: PathBuf,
    },
    /// A PostgreSQL server.
    Postgres {
        /// The connection URL (may carry a password: never logged).
        url: String,
        /// Schema to create and use, if any.
        schema: Option<String>,
    },
}

impl DatabaseTarget {
    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }
}

/// The receiver's clock: the system clock unless a test sets a fixed time (the contract's
/// injectable `now`). Shared by every clone of the configuration.
#[derive(Clone, Debug, Default)]
pub struct ReceiverClock(Arc<AtomicU64>);

impl ReceiverClock {
    /// Now, in Unix seconds.
    pub fn now(&self) -> u64 {
        match self.0.load(Ordering::Relaxed) {
            0 => crate::util::unix_seconds(),
            fixed => fixed,
        }
    }

    /// Fixes the clock at `seconds` (0: the system clock again).
    pub fn set(&self, seconds: u64) {
        self.0.store(seconds, Ordering::Relaxed);
    }
}

/// Inbound webhook settings.
#[derive(Clone)]
pub struct WebhookConfig {
    /// The verifier, built once from the secrets and limits (validated by the facade).
    pub verifier: Verifier,
    /// The receiver's clock.
    pub clock: ReceiverClock,
    /// How long accepted delivery ids are remembered, in seconds.
    pub retention_seconds: u64,
    /// Cap on unexpired replay entries, if any.
    pub max_entries: Option<u64>,
    /// How long a delivery stays reserved while it is handled.
    pub reservation_lease_seconds: u64,
}

/// Chain-event ingestion settings.
#[derive(Clone)]
pub struct IndexerConfig {
    /// The worker token, if ingestion is configured.
    pub token: Option<String>,
    /// No batch for longer than this: stalled.
    pub stall_threshold_seconds: u64,
    /// `lastSafeLedger` = newest ledger minus this.
    pub finality_ledgers: u64,
    /// Rows per batch of a historical-event replay, unless the request says otherwise.
    pub replay_batch_size: i64,
}

impl fmt::Debug for IndexerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexerConfig")
            .field("configured", &self.token.is_some())
            .field("stall_threshold_seconds", &self.stall_threshold_seconds)
            .finish_non_exhaustive()
    }
}

/// Rate limits, requests per minute (0 disables one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client IP.
    pub per_ip: u32,
    /// Per API key.
    pub per_api_key: u32,
    /// Take the client IP from `X-Forwarded-For`.
    pub trust_proxy: bool,
}

/// The validated configuration of `serve`.
#[derive(Clone)]
pub struct Config {
    /// Listen address.
    pub host: String,
    /// Listen port (0 picks a free one).
    pub port: u16,
    /// The database.
    pub database: DatabaseTarget,
    /// Pool size.
    pub database_max_connections: u32,
    /// Inbound webhooks.
    pub webhook: Arc<WebhookConfig>,
    /// Whether a webhook secret is configured (`missing_secret` otherwise).
    pub webhook_secret_configured: bool,
    /// Write API keys.
    pub api_keys: Vec<String>,
    /// Admin API keys.
    pub admin_api_keys: Vec<String>,
    /// Outbound webhook delivery.
    pub delivery: DeliveryConfig,
    /// The WebSocket feed.
    pub ws: WsConfig,
    /// The chain indexer.
    pub indexer: IndexerConfig,
    /// Rate limits.
    pub rate_limits: RateLimits,
    /// `json` or `text` logs.
    pub json_logs: bool,
    /// Seconds to wait for in-flight requests on shutdown.
    pub shutdown_timeout_seconds: u64,
    /// The time and connection limits of the HTTP listener.
    pub http: crate::listener::HttpLimits,
    /// Where outbound delivery may connect.
    pub egress: Arc<crate::egress::EgressPolicy>,
    /// Browser origins allowed to call the API.
    pub cors: Arc<crate::cors::CorsPolicy>,
    /// The bearer token `/metrics` requires, if any.
    pub metrics_token: Option<String>,
    /// Redis shared by the instances for the consumers' circuits and retry rates.
    pub redis_url: Option<String>,
    /// Time between purges of expired records.
    pub purge_interval: std::time::Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database.backend())
            .field("webhook_verifier", &self.webhook.verifier)
            .field("api_keys", &self.api_keys.len())
            .field("admin_api_keys", &self.admin_api_keys.len())
            .field("delivery", &self.delivery)
            .field("rate_limits", &self.rate_limits)
            .finish_non_exhaustive()
    }
}

/// A configuration error, reported before anything starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The largest receiver body limit this server accepts: the receiver buffers a body whole.
pub const MAX_RECEIVER_BODY_BYTES: u64 = 16 * 1024 * 1024;

fn invalid(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

/// True for a PostgreSQL schema name this server accepts: `[a-z_][a-z0-9_]{0,62}`.
pub fn valid_schema_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && (bytes[0].is_ascii_lowercase() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// Where the database is, from `DATABASE_URL` (PostgreSQL or an SQLite path), else
/// `fluxora.db` in the data dir; the schema name is checked.
pub fn database_target(
    url: Option<&str>,
    data_dir: &std::path::Path,
    schema: Option<&str>,
) -> Result<DatabaseTarget, String> {
    match url.map(str::trim) {
        None | Some("") => Ok(DatabaseTarget::Sqlite {
            path: data_dir.join("fluxora.db"),
        }),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            if let Some(schema) = schema
                && !valid_schema_name(schema)
            {
                return Err(format!(
                    "DATABASE_SCHEMA {schema:?} must match [a-z_][a-z0-9_]{{0,62}}"
                ));
            }
            Ok(DatabaseTarget::Postgres {
                url: url.to_owned(),
                schema: schema.map(str::to_owned),
            })
        }
        Some(url) if url.starts_with("sqlite:") => {
            let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(
                    "DATABASE_URL sqlite: needs a file path (in-memory databases are not shared between connections)"
                        .to_owned(),
                );
            }
            Ok(DatabaseTarget::Sqlite {
                path: PathBuf::from(path),
            })
        }
        Some(_) => {
            Err("DATABASE_URL must start with postgres://, postgresql:// or sqlite:".to_owned())
        }
    }
}

impl Config {
    /// Validates the command line / environment.
    pub fn from_args(args: &ServeOptions) -> Result<Self, ConfigError> {
        let database = database_target(
            args.database_url.as_deref(),
            &args.data_dir,
            args.database_schema.as_deref(),
        )
        .map_err(invalid)?;
        if args.database_max_connections == 0 {
            return Err(invalid("DATABASE_MAX_CONNECTIONS must be at least 1"));
        }
        if args.webhook_max_body_bytes > MAX_RECEIVER_BODY_BYTES {
            // The receiver buffers a verified body whole: a server resource limit, not the contract's.
            return Err(invalid(format!(
                "WEBHOOK_MAX_BODY_BYTES must be at most {MAX_RECEIVER_BODY_BYTES}"
            )));
        }
        let previous = args
            .webhook_secret_previous
            .as_deref()
            .or(args.legacy_webhook_secret_previous.as_deref())
            .filter(|s| !s.is_empty());
        if args.webhook_secret_rotated_at.is_some() && previous.is_none() {
            return Err(invalid(
                "WEBHOOK_SECRET_ROTATED_AT is set but WEBHOOK_SECRET_PREVIOUS is not",
            ));
        }
        let secret = args
            .webhook_secret
            .as_deref()
            .or(args.legacy_webhook_secret.as_deref())
            .unwrap_or_default();
        let whole = |value: u64| Loose::Integer(i128::from(value));
        let settings = SettingsInput {
            secret: Loose::Text(secret),
            previous_secret: previous.map_or(Loose::Absent, Loose::Text),
            previous_secret_field: None,
            previous_secret_rotated_at: args.webhook_secret_rotated_at.map_or(Loose::Absent, whole),
            grace_window_seconds: whole(args.webhook_grace_window_seconds),
            tolerance_seconds: whole(args.webhook_tolerance_seconds),
            max_body_bytes: whole(args.webhook_max_body_bytes),
        };
        // Without a secret the receiver answers missing_secret (500) to every delivery.
        let verifier = Verifier::from_input(&settings, SecretRule::Optional).map_err(|error| {
            invalid(format!(
                "invalid webhook setting: {}",
                error.message(Spelling::Python)
            ))
        })?;
        fluxora_webhooks_facade::delivery_retention_seconds(whole(args.replay_retention_seconds))
            .map_err(|_| invalid("REPLAY_RETENTION_SECONDS must be at least 1"))?;
        let reservation_lease_seconds = fluxora_webhooks_facade::reservation_lease_seconds(whole(
            args.replay_reservation_lease_seconds,
        ))
        .map_err(|_| invalid("REPLAY_RESERVATION_LEASE_SECONDS must be at least 1"))?;
        let api_keys: Vec<String> = args
            .api_keys
            .iter()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect();
        if let Some(short) = api_keys.iter().position(|k| k.len() < 16) {
            return Err(invalid(format!(
                "API_KEYS entry #{} is shorter than 16 characters",
                short + 1
            )));
        }
        let admin_api_keys: Vec<String> = args
            .admin_api_keys
            .iter()
            .chain(&args.admin_api_key)
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect();
        if let Some(short) = admin_api_keys.iter().position(|k| k.len() < 16) {
            return Err(invalid(format!(
                "ADMIN_API_KEYS entry #{} is shorter than 16 characters",
                short + 1
            )));
        }
        if !(1..=MAX_REPLAY_BATCH_SIZE).contains(&args.replay_batch_size) {
            return Err(invalid(format!(
                "REPLAY_BATCH_SIZE must be between 1 and {MAX_REPLAY_BATCH_SIZE}"
            )));
        }
        if !(1..=300).contains(&args.webhook_delivery_timeout_seconds) {
            return Err(invalid(
                "WEBHOOK_DELIVERY_TIMEOUT_SECONDS must be between 1 and 300",
            ));
        }
        if !(1..=3_600_000).contains(&args.webhook_retry_base_ms) {
            return Err(invalid(
                "WEBHOOK_RETRY_BASE_MS must be between 1 and 3600000",
            ));
        }
        if !(10..=60_000).contains(&args.webhook_poll_interval_ms) {
            return Err(invalid(
                "WEBHOOK_POLL_INTERVAL_MS must be between 10 and 60000",
            ));
        }
        if args.webhook_concurrency > MAX_DELIVERY_CONCURRENCY {
            return Err(invalid(format!(
                "WEBHOOK_CONCURRENCY must be between 0 and {MAX_DELIVERY_CONCURRENCY}"
            )));
        }
        if !(1..=MAX_DELIVERY_CONCURRENCY).contains(&args.webhook_endpoint_concurrency) {
            return Err(invalid(format!(
                "WEBHOOK_ENDPOINT_CONCURRENCY must be between 1 and {MAX_DELIVERY_CONCURRENCY}"
            )));
        }
        if args.webhook_circuit_failures == 0 {
            return Err(invalid("WEBHOOK_CIRCUIT_FAILURES must be at least 1"));
        }
        let delivery = DeliveryConfig {
            timeout: Duration::from_secs(args.webhook_delivery_timeout_seconds),
            retry_base: Duration::from_millis(args.webhook_retry_base_ms),
            poll_interval: Duration::from_millis(args.webhook_poll_interval_ms),
            breaker_threshold: args.webhook_circuit_failures,
            breaker_cooldown: Duration::from_secs(args.webhook_circuit_cooldown_seconds),
            retry_rps: args.webhook_retry_rps,
            concurrency: args.webhook_concurrency as usize,
            endpoint_concurrency: args.webhook_endpoint_concurrency as usize,
        };
        if args.ws_ping_interval_seconds == 0 {
            return Err(invalid("WS_PING_INTERVAL_SECONDS must be at least 1"));
        }
        let token = args
            .indexer_worker_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if token.is_some_and(|t| t.len() < 16) {
            return Err(invalid(
                "INDEXER_WORKER_TOKEN is shorter than 16 characters",
            ));
        }
        if args.indexer_stall_threshold_seconds == 0 {
            return Err(invalid(
                "INDEXER_STALL_THRESHOLD_SECONDS must be at least 1",
            ));
        }
        let indexer = IndexerConfig {
            token: token.map(str::to_owned),
            stall_threshold_seconds: args.indexer_stall_threshold_seconds,
            finality_ledgers: args.indexer_finality_ledgers,
            replay_batch_size: i64::from(args.replay_batch_size),
        };
        let ws = WsConfig {
            max_connections_per_ip: args.ws_max_connections_per_ip,
            ping_interval: Duration::from_secs(args.ws_ping_interval_seconds),
        };
        if !(1..=3600).contains(&args.http_header_timeout_seconds) {
            return Err(invalid(
                "HTTP_HEADER_TIMEOUT_SECONDS must be between 1 and 3600",
            ));
        }
        if !(1..=86_400).contains(&args.http_request_timeout_seconds) {
            return Err(invalid(
                "HTTP_REQUEST_TIMEOUT_SECONDS must be between 1 and 86400",
            ));
        }
        if args.http_max_connections == 0 {
            return Err(invalid("HTTP_MAX_CONNECTIONS must be at least 1"));
        }
        let http = crate::listener::HttpLimits {
            header_timeout: Duration::from_secs(args.http_header_timeout_seconds),
            request_timeout: Duration::from_secs(args.http_request_timeout_seconds),
            max_connections: args.http_max_connections,
        };
        let cors =
            Arc::new(crate::cors::CorsPolicy::parse(&args.cors_allowed_origins).map_err(invalid)?);
        let metrics_token = args
            .metrics_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let environment = if args.environment == "development" {
            args.node_env.as_deref().unwrap_or("development")
        } else {
            args.environment.as_str()
        };
        if environment.eq_ignore_ascii_case("production") && metrics_token.is_none() {
            return Err(invalid(
                "METRICS_TOKEN is required in production: /metrics is never public there",
            ));
        }
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(invalid("METRICS_TOKEN must be at least 16 characters"));
        }
        let redis_url = args
            .redis_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        if let Some(url) = &redis_url {
            crate::delivery::SharedResilience::new(url, 1, Duration::from_secs(1), 1)
                .map_err(invalid)?;
        }
        if args.webhook_retry_rps == 0 {
            return Err(invalid("WEBHOOK_RETRY_RPS must be at least 1"));
        }
        let egress = Arc::new(
            crate::egress::EgressPolicy::parse(
                &args.egress_allow,
                &args.egress_allow_ports,
                args.egress_allow_only,
            )
            .map_err(invalid)?,
        );
        let json_logs = match args.log_format.as_str() {
            "json" => true,
            "text" => false,
            other => {
                return Err(invalid(format!(
                    "LOG_FORMAT {other:?} must be json or text"
                )));
            }
        };
        Ok(Self {
            host: args.host.clone(),
            port: args.port,
            database,
            database_max_connections: args.database_max_connections,
            webhook: Arc::new(WebhookConfig {
                verifier,
                clock: ReceiverClock::default(),
                retention_seconds: args.replay_retention_seconds,
                max_entries: args.replay_max_entries,
                reservation_lease_seconds,
            }),
            webhook_secret_configured: !secret.is_empty(),
            api_keys,
            admin_api_keys,
            delivery,
            ws,
            indexer,
            rate_limits: RateLimits {
                per_ip: args.rate_limit_per_minute,
                per_api_key: args.api_key_rate_limit_per_minute,
                trust_proxy: args.trust_proxy,
            },
            json_logs,
            shutdown_timeout_seconds: args.shutdown_timeout_seconds,
            http,
            egress,
            cors,
            metrics_token,
            redis_url,
            purge_interval: std::time::Duration::from_secs(args.purge_interval_seconds),
        })
    }
}
