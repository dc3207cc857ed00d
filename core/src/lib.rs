#![no_std]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod decimal;
mod headers;
mod mac;
mod outcome;
mod replay;
mod signature;
mod text;
mod timestamp;
mod verifier;

pub use headers::{
    DeliveryHeaders, HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};
pub use outcome::{MessageText, Outcome, OutcomeCode};
#[cfg(feature = "alloc")]
pub use replay::MemoryReplayStore;
pub use replay::{
    DEFAULT_DELIVERY_RETENTION_SECONDS, DEFAULT_RESERVATION_LEASE_SECONDS, FixedReplayStore,
    NoReplayGuard, ReplayEntry, ReplayGuard, ReplayReservations, ReplayVerdict, Reservation,
};
pub use signature::{SIGNATURE_HEX_LEN, Signature, Signer, Signing, sign};
pub use text::FixedText;
pub use timestamp::parse_timestamp;
pub use verifier::{
    BodyVerification, Checked, DEFAULT_GRACE_WINDOW_SECONDS, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TOLERANCE_SECONDS, Verifier,
};
