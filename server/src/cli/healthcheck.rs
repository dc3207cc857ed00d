//! `healthcheck`: the container's `HEALTHCHECK` (no shell or curl in the image). Succeeds
//! when `GET /health` answers 200 with `status: ok` within the timeout.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::cause_chain;

/// Options of `healthcheck`.
#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The health URL; default `http://127.0.0.1:$PORT/health`.
    #[arg(long)]
    pub url: Option<String>,
    /// The port of the default URL.
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    pub timeout_seconds: u64,
}

/// Runs `healthcheck`: prints the status and summary; fails unless the server is healthy.
pub async fn run_healthcheck(args: &HealthcheckArgs) -> ExitCode {
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{}/health", args.port));
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_seconds))
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            eprintln!(
                "unhealthy: cannot build the HTTP client: {}",
                cause_chain(&err)
            );
            return ExitCode::FAILURE;
        }
    };
    let response = match client.get(&url).send().await {
        Ok(response) => response,
        Err(err) => {
            eprintln!("unhealthy: {url}: {}", cause_chain(&err));
            return ExitCode::FAILURE;
        }
    };
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let health = body["status"].as_str().unwrap_or("unknown");
    let summary = body["summary"].as_str().unwrap_or_default();
    println!("HTTP {status} {health}: {summary}");
    if status == 200 && health == "ok" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
