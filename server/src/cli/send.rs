//! `send`: sign a body with the core and POST it to a receiver.

use std::process::ExitCode;
use std::time::Duration;

use super::sign::SignedHeaders;
use super::{SendArgs, read_body};

/// Runs `send`: prints the answer's status and body; succeeds only on a 2xx answer.
pub async fn run_send(args: &SendArgs) -> ExitCode {
    let body = match read_body(&args.body) {
        Ok(body) => body,
        Err(err) => {
            eprintln!("error: cannot read {}: {err}", args.body.display());
            return ExitCode::from(2);
        }
    };
    let headers = SignedHeaders::new(
        args.secret.secret().as_bytes(),
        &body,
        args.timestamp,
        args.delivery_id.as_deref(),
        &args.event,
    );
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_seconds))
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            eprintln!("error: cannot build the HTTP client: {err}");
            return ExitCode::from(2);
        }
    };
    let mut request = client
        .post(&args.url)
        .header("content-type", "application/json");
    for (name, value) in headers.pairs() {
        request = request.header(name, value);
    }
    eprintln!(
        "POST {} delivery {} ({} bytes)",
        args.url,
        headers.delivery_id,
        body.len()
    );
    let response = match request.body(body).send().await {
        Ok(response) => response,
        Err(err) => {
            eprintln!("error: request failed: {}", super::cause_chain(&err));
            return ExitCode::from(2);
        }
    };
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("HTTP {}", status.as_u16());
    println!("{text}");
    if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
