//! Load generator for the receiver benchmark (`benches/server/run.sh`).
//!
//! Sends valid, distinct signed deliveries (every request a new delivery id and body, signed
//! with the core) over keep-alive connections for a fixed time, and prints one JSON line:
//! verified deliveries per second and p50 / p99 latency. Loopback targets only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fluxora_webhooks::Signer;

struct Args {
    url: String,
    secret: String,
    seconds: u64,
    connections: usize,
    label: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: String::new(),
        secret: std::env::var("WEBHOOK_SECRET").unwrap_or_default(),
        seconds: 10,
        connections: 32,
        label: "target".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => args.url = value,
            "--seconds" => args.seconds = value.parse().map_err(|e| format!("{e}"))?,
            "--connections" => args.connections = value.parse().map_err(|e| format!("{e}"))?,
            "--label" => args.label = value,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let loopback = ["http://127.", "http://localhost", "http://[::1]"];
    if !loopback.iter().any(|p| args.url.starts_with(p)) {
        return Err("--url must be a loopback http URL".into());
    }
    if args.secret.is_empty() {
        return Err("WEBHOOK_SECRET must be set".into());
    }
    Ok(args)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("loadgen: {err}");
            std::process::exit(2);
        }
    };
    let signer = Arc::new(Signer::new(args.secret.as_bytes()));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let sequence = Arc::new(AtomicU64::new(0));
    let run_id = std::process::id();
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (client, signer, sequence, url) = (
            client.clone(),
            Arc::clone(&signer),
            Arc::clone(&sequence),
            args.url.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies_us = Vec::new();
            let (mut verified, mut failed) = (0u64, 0u64);
            while Instant::now() < deadline {
                let n = sequence.fetch_add(1, Ordering::Relaxed);
                let body = format!(
                    r#"{{"event":"stream.updated","data":{{"streamId":"str_{n}","status":"active","depositAmount":"100.5","seq":{n}}}}}"#
                );
                let timestamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
                    .to_string();
                let signature = signer.sign(timestamp.as_bytes(), body.as_bytes());
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-fluxora-delivery-id", format!("dlv_{run_id}_{n}"))
                    .header("x-fluxora-timestamp", &timestamp)
                    .header("x-fluxora-signature", signature.as_str())
                    .header("x-fluxora-event", "stream.updated")
                    .body(body)
                    .send()
                    .await;
                let ok = match response {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.bytes().await;
                        status == 200
                    }
                    Err(_) => false,
                };
                latencies_us.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                if ok {
                    verified += 1;
                } else {
                    failed += 1;
                }
            }
            (latencies_us, verified, failed)
        }));
    }
    let mut latencies = Vec::new();
    let (mut verified, mut failed) = (0, 0);
    for task in tasks {
        let (l, v, f) = task.await.expect("task");
        latencies.extend(l);
        verified += v;
        failed += f;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    println!(
        "{{\"label\":\"{}\",\"requests\":{},\"verified\":{},\"failed\":{},\"seconds\":{:.2},\"verified_per_second\":{:.0},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}}",
        args.label,
        latencies.len(),
        verified,
        failed,
        seconds,
        verified as f64 / seconds,
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0)
    );
}
