//! The Fluxora reference server and operator CLI.
//!
//! An axum + tokio implementation of the Fluxora backend API that takes every signature and
//! decimal decision from the core crate (`fluxora-webhooks`): API info and health, streams
//! (create, list, get, cancel, status transitions) with idempotency keys and cursor
//! pagination, the inbound webhook receiver whose replay store is the database, signed
//! outbound webhooks through a transactional outbox ([`delivery`]), the WebSocket feed of
//! stream updates ([`ws`]) and chain-event ingestion with reorg handling
//! ([`store::chain`]).
//!
//! SQLite is the embedded default (a file created and migrated on first start, WAL mode);
//! PostgreSQL is used when `DATABASE_URL` is a `postgres://` URL, so several instances
//! share one replay store and one delivery outbox.
//!
//! [`app()`] builds the router from an [`AppState`], so tests can serve it on any listener.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod cors;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod egress;
pub mod error;
pub mod extract;
pub mod listener;
pub mod logging;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod ratelimit;
pub mod receiver;
pub mod routes;
pub mod server;
pub mod stellar;
pub mod store;
pub mod util;
pub mod ws;

pub use app::{AppState, app};
pub use config::Config;
pub use error::AppError;
pub use server::{RunningServer, start};
