//! The server's options: each setting's flag, environment variable and default, declared
//! once. The command line fills them (`fluxora-server serve`); [`super::Config`] validates them.

use std::path::PathBuf;

use clap::Args;

/// Options of the server. Every option can also come from the environment variable named.
#[derive(Clone, Args)]
pub struct ServeOptions {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// Port to listen on (0 picks a free port).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,
    /// `postgres://...` for PostgreSQL or `sqlite:PATH`; default: an SQLite file in the data dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory of the default SQLite file (`fluxora.db`), created when missing.
    #[arg(long, env = "FLUXORA_DATA_DIR", default_value = ".")]
    pub data_dir: PathBuf,
    /// PostgreSQL schema to use (created when missing); default: the connection's search_path.
    #[arg(long, env = "DATABASE_SCHEMA")]
    pub database_schema: Option<String>,
    /// Maximum database connections in the pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,
    /// Current secret of inbound webhooks (UTF-8 bytes exactly as given).
    #[arg(long, env = "FLUXORA_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// `WEBHOOK_SECRET`, the older name of `FLUXORA_WEBHOOK_SECRET` (which wins when both
    /// are set).
    #[arg(
        long = "legacy-webhook-secret",
        env = "WEBHOOK_SECRET",
        hide = true,
        hide_env_values = true
    )]
    pub legacy_webhook_secret: Option<String>,
    /// Previous secret, still accepted during the grace window after rotation.
    #[arg(long, env = "FLUXORA_WEBHOOK_SECRET_PREVIOUS", hide_env_values = true)]
    pub webhook_secret_previous: Option<String>,
    /// `WEBHOOK_SECRET_PREVIOUS`, the older name of `FLUXORA_WEBHOOK_SECRET_PREVIOUS`.
    #[arg(
        long = "legacy-webhook-secret-previous",
        env = "WEBHOOK_SECRET_PREVIOUS",
        hide = true,
        hide_env_values = true
    )]
    pub legacy_webhook_secret_previous: Option<String>,
    /// When the previous secret was rotated out (Unix seconds); without it it never expires.
    #[arg(long, env = "WEBHOOK_SECRET_ROTATED_AT")]
    pub webhook_secret_rotated_at: Option<u64>,
    /// Grace window of the previous secret, in seconds.
    #[arg(long, env = "WEBHOOK_GRACE_WINDOW_SECONDS", default_value_t = fluxora_webhooks::DEFAULT_GRACE_WINDOW_SECONDS)]
    pub webhook_grace_window_seconds: u64,
    /// Freshness window of inbound deliveries, in seconds either side of now.
    #[arg(long, env = "WEBHOOK_TOLERANCE_SECONDS", default_value_t = fluxora_webhooks::DEFAULT_TOLERANCE_SECONDS)]
    pub webhook_tolerance_seconds: u64,
    /// Largest inbound delivery body, in bytes.
    #[arg(long, env = "WEBHOOK_MAX_BODY_BYTES", default_value_t = fluxora_webhooks::DEFAULT_MAX_BODY_BYTES)]
    pub webhook_max_body_bytes: u64,
    /// How long an accepted delivery id is remembered, in seconds.
    #[arg(long, env = "REPLAY_RETENTION_SECONDS", default_value_t = fluxora_webhooks::DEFAULT_DELIVERY_RETENTION_SECONDS)]
    pub replay_retention_seconds: u64,
    /// Cap on unexpired replay entries; beyond it deliveries answer `consumer_overloaded`.
    #[arg(long, env = "REPLAY_MAX_ENTRIES")]
    pub replay_max_entries: Option<u64>,
    /// How long a delivery stays reserved while it is handled (two-phase replay); a
    /// reservation neither committed nor released (the process died) expires then.
    #[arg(long, env = "REPLAY_RESERVATION_LEASE_SECONDS", default_value_t = fluxora_webhooks::DEFAULT_RESERVATION_LEASE_SECONDS)]
    pub replay_reservation_lease_seconds: u64,
    /// Seconds between purges of expired records (replay entries, delivered outbox rows,
    /// the WebSocket feed, idempotency keys).
    #[arg(long, env = "PURGE_INTERVAL_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub purge_interval_seconds: u64,
    /// API keys allowed to write, comma-separated (at least 16 characters each).
    #[arg(long, env = "API_KEYS", hide_env_values = true, value_delimiter = ',')]
    pub api_keys: Vec<String>,
    /// Admin API keys (webhook endpoints, deliveries, dead letters), comma-separated, 16+ characters each.
    #[arg(
        long,
        env = "ADMIN_API_KEYS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub admin_api_keys: Vec<String>,
    /// One admin API key (`ADMIN_API_KEY`, the seed's name), added to `ADMIN_API_KEYS`.
    #[arg(long, env = "ADMIN_API_KEY", hide_env_values = true)]
    pub admin_api_key: Option<String>,
    /// Timeout of one outbound delivery attempt, in seconds.
    #[arg(long, env = "WEBHOOK_DELIVERY_TIMEOUT_SECONDS", default_value_t = 10)]
    pub webhook_delivery_timeout_seconds: u64,
    /// First retry delay of outbound deliveries in milliseconds (doubles, at most 60 times).
    #[arg(long, env = "WEBHOOK_RETRY_BASE_MS", default_value_t = 1000)]
    pub webhook_retry_base_ms: u64,
    /// How often the outbox is polled for due deliveries, in milliseconds.
    #[arg(long, env = "WEBHOOK_POLL_INTERVAL_MS", default_value_t = 1000)]
    pub webhook_poll_interval_ms: u64,
    /// Outbound deliveries in flight on this instance, across endpoints (0: this instance
    /// delivers nothing, e.g. an API-only replica; the outbox still fills).
    #[arg(long, env = "WEBHOOK_CONCURRENCY", default_value_t = 128)]
    pub webhook_concurrency: u32,
    /// Outbound deliveries in flight to one endpoint on this instance (also the size of its
    /// pool of kept-alive connections).
    #[arg(long, env = "WEBHOOK_ENDPOINT_CONCURRENCY", default_value_t = 32)]
    pub webhook_endpoint_concurrency: u32,
    /// Consecutive retryable failures that open an endpoint's circuit.
    #[arg(long, env = "WEBHOOK_CIRCUIT_FAILURES", default_value_t = 5)]
    pub webhook_circuit_failures: u32,
    /// Seconds an open circuit waits before one trial delivery.
    #[arg(long, env = "WEBHOOK_CIRCUIT_COOLDOWN_SECONDS", default_value_t = 30)]
    pub webhook_circuit_cooldown_seconds: u64,
    /// Retries per consumer (endpoint URL) per second; shared by the instances with Redis.
    #[arg(long, env = "WEBHOOK_RETRY_RPS", default_value_t = 10)]
    pub webhook_retry_rps: u32,
    /// Redis for the consumers' circuit breakers and retry rates shared by every instance
    /// (`redis://host:port`); without it each instance decides alone.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Token of the chain indexer for `POST /internal/indexer/batches` (16+ characters);
    /// without it ingestion answers 503 and the indexer health is `not_configured`.
    #[arg(long, env = "INDEXER_WORKER_TOKEN", hide_env_values = true)]
    pub indexer_worker_token: Option<String>,
    /// Seconds without a batch after which the indexer is `stalled` (latched until cleared).
    #[arg(long, env = "INDEXER_STALL_THRESHOLD_SECONDS", default_value_t = 300)]
    pub indexer_stall_threshold_seconds: u64,
    /// Ledgers behind the newest one that count as safe from reorgs (`lastSafeLedger`).
    #[arg(long, env = "INDEXER_FINALITY_LEDGERS", default_value_t = 1)]
    pub indexer_finality_ledgers: u64,
    /// Rows per batch of a historical-event replay (1 to 10000; a request may set its own).
    #[arg(long, env = "REPLAY_BATCH_SIZE", default_value_t = 1000)]
    pub replay_batch_size: u32,
    /// Open WebSocket connections per client IP on `/ws/streams`.
    #[arg(long, env = "WS_MAX_CONNECTIONS_PER_IP", default_value_t = 20)]
    pub ws_max_connections_per_ip: usize,
    /// Seconds between WebSocket pings; a client that misses a pong is dropped.
    #[arg(long, env = "WS_PING_INTERVAL_SECONDS", default_value_t = 30)]
    pub ws_ping_interval_seconds: u64,
    /// Requests per minute per client IP on the API (0 disables).
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value_t = 300)]
    pub rate_limit_per_minute: u32,
    /// Requests per minute per API key (0 disables).
    #[arg(long, env = "RATE_LIMIT_API_KEY_PER_MINUTE", default_value_t = 600)]
    pub api_key_rate_limit_per_minute: u32,
    /// Browser origins allowed to call the API (CORS), comma-separated `scheme://host[:port]`.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,
    /// Bearer token `/metrics` requires; required when the environment is production.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// `production` makes `METRICS_TOKEN` mandatory (`NODE_ENV`, the seed's name, also counts).
    #[arg(long, env = "FLUXORA_ENV", default_value = "development")]
    pub environment: String,
    /// The seed's `NODE_ENV`, read as `FLUXORA_ENV` when that is not set.
    #[arg(long = "node-env", env = "NODE_ENV", hide = true)]
    pub node_env: Option<String>,
    /// Take the client IP from the first `X-Forwarded-For` hop (only behind a trusted proxy).
    #[arg(long, env = "TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Log format: `json` (default) or `text`.
    #[arg(long, env = "LOG_FORMAT", default_value = "json")]
    pub log_format: String,
    /// Seconds to wait for in-flight requests on shutdown.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECONDS", default_value_t = 30)]
    pub shutdown_timeout_seconds: u64,
    /// Seconds a client has to send a request's headers; also how long an idle keep-alive
    /// connection is kept. Then the connection is closed.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
    pub http_header_timeout_seconds: u64,
    /// Seconds a request has to be read and answered, body included (a slow or lying body
    /// is cut off with 408).
    #[arg(long, env = "HTTP_REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    pub http_request_timeout_seconds: u64,
    /// Addresses outbound delivery may reach although their class is refused: `loopback`,
    /// IP addresses and CIDR networks, comma-separated (default: none).
    #[arg(long, env = "EGRESS_ALLOW", value_delimiter = ',')]
    pub egress_allow: Vec<String>,
    /// Destination ports outbound delivery may reach: a comma-separated list, or `any`.
    #[arg(long, env = "EGRESS_ALLOW_PORTS", default_value = "80,443")]
    pub egress_allow_ports: String,
    /// Refuse every address outside EGRESS_ALLOW, public ones too (tests, closed networks).
    #[arg(long, env = "EGRESS_ALLOW_ONLY", default_value_t = false)]
    pub egress_allow_only: bool,
    /// Connections served at once; more are closed as soon as they are accepted.
    #[arg(long, env = "HTTP_MAX_CONNECTIONS", default_value_t = 1024)]
    pub http_max_connections: usize,
}

impl core::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}
