//! Property tests against an independent HMAC implementation (`ring`).

use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Outcome, Verifier, sign};
use proptest::prelude::*;

const NOW: u64 = 1_710_000_000;

fn ring_signature(secret: &[u8], timestamp: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let mut context = ring::hmac::Context::with_key(&key);
    context.update(timestamp);
    context.update(b".");
    context.update(body);
    hex::encode(context.sign().as_ref())
}

fn verify(verifier: &Verifier, timestamp: &str, signature: &str, body: &[u8]) -> Outcome {
    let headers = DeliveryHeaders::new("dlv_prop", timestamp, signature);
    verifier.verify(&headers, body, NOW, &mut NoReplayGuard)
}

fn secrets() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..200)
}

fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..4096)
}

fn timestamps() -> impl Strategy<Value = u64> {
    (NOW - 300)..=(NOW + 300)
}

proptest! {
    #[test]
    fn signing_agrees_with_ring(secret in secrets(), timestamp in any::<u64>(), body in bodies()) {
        let timestamp = timestamp.to_string();
        let ours = sign(&secret, timestamp.as_bytes(), &body);
        prop_assert_eq!(ours.as_str(), ring_signature(&secret, timestamp.as_bytes(), &body));
    }

    #[test]
    fn signing_agrees_with_the_hmac_crate(
        secret in prop::collection::vec(any::<u8>(), 0..200),
        timestamp in "[0-9]{1,20}",
        body in bodies(),
    ) {
        use hmac::{KeyInit, Mac};
        let mut reference = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret).expect("any length");
        reference.update(timestamp.as_bytes());
        reference.update(b".");
        reference.update(&body);
        let expected = hex::encode(reference.finalize().into_bytes());
        let ours = sign(&secret, timestamp.as_bytes(), &body);
        prop_assert_eq!(ours.as_str(), expected);
    }

    #[test]
    fn ring_signatures_verify(secret in secrets(), timestamp in timestamps(), body in bodies()) {
        let timestamp = timestamp.to_string();
        let signature = ring_signature(&secret, timestamp.as_bytes(), &body);
        let verifier = Verifier::new(&secret);
        prop_assert!(verify(&verifier, &timestamp, &signature, &body).is_ok());
        prop_assert!(verify(&verifier, &timestamp, &signature.to_uppercase(), &body).is_ok());
    }

    #[test]
    fn a_flipped_body_bit_is_rejected(
        secret in secrets(),
        body in prop::collection::vec(any::<u8>(), 1..2048),
        index in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let signature = ring_signature(&secret, b"1710000000", &body);
        let mut tampered = body.clone();
        tampered[index.index(body.len())] ^= 1 << bit;
        let verifier = Verifier::new(&secret);
        prop_assert_eq!(
            verify(&verifier, "1710000000", &signature, &tampered),
            Outcome::SignatureMismatch
        );
    }

    #[test]
    fn another_timestamp_is_rejected(secret in secrets(), body in bodies(), shift in 1u64..=300) {
        let signature = ring_signature(&secret, b"1710000000", &body);
        let verifier = Verifier::new(&secret);
        let moved = (NOW - shift).to_string();
        prop_assert_eq!(verify(&verifier, &moved, &signature, &body), Outcome::SignatureMismatch);
    }

    #[test]
    fn a_changed_signature_digit_is_rejected(
        secret in secrets(),
        body in bodies(),
        index in 0usize..64,
        replacement in prop::sample::select(b"0123456789abcdef".to_vec()),
    ) {
        let signature = ring_signature(&secret, b"1710000000", &body);
        let mut digits = signature.clone().into_bytes();
        prop_assume!(digits[index] != replacement);
        digits[index] = replacement;
        let changed = String::from_utf8(digits).expect("ascii");
        let verifier = Verifier::new(&secret);
        prop_assert_eq!(verify(&verifier, "1710000000", &changed, &body), Outcome::SignatureMismatch);
    }

    #[test]
    fn random_chunking_equals_one_shot(
        secret in secrets(),
        body in bodies(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        limit in 0u64..5000,
        valid in any::<bool>(),
    ) {
        let signature = if valid {
            ring_signature(&secret, b"1710000000", &body)
        } else {
            "ab".repeat(32)
        };
        let verifier = Verifier::new(&secret).with_max_body_bytes(limit);
        let headers = DeliveryHeaders::new("dlv_prop", "1710000000", signature.as_str());
        let one_shot = verifier.verify(&headers, &body, NOW, &mut NoReplayGuard);

        let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(body.len() + 1)).collect();
        points.sort_unstable();
        let mut verification = verifier.start(&headers, NOW).expect("headers present");
        let mut start = 0;
        let mut streamed = None;
        for end in points.into_iter().chain([body.len()]) {
            if let Err(outcome) = verification.update(&body[start..end]) {
                streamed = Some(outcome);
                break;
            }
            start = end;
        }
        let streamed = streamed.unwrap_or_else(|| verification.finish(&mut NoReplayGuard));
        prop_assert_eq!(streamed, one_shot);
    }

    #[test]
    fn arbitrary_headers_never_panic(
        delivery_id in prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
        timestamp in prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
        signature in prop::option::of(prop::collection::vec(any::<u8>(), 0..80)),
        body in bodies(),
        now in any::<u64>(),
    ) {
        let verifier = Verifier::new(b"topsecret").with_previous_secret(b"old", Some(now / 2));
        let headers = DeliveryHeaders {
            delivery_id: delivery_id.as_deref(),
            timestamp: timestamp.as_deref(),
            signature: signature.as_deref(),
        };
        let outcome = verifier.verify(&headers, &body, now, &mut NoReplayGuard);
        prop_assert!(!outcome.code().is_empty());
    }
}
