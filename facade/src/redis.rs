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
//! assert_eq!(call.args[..4], ["record", "-", "86400", "301"].map(str::to_owned));
//! // EVAL redis::SCRIPT 2 keys... args... answers an integer:
//! assert_eq!(redis::verdict(1), Ok(ReplayVerdict::DuplicateDelivery));
//! ```

use core::fmt;

use fluxora_webhooks::{ReplayEntry, ReplayVerdict};
use sha2::{Digest, Sha256};

use crate::replay::lower_hex;

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "fluxora:replay:";

/// The replay store's one script, for one-step records and two-phase reservations alike.
///
/// `KEYS[1]` remembers the delivery id: `c` once committed, the reservation's token while
/// reserved (its expiry is the lease, so a process that died frees it). `KEYS[2]` remembers
/// the (timestamp, signature) pair until `timestamp + tolerance`: `c` once committed,
/// otherwise its delivery id's digest `ARGV[5]`, so an attempt that was released or whose
/// lease ran out may use it again under the same id, and never under another. `ARGV[1]` is
/// the mode:
/// - `record` and `reserve` check the id (committed: 1 `duplicate_delivery`; reserved: 3
///   `delivery_in_progress`), then the pair (2 `replayed_signature`), then write both with the
///   expiries `ARGV[3]` (id) and `ARGV[4]` (pair); a reservation writes its token `ARGV[2]`.
///   0: done.
/// - `commit` and `release` act only for the holder of the reservation (token `ARGV[2]`)
///   while its lease runs: a commit writes `c` to both keys with the expiries `ARGV[3]` and
///   `ARGV[4]`; a release deletes the id's key and leaves the pair to its id. 0: done; 4: the
///   reservation was lost.
pub const SCRIPT: &str = "\
local mode = ARGV[1]
if mode == 'record' or mode == 'reserve' then
  local held = redis.call('GET', KEYS[1])
  if held then
    if held == 'c' then return 1 end
    return 3
  end
  local pair = redis.call('GET', KEYS[2])
  if pair and pair ~= ARGV[5] then return 2 end
  if mode == 'record' then
    redis.call('SET', KEYS[1], 'c', 'EX', ARGV[3])
    redis.call('SET', KEYS[2], 'c', 'EX', ARGV[4])
  else
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
    redis.call('SET', KEYS[2], ARGV[5], 'EX', ARGV[4])
  end
  return 0
end
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 4 end
if mode == 'commit' then
  redis.call('SET', KEYS[1], 'c', 'EX', ARGV[3])
  redis.call('SET', KEYS[2], 'c', 'EX', ARGV[4])
else
  redis.call('DEL', KEYS[1])
end
return 0
";

/// The keys and arguments of one `EVAL` of [`SCRIPT`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// `KEYS`: the delivery id's key, then the (timestamp, signature) pair's.
    pub keys: [String; 2],
    /// `ARGV`: the mode, the reservation token (`-` for a record), the id's expiry and the
    /// pair's in whole seconds (at least 1), and the delivery id's digest.
    pub args: [String; 5],
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
    format!("{prefix}id:{}", id_digest(delivery_id))
}

fn id_digest(delivery_id: &[u8]) -> String {
    lower_hex(&Sha256::digest(delivery_id))
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

/// Seconds from `now` to `until`, inclusive, at least 1 (Redis expiries are relative).
fn seconds_until(now: u64, until: u64) -> u64 {
    until.saturating_sub(now).saturating_add(1)
}

fn eval(prefix: &str, entry: &ReplayEntry<'_>, mode: &str, token: &str, ttls: [u64; 2]) -> Call {
    let digest = id_digest(entry.delivery_id);
    Call {
        keys: [
            format!("{prefix}id:{digest}"),
            signature_key(prefix, entry.timestamp, &entry.signature),
        ],
        args: [
            mode.to_owned(),
            token.to_owned(),
            ttls[0].max(1).to_string(),
            ttls[1].max(1).to_string(),
            digest,
        ],
    }
}

/// The one-step record of an accepted delivery's entry: the id is kept for
/// `delivery_retention_seconds`, the pair until `timestamp + tolerance` (inclusive).
#[must_use]
pub fn call(prefix: &str, entry: &ReplayEntry<'_>, delivery_retention_seconds: u64) -> Call {
    let pair = seconds_until(entry.now, entry.signature_expires_at);
    eval(
        prefix,
        entry,
        "record",
        "-",
        [delivery_retention_seconds, pair],
    )
}

/// A reservation of the entry under `token`: the id held for `lease_seconds`, the pair kept
/// until `timestamp + tolerance` for this delivery id.
#[must_use]
pub fn reserve_call(
    prefix: &str,
    entry: &ReplayEntry<'_>,
    token: &str,
    lease_seconds: u64,
) -> Call {
    let pair = seconds_until(entry.now, entry.signature_expires_at);
    eval(prefix, entry, "reserve", token, [lease_seconds, pair])
}

/// The commit at `now` of the reservation `token`: the id is then kept for
/// `delivery_retention_seconds`, the pair until `timestamp + tolerance`.
#[must_use]
pub fn commit_call(
    prefix: &str,
    entry: &ReplayEntry<'_>,
    token: &str,
    delivery_retention_seconds: u64,
    now: u64,
) -> Call {
    let pair = seconds_until(now, entry.signature_expires_at);
    eval(
        prefix,
        entry,
        "commit",
        token,
        [delivery_retention_seconds, pair],
    )
}

/// The release of the reservation `token`.
#[must_use]
pub fn release_call(prefix: &str, entry: &ReplayEntry<'_>, token: &str) -> Call {
    eval(prefix, entry, "release", token, [1, 1])
}

/// A fresh reservation token: 32 random hex digits.
///
/// ```
/// let token = fluxora_webhooks_facade::redis::new_token();
/// assert_eq!(token.len(), 32);
/// assert_ne!(token, fluxora_webhooks_facade::redis::new_token());
/// ```
#[cfg(feature = "system-random")]
#[must_use]
pub fn new_token() -> String {
    lower_hex(&crate::signing::random_bytes())
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

/// The verdict of the script's reply to a `record` or a `reserve`.
///
/// ```
/// use fluxora_webhooks_facade::redis;
/// use fluxora_webhooks_facade::core::ReplayVerdict;
///
/// assert_eq!(redis::verdict(0), Ok(ReplayVerdict::Fresh));
/// assert_eq!(redis::verdict(2), Ok(ReplayVerdict::ReplayedSignature));
/// assert_eq!(redis::verdict(3), Ok(ReplayVerdict::InProgress));
/// assert!(redis::verdict(7).is_err());
/// ```
pub fn verdict(reply: i64) -> Result<ReplayVerdict, UnexpectedReply> {
    match reply {
        0 => Ok(ReplayVerdict::Fresh),
        1 => Ok(ReplayVerdict::DuplicateDelivery),
        2 => Ok(ReplayVerdict::ReplayedSignature),
        3 => Ok(ReplayVerdict::InProgress),
        other => Err(UnexpectedReply(other)),
    }
}

/// Whether a `commit` or a `release` took effect (false: the reservation was lost).
///
/// ```
/// use fluxora_webhooks_facade::redis;
///
/// assert_eq!(redis::settled(0), Ok(true));
/// assert_eq!(redis::settled(4), Ok(false));
/// assert!(redis::settled(1).is_err());
/// ```
pub fn settled(reply: i64) -> Result<bool, UnexpectedReply> {
    match reply {
        0 => Ok(true),
        4 => Ok(false),
        other => Err(UnexpectedReply(other)),
    }
}
