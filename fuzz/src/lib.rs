//! The properties the fuzz targets check; each target is a one-line call into here.

use arbitrary::Arbitrary;
use fluxora_webhooks::decimal;
use fluxora_webhooks::{DeliveryHeaders, FixedReplayStore, NoReplayGuard, Outcome, Verifier, sign};

/// One delivery as an attacker could shape it: any header bytes, any body, any clock.
#[derive(Debug, Arbitrary)]
pub struct Delivery {
    delivery_id: Option<Vec<u8>>,
    timestamp: Option<Vec<u8>>,
    signature: Option<Vec<u8>>,
    body: Vec<u8>,
    now: u64,
    max_body_bytes: u16,
    rotated_at: Option<u64>,
    /// Sign the body properly (so the fuzzer reaches the replay checks too).
    sign_it: bool,
    chunk_sizes: Vec<u8>,
}

impl Delivery {
    fn verifier(&self) -> Verifier {
        Verifier::new(b"fuzz-secret")
            .with_previous_secret(b"old-fuzz-secret", self.rotated_at)
            .with_max_body_bytes(u64::from(self.max_body_bytes))
    }

    fn signature(&self) -> Option<Vec<u8>> {
        match (&self.timestamp, self.sign_it) {
            (Some(timestamp), true) => {
                Some(sign(b"fuzz-secret", timestamp, &self.body).as_bytes().to_vec())
            }
            _ => self.signature.clone(),
        }
    }
}

/// Verification never panics, answers a known code, and a store never accepts twice.
pub fn verify_any(delivery: &Delivery) {
    let verifier = delivery.verifier();
    let signature = delivery.signature();
    let headers = DeliveryHeaders {
        delivery_id: delivery.delivery_id.as_deref(),
        timestamp: delivery.timestamp.as_deref(),
        signature: signature.as_deref(),
    };
    let mut store = FixedReplayStore::<4>::new();
    let first = verifier.verify(&headers, &delivery.body, delivery.now, &mut store);
    assert!(!first.message().as_str().is_empty());
    let again = verifier.verify(&headers, &delivery.body, delivery.now, &mut store);
    if first.is_ok() {
        assert_eq!(again, Outcome::DuplicateDelivery);
    } else {
        assert_eq!(again, first, "a rejected delivery must not change the store");
    }
}

/// Streaming the body in arbitrary chunks answers exactly what one-shot verification does.
pub fn incremental_matches_one_shot(delivery: &Delivery) {
    let verifier = delivery.verifier();
    let signature = delivery.signature();
    let headers = DeliveryHeaders {
        delivery_id: delivery.delivery_id.as_deref(),
        timestamp: delivery.timestamp.as_deref(),
        signature: signature.as_deref(),
    };
    let one_shot = verifier.verify(&headers, &delivery.body, delivery.now, &mut NoReplayGuard);
    let streamed = match verifier.start(&headers, delivery.now) {
        Err(outcome) => outcome,
        Ok(mut verification) => {
            // Size 0 would never advance; an empty size list means one chunk.
            let mut sizes = delivery.chunk_sizes.iter().map(|&s| usize::from(s).max(1)).cycle();
            let mut rest = delivery.body.as_slice();
            let failed = loop {
                if rest.is_empty() {
                    break None;
                }
                let take = sizes.next().unwrap_or(rest.len()).min(rest.len());
                let (chunk, tail) = rest.split_at(take);
                rest = tail;
                if let Err(outcome) = verification.update(chunk) {
                    break Some(outcome);
                }
            };
            failed.unwrap_or_else(|| verification.finish(&mut NoReplayGuard))
        }
    };
    assert_eq!(streamed, one_shot);
}

/// Decimal parsing never panics; accepted values normalize to a prefix and round-trip.
pub fn decimal_any(input: &[u8]) {
    let Ok(text) = core::str::from_utf8(input) else {
        return;
    };
    if let Ok(value) = decimal::parse(text) {
        assert!(text.starts_with(value.as_str()));
        assert_eq!(decimal::parse(value.as_str()).map(|v| v.as_str()), Ok(value.as_str()));
    }
    if let Ok(stroops) = decimal::to_stroops(text) {
        let formatted = decimal::format_stroops(stroops);
        assert_eq!(decimal::to_stroops(formatted.as_str()), Ok(stroops));
    }
}
