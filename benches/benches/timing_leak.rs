//! A dudect-style timing-leak check of signature comparison.
//!
//! Two classes of forged signatures are verified in random order: one differing from the
//! valid signature in its first byte, one in its last byte. A comparison that stops at the
//! first differing byte makes the first class faster. Welch's t-test over the timings
//! (after cropping the slowest samples, as dudect does) tells whether the classes are
//! distinguishable; |t| < 4.5 is dudect's threshold for "no leak detected".
//!
//! Run: `cargo bench -p fluxora-benches --bench timing_leak`. As a control, the same
//! measurement runs against a deliberately leaky early-exit comparison, which must show
//! a large |t|.

use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Verifier, sign};
use std::hint::black_box;
use std::time::Instant;

const SAMPLES: usize = 400_000;
const SECRET: &[u8] = b"whsec_timing_secret";
const TIMESTAMP: &str = "1710000000";
const NOW: u64 = 1_710_000_000;

/// A tiny xorshift generator: class order must be unpredictable to the CPU, not secure.
struct XorShift(u64);

impl XorShift {
    fn next_bit(&mut self) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 & 1 == 1
    }
}

fn forged(valid: &str, digit_index: usize) -> String {
    let mut digits = valid.as_bytes().to_vec();
    digits[digit_index] = if digits[digit_index] == b'0' {
        b'1'
    } else {
        b'0'
    };
    String::from_utf8(digits).expect("ascii")
}

/// Welch's t statistic between the two classes after cropping each at a percentile.
fn welch_t(first: &mut [u64], last: &mut [u64], keep: f64) -> f64 {
    let stats = |samples: &mut [u64]| {
        samples.sort_unstable();
        let kept = &samples[..((samples.len() as f64) * keep) as usize];
        let n = kept.len() as f64;
        let mean = kept.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = kept.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var, n)
    };
    let (m1, v1, n1) = stats(first);
    let (m2, v2, n2) = stats(last);
    (m1 - m2) / (v1 / n1 + v2 / n2).sqrt()
}

/// Times `check` on inputs of both classes in random order. Each input is first copied
/// into one shared buffer (outside the timed region), so the classes differ only in
/// content, never in memory location.
fn measure(
    first_input: &[u8],
    last_input: &[u8],
    mut check: impl FnMut(&[u8]) -> bool,
) -> (Vec<u64>, Vec<u64>) {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut buffer = first_input.to_vec();
    let mut first = Vec::with_capacity(SAMPLES / 2 + 1);
    let mut last = Vec::with_capacity(SAMPLES / 2 + 1);
    for _ in 0..SAMPLES {
        let class_first = rng.next_bit();
        buffer.copy_from_slice(if class_first { first_input } else { last_input });
        let start = Instant::now();
        let accepted = black_box(check(black_box(&buffer)));
        let elapsed = start.elapsed().as_nanos() as u64;
        assert!(!accepted, "a forged signature was accepted");
        if class_first {
            first.push(elapsed);
        } else {
            last.push(elapsed);
        }
    }
    (first, last)
}

fn report(name: &str, (mut first, mut last): (Vec<u64>, Vec<u64>)) {
    for keep in [0.5, 0.9, 0.99] {
        let t = welch_t(&mut first, &mut last, keep);
        let verdict = if t.abs() < 4.5 {
            "no leak detected"
        } else {
            "DISTINGUISHABLE"
        };
        println!(
            "{name:<34} fastest {:>3.0}% kept: t = {t:>8.2}  ({verdict})",
            keep * 100.0
        );
    }
}

fn main() {
    // Under `cargo test --benches` only prove the harness runs.
    if std::env::args().any(|arg| arg == "--test" || arg == "--list") {
        return;
    }
    let body = br#"{"event":"stream.updated","streamId":"st_1"}"#;
    let verifier = Verifier::new(SECRET);
    let valid = sign(SECRET, TIMESTAMP.as_bytes(), body);
    let wrong_first = forged(valid.as_str(), 0);
    let wrong_last = forged(valid.as_str(), 63);

    println!("{SAMPLES} samples per check; |t| < 4.5 means the classes are indistinguishable");
    report(
        "fluxora verify (constant-time)",
        measure(wrong_first.as_bytes(), wrong_last.as_bytes(), |signature| {
            let headers = DeliveryHeaders::new("dlv", TIMESTAMP, signature);
            verifier
                .verify(&headers, body, NOW, &mut NoReplayGuard)
                .is_ok()
        }),
    );

    // Control: an early-exit comparison of the hex strings, which leaks by design.
    let valid_hex = valid.as_str().as_bytes().to_vec();
    report(
        "control: early-exit compare",
        measure(wrong_first.as_bytes(), wrong_last.as_bytes(), |candidate| {
            for (x, y) in valid_hex.iter().zip(candidate) {
                if black_box(x) != black_box(y) {
                    return false;
                }
                // Widen the per-byte cost so the leak rises above timer noise.
                std::hint::spin_loop();
            }
            true
        }),
    );
}
