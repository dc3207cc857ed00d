//! The Redis replay store's script, keys and expiries: one definition that the Node and
//! Python stores both load, so receivers in either runtime sharing one Redis catch each
//! other's duplicates.
//!
//! ```
//! use fluxora_webhooks_facade::{ReceivedHeaders, Verifier, redis};
//! use fluxora_webhooks_facade::core::{ReplayVerdict, sign};
//!
//! let verifier = Verifier::with_secret(b"topsecret");
//! let signature = sign(b"topsecret", b"1710000000", b"{}");
//! let headers = ReceivedHeaders::from_pairs([
//!     ("x-fluxora-delivery-id", "dlv_1"),
//!     ("x-fluxora-timestamp", "1710000000"),
//!     ("x-fluxora-signature", signature.as_str()),
//! ]);
//! let accepted = verifier.check(&headers, b"{}", 1_710_000_000).unwrap();
//! let call = redis::call(redis::DEFAULT_PREFIX, &accepted.entry(), 86_400);
//! assert!(call.keys[0].starts_with("fluxora:replay:id:"));
//! assert_eq!(call.args, ["86400".to_owned(), "301".to_owned()]);
//! // EVAL redis::SCRIPT 2 keys... args... answers an integer:
//! assert_eq!(redis::verdict(1), Ok(ReplayVerdict::DuplicateDelivery));
//! ```

use core::fmt;

use fluxora_webhooks::{ReplayEntry, ReplayVerdict};
use sha2::{Digest, Sha256};

use crate::replay::lower_hex;

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "fluxora:replay:";

/// One atomic check-and-record, in the contract's order: the delivery id first
/// (`KEYS[1]`), then the (timestamp, signature) pair (`KEYS[2]`). Nothing is written
/// unless both are new, so a replayed pair under a swapped id leaves nothing behind.
/// `ARGV[1]` and `ARGV[2]` are their expiries in seconds. Answers 0 (fresh),
/// 1 (`duplicate_delivery`) or 2 (`replayed_signature`).
pub const SCRIPT: &str = "\
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
return 0
";

/// The keys and arguments of one `EVAL` of [`SCRIPT`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// `KEYS`: the delivery id's key, then the (timestamp, signature) pair's.
    pub keys: [String; 2],
    /// `ARGV`: the id's expiry, then the pair's, in whole seconds (at least 1).
    pub args: [String; 2],
}

/// The key remembering a delivery id: its SHA-256, so ids of any length and any bytes
/// take one bounded, printable key.
///
/// ```
/// use fluxora_webhooks_facade::redis;
///
/// let key = redis::delivery_key("p:", b"dlv_1");
/// assert_eq!(key.len(), "p:id:".len() + 64);
/// ```
#[must_use]
pub fn delivery_key(prefix: &str, delivery_id: &[u8]) -> String {
    format!("{prefix}id:{}", lower_hex(&Sha256::digest(delivery_id)))
}

/// The key remembering a (timestamp, signature) pair.
///
/// ```
/// use fluxora_webhooks_facade::redis;
///
/// assert_eq!(redis::signature_key("p:", 17, &[0xab; 32]), format!("p:sig:17:{}", "ab".repeat(32)));
/// ```
#[must_use]
pub fn signature_key(prefix: &str, timestamp: u64, signature: &[u8; 32]) -> String {
    format!("{prefix}sig:{timestamp}:{}", lower_hex(signature))
}

/// The `EVAL` of [`SCRIPT`] for an accepted delivery's entry: the id is kept for
/// `delivery_retention_seconds`, the pair until `timestamp + tolerance` (inclusive).
#[must_use]
pub fn call(prefix: &str, entry: &ReplayEntry<'_>, delivery_retention_seconds: u64) -> Call {
    let pair_ttl = entry
        .signature_expires_at
        .saturating_sub(entry.now)
        .saturating_add(1);
    Call {
        keys: [
            delivery_key(prefix, entry.delivery_id),
            signature_key(prefix, entry.timestamp, &entry.signature),
        ],
        args: [
            delivery_retention_seconds.max(1).to_string(),
            pair_ttl.to_string(),
        ],
    }
}

/// The script answered something it never answers (another script under the same name,
/// a proxy's error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnexpectedReply(pub i64);

impl fmt::Display for UnexpectedReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the Redis replay script answered {}, expected 0, 1 or 2",
            self.0
        )
    }
}

impl std::error::Error for UnexpectedReply {}

/// The verdict of the script's integer reply.
///
/// ```
/// use fluxora_webhooks_facade::redis;
/// use fluxora_webhooks_facade::core::ReplayVerdict;
///
/// assert_eq!(redis::verdict(0), Ok(ReplayVerdict::Fresh));
/// assert_eq!(redis::verdict(2), Ok(ReplayVerdict::ReplayedSignature));
/// assert!(redis::verdict(7).is_err());
/// ```
pub fn verdict(reply: i64) -> Result<ReplayVerdict, UnexpectedReply> {
    match reply {
        0 => Ok(ReplayVerdict::Fresh),
        1 => Ok(ReplayVerdict::DuplicateDelivery),
        2 => Ok(ReplayVerdict::ReplayedSignature),
        other => Err(UnexpectedReply(other)),
    }
}
