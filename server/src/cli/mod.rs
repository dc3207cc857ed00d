//! Command-line interface: `serve` (the default), and the operator tools `sign`, `verify`, `send`.

mod backup;
mod diagnose;
mod healthcheck;
mod send;
mod sign;
mod verify;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::ServeOptions;

pub use backup::{BackupArgs, DatabaseArgs, Failure, RestoreArgs, run_backup, run_restore};
pub use diagnose::{Diagnosis, diagnose_mismatch};
pub use healthcheck::{HealthcheckArgs, run_healthcheck};
pub use send::run_send;
pub use sign::{SignedHeaders, run_sign};
pub use verify::{parse_captured_headers, run_verify};

/// The `fluxora-server` command line.
#[derive(Debug, Parser)]
#[command(
    name = "fluxora-server",
    version,
    about = "Fluxora reference server and webhook operator CLI",
    args_conflicts_with_subcommands = true,
    args_override_self = true,
    propagate_version = true
)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve`, accepted without the subcommand name too.
    #[command(flatten)]
    pub serve: ServeOptions,
}

/// The subcommands.
// Parsed once per process: the size of the `serve` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    #[command(args_override_self = true)]
    Serve(ServeOptions),
    /// Print the signed header set for a body file.
    Sign(SignArgs),
    /// Verify a captured delivery and explain a mismatch.
    Verify(VerifyArgs),
    /// Sign a body file and POST it to a receiver URL; print the answer.
    Send(SendArgs),
    /// Write a consistent copy of the database (SQLite online copy, PostgreSQL custom dump).
    Backup(BackupArgs),
    /// Replace the database's contents with a backup (`--clean` on PostgreSQL).
    Restore(RestoreArgs),
    /// Exit 0 when the server at --url (default: this machine's $PORT) is healthy.
    Healthcheck(HealthcheckArgs),
}

/// An error and every cause under it, outermost first: `a: b: c`.
pub fn cause_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Where the secret comes from in `sign`, `verify` and `send`.
#[derive(Clone, Args)]
pub struct SecretArgs {
    /// The webhook secret (prefer the environment variable: arguments show in `ps`).
    #[arg(
        long,
        env = "FLUXORA_WEBHOOK_SECRET",
        hide_env_values = true,
        required_unless_present = "legacy_secret"
    )]
    secret: Option<String>,
    /// `WEBHOOK_SECRET`, the older name of `FLUXORA_WEBHOOK_SECRET` (which wins).
    #[arg(
        long = "legacy-secret",
        env = "WEBHOOK_SECRET",
        hide = true,
        hide_env_values = true
    )]
    legacy_secret: Option<String>,
}

impl SecretArgs {
    /// The secret, from whichever name set it.
    pub fn secret(&self) -> &str {
        self.secret
            .as_deref()
            .or(self.legacy_secret.as_deref())
            .unwrap_or_default()
    }
}

impl core::fmt::Debug for SecretArgs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretArgs { secret: <redacted> }")
    }
}

/// Options of `sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    /// The secret.
    pub secret: SecretArgs,
    /// The body file, signed byte for byte (`-` for standard input).
    #[arg(long)]
    pub body: PathBuf,
    /// Timestamp to sign with (Unix seconds); default: now.
    #[arg(long)]
    pub timestamp: Option<u64>,
    /// Delivery id; default: a new random id.
    #[arg(long)]
    pub delivery_id: Option<String>,
    /// Event name for `x-fluxora-event`.
    #[arg(long, default_value = "stream.updated")]
    pub event: String,
    /// Print the headers as a JSON object instead of `name: value` lines.
    #[arg(long)]
    pub json: bool,
}

/// Options of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    /// The secret.
    pub secret: SecretArgs,
    /// The body file exactly as received (`-` for standard input).
    #[arg(long)]
    pub body: PathBuf,
    /// A file of captured `name: value` header lines (the flags below override it).
    #[arg(long)]
    pub headers: Option<PathBuf>,
    /// Value of `x-fluxora-delivery-id` (any text, even one that starts with `-`).
    #[arg(long, allow_hyphen_values = true)]
    pub delivery_id: Option<String>,
    /// Value of `x-fluxora-timestamp`, as captured (even a malformed `-1`).
    #[arg(long, allow_hyphen_values = true)]
    pub timestamp: Option<String>,
    /// Value of `x-fluxora-signature`, as captured.
    #[arg(long, allow_hyphen_values = true)]
    pub signature: Option<String>,
    /// Verify as of this time (Unix seconds); default: now.
    #[arg(long)]
    pub now: Option<u64>,
    /// The previous secret, accepted during rotation.
    #[arg(long, env = "WEBHOOK_SECRET_PREVIOUS", hide_env_values = true)]
    pub previous_secret: Option<String>,
    /// When the previous secret was rotated out (Unix seconds); without it, it never expires.
    #[arg(long)]
    pub previous_secret_rotated_at: Option<u64>,
    /// How long the previous secret stays valid after rotation, in seconds.
    #[arg(long, default_value_t = fluxora_webhooks::DEFAULT_GRACE_WINDOW_SECONDS)]
    pub grace_window_seconds: u64,
    /// Freshness window in seconds.
    #[arg(long, default_value_t = fluxora_webhooks::DEFAULT_TOLERANCE_SECONDS)]
    pub tolerance_seconds: u64,
    /// Body limit in bytes.
    #[arg(long, default_value_t = fluxora_webhooks::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    /// The secret.
    pub secret: SecretArgs,
    /// Receiver URL, e.g. `http://127.0.0.1:3000/internal/webhooks/receive`.
    #[arg(long)]
    pub url: String,
    /// The body file, sent and signed byte for byte (`-` for standard input).
    #[arg(long)]
    pub body: PathBuf,
    /// Delivery id; default: a new random id.
    #[arg(long)]
    pub delivery_id: Option<String>,
    /// Event name for `x-fluxora-event`.
    #[arg(long, default_value = "stream.updated")]
    pub event: String,
    /// Timestamp to sign with (Unix seconds); default: now.
    #[arg(long)]
    pub timestamp: Option<u64>,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 10)]
    pub timeout_seconds: u64,
}

/// Reads a body file, or standard input for `-`.
pub(crate) fn read_body(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut body)?;
        Ok(body)
    } else {
        std::fs::read(path)
    }
}
