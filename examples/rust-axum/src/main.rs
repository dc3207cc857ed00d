//! Runs the example receiver: `FLUXORA_WEBHOOK_SECRET=... cargo run -p fluxora-example-rust-axum`.

use fluxora_example_rust_axum::{Receiver, app};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let secret = std::env::var("FLUXORA_WEBHOOK_SECRET").unwrap_or_default();
    let port = std::env::var("PORT").unwrap_or_else(|_| "3001".to_owned());
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", port.parse().unwrap_or(3001))).await?;
    eprintln!(
        "listening on http://{}/webhooks/fluxora",
        listener.local_addr()?
    );
    axum::serve(listener, app(Receiver::new(secret.as_bytes())))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
