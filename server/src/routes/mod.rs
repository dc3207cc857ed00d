//! HTTP handlers, one module per area.

pub mod audit;
pub mod health;
pub mod history;
pub mod indexer;
pub mod keys;
pub mod meta;
pub mod receive;
pub mod streams;
pub mod table;
pub mod webhooks;
