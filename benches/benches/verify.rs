//! verify() against raw SHA-256 of the same bytes, a per-message keyed HMAC, and ring.
//!
//! Run: `cargo bench -p fluxora-benches --bench verify`, then
//! `python3 benches/report.py` for the ratio table.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fluxora_benches::{NOW, SECRET, SIZES, TIMESTAMP, body, keyed_per_message};
use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Verifier, sign};
use sha2::{Digest, Sha256};
use std::hint::black_box;

fn bench_verify(c: &mut Criterion) {
    let verifier = Verifier::new(SECRET);
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET);
    for (size, label) in SIZES {
        let body = body(size);
        let signature = sign(SECRET, TIMESTAMP.as_bytes(), &body);
        let signed_message = [TIMESTAMP.as_bytes(), b".", &body].concat();
        let tag = hex::decode(signature.as_str()).expect("hex");
        let headers = DeliveryHeaders::new("dlv_bench", TIMESTAMP, signature.as_str());
        assert!(
            verifier
                .verify(&headers, &body, NOW, &mut NoReplayGuard)
                .is_ok()
        );
        assert!(keyed_per_message(signature.as_str(), &body));
        assert!(ring::hmac::verify(&ring_key, &signed_message, &tag).is_ok());

        let mut group = c.benchmark_group(format!("verify/{label}"));
        group.throughput(Throughput::Bytes(signed_message.len() as u64));
        group.bench_function(BenchmarkId::from_parameter("fluxora_verify"), |b| {
            b.iter(|| {
                verifier
                    .verify(
                        black_box(&headers),
                        black_box(&body),
                        NOW,
                        &mut NoReplayGuard,
                    )
                    .is_ok()
            })
        });
        group.bench_function(BenchmarkId::from_parameter("raw_sha256"), |b| {
            b.iter(|| Sha256::digest(black_box(&signed_message)))
        });
        group.bench_function(BenchmarkId::from_parameter("hmac_keyed_per_message"), |b| {
            b.iter(|| keyed_per_message(black_box(signature.as_str()), black_box(&body)))
        });
        group.bench_function(BenchmarkId::from_parameter("ring_hmac_verify"), |b| {
            b.iter(|| {
                ring::hmac::verify(&ring_key, black_box(&signed_message), black_box(&tag)).is_ok()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
