//! Interleaved ratio measurement: the same comparisons as `verify`, robust to a noisy machine.
//!
//! Criterion measures one function after another, so load from other processes that comes
//! and goes lands on some functions and not others. Here every round times a short batch
//! of each function in turn, many rounds over, and each function keeps its fastest batch
//! (interference only ever adds time). Ratios are taken between those.
//!
//! Run: `cargo bench -p fluxora-benches --bench ratios`.

use fluxora_benches::{KeyedOnce, NOW, SECRET, SIZES, TIMESTAMP, body, keyed_per_message};
use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Verifier, sign};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: usize = 300;
const BATCH_NANOS: u128 = 40_000;

type Candidate<'a> = (&'static str, Box<dyn Fn() -> bool + 'a>);

/// Iterations per batch so one batch takes about `BATCH_NANOS`.
fn batch_size(run: &dyn Fn() -> bool) -> u32 {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed().as_nanos() < BATCH_NANOS * 10 {
        black_box(run());
        n += 1;
    }
    (n / 10).max(1)
}

fn fastest_per_call(candidates: &[Candidate<'_>]) -> Vec<f64> {
    let sizes: Vec<u32> = candidates
        .iter()
        .map(|(_, run)| batch_size(run.as_ref()))
        .collect();
    let mut best = vec![f64::INFINITY; candidates.len()];
    for round in 0..ROUNDS {
        for offset in 0..candidates.len() {
            // Rotate the order every round so no function always runs first.
            let index = (round + offset) % candidates.len();
            let (_, run) = &candidates[index];
            let start = Instant::now();
            for _ in 0..sizes[index] {
                black_box(run());
            }
            let per_call = start.elapsed().as_nanos() as f64 / f64::from(sizes[index]);
            best[index] = best[index].min(per_call);
        }
    }
    best
}

fn main() {
    if std::env::args().any(|arg| arg == "--test" || arg == "--list") {
        return;
    }
    let verifier = Verifier::new(SECRET);
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET);
    let keyed_once = KeyedOnce::new(SECRET);
    println!(
        "{:<7} {:>14} {:>22} {:>26} {:>22} {:>26}",
        "size",
        "fluxora verify",
        "raw SHA-256 (same bytes)",
        "HMAC keyed per message",
        "ring::hmac::verify",
        "hmac keyed once + clone"
    );
    for (size, label) in SIZES {
        let body = body(size);
        let signature = sign(SECRET, TIMESTAMP.as_bytes(), &body);
        let message = [TIMESTAMP.as_bytes(), b".", &body].concat();
        let tag = hex::decode(signature.as_str()).expect("hex");
        let headers = DeliveryHeaders::new("dlv_bench", TIMESTAMP, signature.as_str());
        let candidates: Vec<Candidate<'_>> = vec![
            (
                "fluxora",
                Box::new(|| {
                    verifier
                        .verify(
                            black_box(&headers),
                            black_box(&body),
                            NOW,
                            &mut NoReplayGuard,
                        )
                        .is_ok()
                }),
            ),
            (
                "raw",
                Box::new(|| Sha256::digest(black_box(&message))[0] != 0xff),
            ),
            (
                "keyed",
                Box::new(|| keyed_per_message(black_box(signature.as_str()), black_box(&body))),
            ),
            (
                "ring",
                Box::new(|| {
                    ring::hmac::verify(&ring_key, black_box(&message), black_box(&tag)).is_ok()
                }),
            ),
            (
                "hmac-once",
                Box::new(|| {
                    keyed_once.verify(
                        black_box(TIMESTAMP),
                        black_box(signature.as_str()),
                        black_box(&body),
                    )
                }),
            ),
        ];
        let best = fastest_per_call(&candidates);
        let ours = best[0];
        let cell = |theirs: f64| format!("{theirs:>9.0} ns ({:>5.3}x)", ours / theirs);
        println!(
            "{label:<7} {ours:>11.0} ns {:>22} {:>26} {:>22} {:>26}",
            cell(best[1]),
            cell(best[2]),
            cell(best[3]),
            cell(best[4])
        );
    }
    println!(
        "\n(Nx) = fluxora verify time / that implementation's time, fastest of {ROUNDS} interleaved batches each."
    );
}
