//! What the core's benchmarks share: the delivery they verify and the hand-written
//! verifier that receivers use today, so `verify` (criterion) and `ratios` (interleaved)
//! measure exactly the same work.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The secret every benchmark signs and verifies with.
pub const SECRET: &[u8] = b"whsec_benchmark_secret_0123456789";
/// The signed timestamp header.
pub const TIMESTAMP: &str = "1710000000";
/// The verification time: equal to the timestamp, so every delivery is fresh.
pub const NOW: u64 = 1_710_000_000;
/// Body sizes measured, with their labels.
pub const SIZES: [(usize, &str); 4] = [
    (0, "0B"),
    (1024, "1KiB"),
    (16 * 1024, "16KiB"),
    (256 * 1024, "256KiB"),
];

/// A deterministic, non-repeating-looking body of `size` bytes.
///
/// ```
/// assert_eq!(fluxora_benches::body(3), vec![0, 31, 62]);
/// ```
pub fn body(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 % 251) as u8).collect()
}

/// What a receiver writes by hand today: key HMAC for every message, then compare.
///
/// ```
/// use fluxora_benches::{SECRET, TIMESTAMP, keyed_per_message};
/// let signature = fluxora_webhooks::sign(SECRET, TIMESTAMP.as_bytes(), b"{}");
/// assert!(keyed_per_message(signature.as_str(), b"{}"));
/// assert!(!keyed_per_message(signature.as_str(), b"{ }"));
/// ```
pub fn keyed_per_message(signature: &str, body: &[u8]) -> bool {
    let Ok(expected) = hex::decode(signature.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).expect("HMAC takes keys of any length");
    mac.update(TIMESTAMP.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The `hmac` crate used the way the core works: keyed once (pads absorbed), then cloned per
/// message, with the contract's checks around it (the baseline the core's hand-written HMAC
/// bookkeeping in `core/src/mac.rs` must beat to be kept).
///
/// ```
/// use fluxora_benches::{KeyedOnce, SECRET, TIMESTAMP};
/// let keyed = KeyedOnce::new(SECRET);
/// let signature = fluxora_webhooks::sign(SECRET, TIMESTAMP.as_bytes(), b"{}");
/// assert!(keyed.verify(TIMESTAMP, signature.as_str(), b"{}"));
/// assert!(!keyed.verify(TIMESTAMP, signature.as_str(), b"{ }"));
/// ```
#[derive(Clone)]
pub struct KeyedOnce(Hmac<Sha256>);

impl KeyedOnce {
    /// Keys HMAC-SHA256 once.
    pub fn new(secret: &[u8]) -> Self {
        Self(Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length"))
    }

    /// Parses the timestamp and the signature as the contract does, then clones the keyed
    /// state and compares in constant time (`verify_slice`).
    pub fn verify(&self, timestamp: &str, signature: &str, body: &[u8]) -> bool {
        let Some(stamp) = fluxora_webhooks::parse_timestamp(timestamp.as_bytes()) else {
            return false;
        };
        if stamp.abs_diff(NOW) > 300 {
            return false;
        }
        let mut expected = [0u8; 32];
        if hex::decode_to_slice(signature.trim(), &mut expected).is_err() {
            return false;
        }
        let mut mac = self.0.clone();
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    }
}
