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
