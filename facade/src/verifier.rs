//! A verifier built from validated settings, over the headers gathered by the one lookup.

use std::time::{SystemTime, UNIX_EPOCH};

use fluxora_webhooks::{Outcome, OutcomeCode, ReplayGuard, Verifier as CoreVerifier};

use crate::headers::ReceivedHeaders;
use crate::replay::Accepted;
use crate::settings::{SecretRule, Settings, SettingsError, SettingsInput};

/// Verifies deliveries whose headers were gathered by [`ReceivedHeaders`].
///
/// ```
/// use fluxora_webhooks_facade::{Loose, ReceivedHeaders, SecretRule, SettingsInput, Verifier};
/// use fluxora_webhooks_facade::core::{NoReplayGuard, sign};
///
/// let input = SettingsInput { secret: Loose::Text("topsecret"), ..Default::default() };
/// let verifier = Verifier::from_input(&input, SecretRule::Required)?;
/// let signature = sign(b"topsecret", b"1710000000", b"{}");
/// let headers = ReceivedHeaders::from_pairs([
///     ("X-Fluxora-Delivery-Id", "dlv_1"),
///     ("X-Fluxora-Timestamp", "1710000000"),
///     ("X-Fluxora-Signature", signature.as_str()),
/// ]);
/// assert!(verifier.verify(&headers, b"{}", 1_710_000_000, &mut NoReplayGuard).is_ok());
/// # Ok::<(), fluxora_webhooks_facade::SettingsError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Verifier {
    settings: Settings,
    core: CoreVerifier,
}

impl Verifier {
    /// A verifier for validated settings.
    #[must_use]
    pub fn new(settings: Settings) -> Self {
        let core = settings.core_verifier();
        Self { settings, core }
    }

    /// Validates loose options and builds the verifier.
    pub fn from_input(input: &SettingsInput<'_>, rule: SecretRule) -> Result<Self, SettingsError> {
        Settings::from_input(input, rule).map(Self::new)
    }

    /// A verifier for one secret with every default (for tests and examples).
    ///
    /// ```
    /// use fluxora_webhooks_facade::Verifier;
    ///
    /// assert_eq!(Verifier::with_secret(b"s").settings().max_body_bytes(), 262_144);
    /// ```
    #[must_use]
    pub fn with_secret(secret: &[u8]) -> Self {
        Self::new(Settings::with_secret(secret))
    }

    /// The validated settings.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The core verifier, for streaming a body in chunks ([`CoreVerifier::start`]).
    #[must_use]
    pub fn core(&self) -> &CoreVerifier {
        &self.core
    }

    /// Verifies one delivery in one step: every check, then the replay step in `guard`.
    pub fn verify<G: ReplayGuard + ?Sized>(
        &self,
        headers: &ReceivedHeaders,
        body: &[u8],
        now: u64,
        guard: &mut G,
    ) -> Outcome {
        self.core.verify(&headers.delivery(), body, now, guard)
    }

    /// Every check up to the replay step; `Ok` carries what a store must check and record.
    pub fn check(
        &self,
        headers: &ReceivedHeaders,
        body: &[u8],
        now: u64,
    ) -> Result<Accepted, Outcome> {
        self.core
            .check(&headers.delivery(), body, now)
            .map(|checked| Accepted::from_checked(&checked))
    }

    /// The outcome a code stands for under this verifier's limits.
    pub fn outcome(&self, code: OutcomeCode) -> Outcome {
        outcome_for(
            code,
            self.settings.tolerance_seconds(),
            self.settings.max_body_bytes(),
        )
    }
}

/// The outcome a code stands for, with the limits its message names (`ok` without the
/// previous secret).
///
/// ```
/// use fluxora_webhooks_facade::outcome_for;
/// use fluxora_webhooks_facade::core::OutcomeCode;
///
/// let outcome = outcome_for(OutcomeCode::PayloadTooLarge, 300, 1024);
/// assert_eq!(outcome.message().as_str(), "Payload exceeds 1024 bytes");
/// // Every code stands for itself.
/// for code in OutcomeCode::ALL {
///     assert_eq!(outcome_for(code, 300, 1024).kind(), code);
/// }
/// ```
pub fn outcome_for(code: OutcomeCode, tolerance_seconds: u64, max_body_bytes: u64) -> Outcome {
    match code {
        OutcomeCode::Ok => Outcome::Verified {
            used_previous_secret: false,
        },
        OutcomeCode::MissingSecret => Outcome::MissingSecret,
        OutcomeCode::MissingDeliveryId => Outcome::MissingDeliveryId,
        OutcomeCode::MissingTimestamp => Outcome::MissingTimestamp,
        OutcomeCode::MissingSignature => Outcome::MissingSignature,
        OutcomeCode::PayloadTooLarge => Outcome::PayloadTooLarge {
            limit: max_body_bytes,
        },
        OutcomeCode::InvalidTimestamp => Outcome::InvalidTimestamp,
        OutcomeCode::TimestampOutsideTolerance => {
            Outcome::TimestampOutsideTolerance { tolerance_seconds }
        }
        OutcomeCode::PreviousSecretExpired => Outcome::PreviousSecretExpired,
        OutcomeCode::DuplicateDelivery => Outcome::DuplicateDelivery,
        OutcomeCode::ReplayedSignature => Outcome::ReplayedSignature,
        OutcomeCode::ConsumerOverloaded => Outcome::ConsumerOverloaded,
        OutcomeCode::DeliveryInProgress => Outcome::DeliveryInProgress,
        // `SignatureMismatch`, and any code a newer core adds.
        _ => Outcome::SignatureMismatch,
    }
}

/// Every outcome, in check order (`ok` first), under the given limits.
///
/// ```
/// use fluxora_webhooks_facade::outcome_table;
///
/// let table = outcome_table(300, 262_144);
/// assert_eq!(table[0].code(), "ok");
/// assert_eq!(table.len(), fluxora_webhooks_facade::core::OutcomeCode::ALL.len());
/// ```
#[must_use]
pub fn outcome_table(tolerance_seconds: u64, max_body_bytes: u64) -> Vec<Outcome> {
    OutcomeCode::ALL
        .iter()
        .map(|&code| outcome_for(code, tolerance_seconds, max_body_bytes))
        .collect()
}

/// The system clock in Unix seconds (0 before 1970).
///
/// ```
/// assert!(fluxora_webhooks_facade::system_now() > 1_700_000_000);
/// ```
#[must_use]
pub fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
