//! Verifies one delivery in a loop, for instruction-level profiles:
//! `valgrind --tool=callgrind target/release/examples/verify_loop [body-bytes] [iterations]`.

use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Verifier, sign};
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let size: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let iterations: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let body = vec![b'x'; size];
    let verifier = Verifier::new(b"whsec_profile");
    let signature = sign(b"whsec_profile", b"1710000000", &body);
    let headers = DeliveryHeaders::new("dlv", "1710000000", signature.as_str());
    let accepted = (0..iterations)
        .filter(|_| {
            verifier
                .verify(
                    black_box(&headers),
                    black_box(&body),
                    1_710_000_000,
                    &mut NoReplayGuard,
                )
                .is_ok()
        })
        .count();
    assert_eq!(accepted, iterations);
}
