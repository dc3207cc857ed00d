#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod decimal;
mod headers;
mod holding;
mod js;
pub mod redis;
mod replay;
mod settings;
mod signing;
mod value;
mod verifier;

pub use decimal::{DecimalInput, Precision, check_decimal, stroops_of};
pub use headers::{ContractHeader, REQUEST_OBJECT_HINT, ReceivedHeaders};
pub use holding::{Holding, StoreHandle};
pub use js::{JsClass, JsError};
pub use replay::{Accepted, UnknownVerdict, commits_on, verdict_from_code};
pub use settings::{
    Field, Loose, MAX_WHOLE, Problem, ReplaySettings, SecretRule, Settings, SettingsError,
    SettingsInput, Spelling, delivery_retention_seconds, now_from, reservation_lease_seconds,
    timestamp_text,
};
#[cfg(feature = "system-random")]
pub use signing::new_delivery_id;
pub use signing::{SignedHeaderSet, delivery_id_from, signing_payload};
pub use value::{OwnedLoose, OwnedSettings};
pub use verifier::{Verifier, outcome_for, outcome_table, system_now};

/// The core crate, re-exported so a binding depends on one version of it.
pub use fluxora_webhooks as core;
