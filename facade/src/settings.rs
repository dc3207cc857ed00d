//! Verifier settings from loose runtime values: one validation, one error type.
//!
//! A binding converts each option it was given into a [`Loose`] value (it decides nothing
//! about ranges or defaults) and raises a [`SettingsError`] as its own error type, with
//! the field spelled the way its users write it ([`Spelling`]).

use core::fmt;

use fluxora_webhooks::{
    DEFAULT_DELIVERY_RETENTION_SECONDS, DEFAULT_GRACE_WINDOW_SECONDS, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_RESERVATION_LEASE_SECONDS, DEFAULT_TOLERANCE_SECONDS, MemoryReplayStore,
    Verifier as CoreVerifier,
};
use zeroize::Zeroizing;

/// The largest whole number every runtime represents exactly (JavaScript's
/// `Number.MAX_SAFE_INTEGER`): the upper bound of every numeric setting, so a setting
/// that works in one runtime works in all.
///
/// ```
/// assert_eq!(fluxora_webhooks_facade::MAX_WHOLE, (1u64 << 53) - 1);
/// ```
pub const MAX_WHOLE: u64 = (1 << 53) - 1;

/// A value as a runtime handed it over, before any validation.
///
/// ```
/// use fluxora_webhooks_facade::{Field, Loose, Problem, Settings, SettingsInput, SecretRule};
///
/// let input = SettingsInput {
///     secret: Loose::Text("topsecret"),
///     tolerance_seconds: Loose::Number(1.5),
///     ..SettingsInput::default()
/// };
/// let error = Settings::from_input(&input, SecretRule::Required).unwrap_err();
/// assert_eq!((error.field, error.problem), (Field::ToleranceSeconds, Problem::NotWhole));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Loose<'a> {
    /// Not given (a missing key, `undefined`, a keyword left out).
    #[default]
    Absent,
    /// An explicit null (`null`, `None` where it is a value).
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer (Python `int`, JavaScript `BigInt`), saturated to `i128`.
    Integer(i128),
    /// A floating-point number (every JavaScript `number`).
    Number(f64),
    /// Text.
    Text(&'a str),
    /// Raw bytes.
    Bytes(&'a [u8]),
    /// Text that is not valid Unicode (a Python `str` with a lone surrogate).
    InvalidText,
    /// Anything else (an object, a list, a function).
    Other,
}

/// Which runtime's names an error uses.
///
/// ```
/// use fluxora_webhooks_facade::{Field, Spelling};
///
/// assert_eq!(Field::ToleranceSeconds.name(Spelling::JavaScript), "toleranceSeconds");
/// assert_eq!(Field::ToleranceSeconds.name(Spelling::Python), "tolerance_seconds");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// camelCase option names (Node, wasm).
    JavaScript,
    /// snake_case keyword names (Python, the conformance file).
    Python,
}

/// A setting or input a [`SettingsError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The current secret.
    Secret,
    /// The previous secret (`previousSecret` on a verifier).
    PreviousSecret,
    /// The previous secret as the drop-in `verifyWebhookSignature` names it (`secretPrevious`).
    SecretPrevious,
    /// When the previous secret was rotated out.
    PreviousSecretRotatedAt,
    /// The previous secret's grace window.
    GraceWindowSeconds,
    /// The freshness window.
    ToleranceSeconds,
    /// The body limit.
    MaxBodyBytes,
    /// The replay store choice.
    Replay,
    /// How many deliveries an in-memory replay store remembers.
    ReplayCapacity,
    /// How long an accepted delivery id is remembered.
    DeliveryRetentionSeconds,
    /// How long a reservation holds a delivery id (two-phase replay).
    ReservationLeaseSeconds,
    /// The verification time.
    Now,
    /// The timestamp to sign.
    Timestamp,
}

impl Field {
    /// Every field, in the order [`Settings::from_input`] checks them.
    pub const ALL: [Self; 13] = [
        Self::Secret,
        Self::PreviousSecret,
        Self::SecretPrevious,
        Self::PreviousSecretRotatedAt,
        Self::GraceWindowSeconds,
        Self::ToleranceSeconds,
        Self::MaxBodyBytes,
        Self::Replay,
        Self::ReplayCapacity,
        Self::DeliveryRetentionSeconds,
        Self::ReservationLeaseSeconds,
        Self::Now,
        Self::Timestamp,
    ];

    /// The field's name as users of a runtime write it.
    ///
    /// ```
    /// use fluxora_webhooks_facade::{Field, Spelling};
    ///
    /// assert_eq!(Field::SecretPrevious.name(Spelling::JavaScript), "secretPrevious");
    /// assert_eq!(Field::SecretPrevious.name(Spelling::Python), "previous_secret");
    /// ```
    #[must_use]
    pub const fn name(self, spelling: Spelling) -> &'static str {
        let (js, python) = match self {
            Self::Secret => ("secret", "secret"),
            Self::PreviousSecret => ("previousSecret", "previous_secret"),
            Self::SecretPrevious => ("secretPrevious", "previous_secret"),
            Self::PreviousSecretRotatedAt => {
                ("previousSecretRotatedAt", "previous_secret_rotated_at")
            }
            Self::GraceWindowSeconds => ("graceWindowSeconds", "grace_window_seconds"),
            Self::ToleranceSeconds => ("toleranceSeconds", "tolerance_seconds"),
            Self::MaxBodyBytes => ("maxBodyBytes", "max_body_bytes"),
            Self::Replay => ("replay", "replay_store"),
            Self::ReplayCapacity => ("capacity", "capacity"),
            Self::DeliveryRetentionSeconds => {
                ("deliveryRetentionSeconds", "delivery_retention_seconds")
            }
            Self::ReservationLeaseSeconds => {
                ("reservationLeaseSeconds", "reservation_lease_seconds")
            }
            Self::Now => ("now", "now"),
            Self::Timestamp => ("timestamp", "timestamp"),
        };
        match spelling {
            Spelling::JavaScript => js,
            Spelling::Python => python,
        }
    }

    /// The field's canonical name (snake_case, as in the conformance file).
    ///
    /// ```
    /// use fluxora_webhooks_facade::Field;
    ///
    /// assert_eq!(Field::from_canonical("max_body_bytes"), Some(Field::MaxBodyBytes));
    /// assert_eq!(Field::MaxBodyBytes.canonical(), "max_body_bytes");
    /// ```
    #[must_use]
    pub const fn canonical(self) -> &'static str {
        match self {
            Self::SecretPrevious => "secret_previous",
            Self::Replay => "replay",
            _ => self.name(Spelling::Python),
        }
    }

    /// The field with this canonical name.
    #[must_use]
    pub fn from_canonical(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|field| field.canonical() == name)
    }

    /// What a value of this field must be, in a runtime's words.
    const fn expected(self, spelling: Spelling) -> &'static str {
        match (self, spelling) {
            (Self::Secret | Self::PreviousSecret | Self::SecretPrevious, Spelling::JavaScript) => {
                "a string"
            }
            (Self::Secret | Self::PreviousSecret | Self::SecretPrevious, Spelling::Python) => {
                "str or bytes"
            }
            (Self::Replay, Spelling::JavaScript) => {
                "false or { capacity, deliveryRetentionSeconds }"
            }
            (Self::Replay, Spelling::Python) => {
                "MemoryReplayStore, NoReplayStore, RedisReplayStore or an object with check_and_record()"
            }
            (Self::Now, Spelling::JavaScript) => "Unix seconds (a number) or a Date",
            (Self::Timestamp, Spelling::JavaScript) => "a string or a number of Unix seconds",
            (Self::Timestamp, Spelling::Python) => "str or an int of Unix seconds",
            _ => "a whole number",
        }
    }

    /// The smallest value this numeric field accepts.
    const fn min(self) -> u64 {
        match self {
            Self::ReplayCapacity
            | Self::DeliveryRetentionSeconds
            | Self::ReservationLeaseSeconds => 1,
            _ => 0,
        }
    }
}

/// What is wrong with a setting.
///
/// ```
/// use fluxora_webhooks_facade::Problem;
///
/// assert_eq!(Problem::OutOfRange.code(), "out_of_range");
/// assert_eq!(Problem::from_code("not_whole"), Some(Problem::NotWhole));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Problem {
    /// Required and not given (or empty).
    Missing,
    /// A value of the wrong type.
    WrongType,
    /// A number that is not whole (a fraction, NaN, an infinity).
    NotWhole,
    /// A whole number outside the field's range.
    OutOfRange,
    /// Text that is not valid Unicode.
    InvalidText,
}

impl Problem {
    /// Every problem.
    pub const ALL: [Self; 5] = [
        Self::Missing,
        Self::WrongType,
        Self::NotWhole,
        Self::OutOfRange,
        Self::InvalidText,
    ];

    /// The stable code of the problem (the conformance file's `problem`).
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::WrongType => "wrong_type",
            Self::NotWhole => "not_whole",
            Self::OutOfRange => "out_of_range",
            Self::InvalidText => "invalid_text",
        }
    }

    /// The problem with this code.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|problem| problem.code() == code)
    }
}

/// A setting that cannot be used: which one, and what is wrong with it. Never holds the
/// value itself, so a secret cannot leak through it.
///
/// ```
/// use fluxora_webhooks_facade::{Field, Problem, SettingsError, Spelling};
///
/// let error = SettingsError { field: Field::MaxBodyBytes, problem: Problem::OutOfRange };
/// assert_eq!(
///     error.message(Spelling::JavaScript),
///     "maxBodyBytes must be a whole number from 0 to 9007199254740991"
/// );
/// assert_eq!(error.message(Spelling::Python), "max_body_bytes must be a whole number from 0 to 9007199254740991");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingsError {
    /// The setting.
    pub field: Field,
    /// What is wrong with it.
    pub problem: Problem,
}

impl SettingsError {
    const fn new(field: Field, problem: Problem) -> Self {
        Self { field, problem }
    }

    /// The error's message, naming the field as a runtime's users write it.
    ///
    /// ```
    /// use fluxora_webhooks_facade::{Field, Problem, SettingsError, Spelling};
    ///
    /// let error = SettingsError { field: Field::Secret, problem: Problem::Missing };
    /// assert_eq!(
    ///     error.message(Spelling::Python),
    ///     "secret is required: configure the webhook secret (a non-empty value)"
    /// );
    /// ```
    #[must_use]
    pub fn message(&self, spelling: Spelling) -> String {
        let name = self.field.name(spelling);
        match self.problem {
            Problem::Missing => {
                format!("{name} is required: configure the webhook secret (a non-empty value)")
            }
            Problem::WrongType => format!("{name} must be {}", self.field.expected(spelling)),
            Problem::NotWhole | Problem::OutOfRange => format!(
                "{name} must be a whole number from {} to {MAX_WHOLE}",
                self.field.min()
            ),
            Problem::InvalidText => format!("{name} must be valid UTF-8 text"),
        }
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Spelling::Python))
    }
}

impl std::error::Error for SettingsError {}

/// A whole number in `field`'s range, or its default when absent or null.
fn whole(field: Field, value: Loose<'_>, default: u64) -> Result<u64, SettingsError> {
    let error = |problem| Err(SettingsError::new(field, problem));
    let number = match value {
        Loose::Absent | Loose::Null => return Ok(default),
        Loose::Integer(number) => number,
        Loose::Number(number) if !number.is_finite() || number.fract() != 0.0 => {
            return error(Problem::NotWhole);
        }
        // Exact: a whole f64 of magnitude below 2^127 converts without rounding.
        Loose::Number(number) if number.abs() < 1.0e30 => number as i128,
        Loose::Number(_) => return error(Problem::OutOfRange),
        _ => return error(Problem::WrongType),
    };
    match u64::try_from(number) {
        Ok(number) if (field.min()..=MAX_WHOLE).contains(&number) => Ok(number),
        _ => error(Problem::OutOfRange),
    }
}

/// An optional whole number: `None` when absent or null.
fn optional_whole(field: Field, value: Loose<'_>) -> Result<Option<u64>, SettingsError> {
    match value {
        Loose::Absent | Loose::Null => Ok(None),
        value => whole(field, value, 0).map(Some),
    }
}

/// A secret's bytes (empty when absent or null).
fn secret(field: Field, value: Loose<'_>) -> Result<Zeroizing<Vec<u8>>, SettingsError> {
    match value {
        Loose::Absent | Loose::Null => Ok(Zeroizing::new(Vec::new())),
        Loose::Text(text) => Ok(Zeroizing::new(text.as_bytes().to_vec())),
        Loose::Bytes(bytes) => Ok(Zeroizing::new(bytes.to_vec())),
        Loose::InvalidText => Err(SettingsError::new(field, Problem::InvalidText)),
        _ => Err(SettingsError::new(field, Problem::WrongType)),
    }
}

/// The verification time in Unix seconds: absent or null is `clock()`; a fraction of a
/// second is dropped (`Date.now() / 1000` is a natural way to write it).
///
/// ```
/// use fluxora_webhooks_facade::{Loose, now_from};
///
/// assert_eq!(now_from(Loose::Number(1_710_000_000.9), || 0), Ok(1_710_000_000));
/// assert_eq!(now_from(Loose::Absent, || 42), Ok(42));
/// assert!(now_from(Loose::Number(-1.0), || 0).is_err());
/// ```
pub fn now_from(value: Loose<'_>, clock: impl FnOnce() -> u64) -> Result<u64, SettingsError> {
    match value {
        Loose::Absent | Loose::Null => Ok(clock()),
        Loose::Number(number) if number.is_finite() => {
            whole(Field::Now, Loose::Number(number.floor()), 0)
        }
        Loose::Integer(_) | Loose::Number(_) => whole(Field::Now, value, 0),
        _ => Err(SettingsError::new(Field::Now, Problem::WrongType)),
    }
}

/// The timestamp text to sign: text as given, a number of Unix seconds in decimal, or
/// `clock()` when absent.
///
/// ```
/// use fluxora_webhooks_facade::{Loose, timestamp_text};
///
/// assert_eq!(timestamp_text(Loose::Integer(1_710_000_000), || 0).unwrap(), "1710000000");
/// assert_eq!(timestamp_text(Loose::Text(" 17 "), || 0).unwrap(), " 17 ");
/// assert_eq!(timestamp_text(Loose::Absent, || 5).unwrap(), "5");
/// ```
pub fn timestamp_text(
    value: Loose<'_>,
    clock: impl FnOnce() -> u64,
) -> Result<String, SettingsError> {
    match value {
        Loose::Absent | Loose::Null => Ok(clock().to_string()),
        Loose::Text(text) => Ok(text.to_owned()),
        Loose::Integer(_) | Loose::Number(_) => {
            whole(Field::Timestamp, value, 0).map(|n| n.to_string())
        }
        Loose::InvalidText => Err(SettingsError::new(Field::Timestamp, Problem::InvalidText)),
        _ => Err(SettingsError::new(Field::Timestamp, Problem::WrongType)),
    }
}

/// How long a replay store remembers an accepted delivery id: at least one second,
/// [`DEFAULT_DELIVERY_RETENTION_SECONDS`] when absent.
///
/// ```
/// use fluxora_webhooks_facade::{Loose, delivery_retention_seconds};
///
/// assert_eq!(delivery_retention_seconds(Loose::Absent), Ok(86_400));
/// assert!(delivery_retention_seconds(Loose::Integer(0)).is_err());
/// ```
pub fn delivery_retention_seconds(value: Loose<'_>) -> Result<u64, SettingsError> {
    whole(
        Field::DeliveryRetentionSeconds,
        value,
        DEFAULT_DELIVERY_RETENTION_SECONDS,
    )
}

/// How long a reservation holds a delivery id (two-phase replay): at least one second,
/// [`DEFAULT_RESERVATION_LEASE_SECONDS`] when absent.
///
/// ```
/// use fluxora_webhooks_facade::{Loose, reservation_lease_seconds};
///
/// assert_eq!(reservation_lease_seconds(Loose::Absent), Ok(60));
/// assert!(reservation_lease_seconds(Loose::Number(0.5)).is_err());
/// ```
pub fn reservation_lease_seconds(value: Loose<'_>) -> Result<u64, SettingsError> {
    whole(
        Field::ReservationLeaseSeconds,
        value,
        DEFAULT_RESERVATION_LEASE_SECONDS,
    )
}

/// Whether a verifier must have a secret when it is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretRule {
    /// A reusable verifier: no secret is a configuration error at construction.
    Required,
    /// The one-call drop-in functions: no secret answers `missing_secret` (500) per call,
    /// as the original reference does.
    Optional,
}

/// A verifier's options, as loose values (missing ones take the contract's defaults).
#[derive(Clone, Copy, Debug, Default)]
pub struct SettingsInput<'a> {
    /// The current secret.
    pub secret: Loose<'a>,
    /// The previous secret, accepted during rotation.
    pub previous_secret: Loose<'a>,
    /// Reports errors about the previous secret as this field (the drop-in names it
    /// `secretPrevious`); `None` is [`Field::PreviousSecret`].
    pub previous_secret_field: Option<Field>,
    /// When the previous secret was rotated out (Unix seconds).
    pub previous_secret_rotated_at: Loose<'a>,
    /// How long the previous secret stays valid after rotation.
    pub grace_window_seconds: Loose<'a>,
    /// The freshness window.
    pub tolerance_seconds: Loose<'a>,
    /// The body limit.
    pub max_body_bytes: Loose<'a>,
}

/// Validated verifier settings. `Debug` never shows a secret.
///
/// ```
/// use fluxora_webhooks_facade::{Loose, SecretRule, Settings, SettingsInput};
///
/// let input = SettingsInput { secret: Loose::Text("topsecret"), ..SettingsInput::default() };
/// let settings = Settings::from_input(&input, SecretRule::Required)?;
/// assert_eq!(settings.tolerance_seconds(), 300);
/// assert!(!format!("{settings:?}").contains("topsecret"));
/// # Ok::<(), fluxora_webhooks_facade::SettingsError>(())
/// ```
#[derive(Clone)]
pub struct Settings {
    secret: Zeroizing<Vec<u8>>,
    previous_secret: Zeroizing<Vec<u8>>,
    previous_secret_rotated_at: Option<u64>,
    grace_window_seconds: u64,
    tolerance_seconds: u64,
    max_body_bytes: u64,
}

impl Settings {
    /// Validates the options, in the order of [`Field::ALL`]; the first problem wins.
    ///
    /// ```
    /// use fluxora_webhooks_facade::{Field, Loose, Problem, SecretRule, Settings, SettingsInput};
    ///
    /// let none = SettingsInput::default();
    /// let error = Settings::from_input(&none, SecretRule::Required).unwrap_err();
    /// assert_eq!((error.field, error.problem), (Field::Secret, Problem::Missing));
    /// assert!(Settings::from_input(&none, SecretRule::Optional).is_ok());
    /// ```
    pub fn from_input(input: &SettingsInput<'_>, rule: SecretRule) -> Result<Self, SettingsError> {
        let current = secret(Field::Secret, input.secret)?;
        if current.is_empty() && rule == SecretRule::Required {
            return Err(SettingsError::new(Field::Secret, Problem::Missing));
        }
        let previous_field = input.previous_secret_field.unwrap_or(Field::PreviousSecret);
        Ok(Self {
            secret: current,
            previous_secret: secret(previous_field, input.previous_secret)?,
            previous_secret_rotated_at: optional_whole(
                Field::PreviousSecretRotatedAt,
                input.previous_secret_rotated_at,
            )?,
            grace_window_seconds: whole(
                Field::GraceWindowSeconds,
                input.grace_window_seconds,
                DEFAULT_GRACE_WINDOW_SECONDS,
            )?,
            tolerance_seconds: whole(
                Field::ToleranceSeconds,
                input.tolerance_seconds,
                DEFAULT_TOLERANCE_SECONDS,
            )?,
            max_body_bytes: whole(
                Field::MaxBodyBytes,
                input.max_body_bytes,
                DEFAULT_MAX_BODY_BYTES,
            )?,
        })
    }

    /// One secret with every default.
    ///
    /// ```
    /// use fluxora_webhooks_facade::Settings;
    ///
    /// assert_eq!(Settings::with_secret(b"s").grace_window_seconds(), 86_400);
    /// ```
    #[must_use]
    pub fn with_secret(secret: &[u8]) -> Self {
        Self {
            secret: Zeroizing::new(secret.to_vec()),
            previous_secret: Zeroizing::new(Vec::new()),
            previous_secret_rotated_at: None,
            grace_window_seconds: DEFAULT_GRACE_WINDOW_SECONDS,
            tolerance_seconds: DEFAULT_TOLERANCE_SECONDS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The core verifier these settings describe (each secret keyed once, here).
    ///
    /// ```
    /// use fluxora_webhooks_facade::{Loose, SecretRule, Settings, SettingsInput};
    ///
    /// let input = SettingsInput { secret: Loose::Text("s"), max_body_bytes: Loose::Integer(8), ..Default::default() };
    /// let verifier = Settings::from_input(&input, SecretRule::Required)?.core_verifier();
    /// assert_eq!(verifier.max_body_bytes(), 8);
    /// # Ok::<(), fluxora_webhooks_facade::SettingsError>(())
    /// ```
    #[must_use]
    pub fn core_verifier(&self) -> CoreVerifier {
        CoreVerifier::new(&self.secret)
            .with_previous_secret(&self.previous_secret, self.previous_secret_rotated_at)
            .with_grace_window_seconds(self.grace_window_seconds)
            .with_tolerance_seconds(self.tolerance_seconds)
            .with_max_body_bytes(self.max_body_bytes)
    }

    /// True when a non-empty previous secret is configured.
    #[must_use]
    pub fn has_previous_secret(&self) -> bool {
        !self.previous_secret.is_empty()
    }

    /// When the previous secret was rotated out, if known.
    #[must_use]
    pub fn previous_secret_rotated_at(&self) -> Option<u64> {
        self.previous_secret_rotated_at
    }

    /// The previous secret's grace window in seconds.
    #[must_use]
    pub fn grace_window_seconds(&self) -> u64 {
        self.grace_window_seconds
    }

    /// The freshness window in seconds.
    #[must_use]
    pub fn tolerance_seconds(&self) -> u64 {
        self.tolerance_seconds
    }

    /// The body limit in bytes.
    #[must_use]
    pub fn max_body_bytes(&self) -> u64 {
        self.max_body_bytes
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |secret: &[u8]| (!secret.is_empty()).then_some("<redacted>");
        f.debug_struct("Settings")
            .field("secret", &redacted(&self.secret))
            .field("previous_secret", &redacted(&self.previous_secret))
            .field(
                "previous_secret_rotated_at",
                &self.previous_secret_rotated_at,
            )
            .field("grace_window_seconds", &self.grace_window_seconds)
            .field("tolerance_seconds", &self.tolerance_seconds)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

/// Where a verifier remembers accepted deliveries.
///
/// ```
/// use fluxora_webhooks_facade::{Loose, ReplaySettings};
///
/// assert_eq!(ReplaySettings::from_switch(Loose::Bool(false))?, ReplaySettings::Off);
/// let sized = ReplaySettings::memory(Loose::Integer(10), Loose::Absent)?;
/// assert_eq!(sized, ReplaySettings::Memory { capacity: 10, delivery_retention_seconds: 86_400 });
/// assert!(ReplaySettings::memory(Loose::Integer(0), Loose::Absent).is_err());
/// # Ok::<(), fluxora_webhooks_facade::SettingsError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaySettings {
    /// Nothing is remembered (the application de-duplicates elsewhere).
    Off,
    /// The core's in-memory store.
    Memory {
        /// How many deliveries are remembered at once.
        capacity: usize,
        /// How long an accepted delivery id is remembered.
        delivery_retention_seconds: u64,
    },
}

impl ReplaySettings {
    /// The default: an in-memory store of the default capacity and retention.
    pub const DEFAULT: Self = Self::Memory {
        capacity: MemoryReplayStore::DEFAULT_CAPACITY,
        delivery_retention_seconds: DEFAULT_DELIVERY_RETENTION_SECONDS,
    };

    /// From an on/off switch: absent or `true` is the default store; `false` or null is none.
    pub fn from_switch(value: Loose<'_>) -> Result<Self, SettingsError> {
        match value {
            Loose::Absent | Loose::Bool(true) => Ok(Self::DEFAULT),
            Loose::Null | Loose::Bool(false) => Ok(Self::Off),
            _ => Err(SettingsError::new(Field::Replay, Problem::WrongType)),
        }
    }

    /// An in-memory store sized by the given options (absent ones take the defaults).
    pub fn memory(capacity: Loose<'_>, retention: Loose<'_>) -> Result<Self, SettingsError> {
        let capacity = whole(
            Field::ReplayCapacity,
            capacity,
            MemoryReplayStore::DEFAULT_CAPACITY as u64,
        )?;
        Ok(Self::Memory {
            capacity: usize::try_from(capacity)
                .map_err(|_| SettingsError::new(Field::ReplayCapacity, Problem::OutOfRange))?,
            delivery_retention_seconds: delivery_retention_seconds(retention)?,
        })
    }

    /// A new store for these settings, or `None` when off.
    #[must_use]
    pub fn store(self) -> Option<MemoryReplayStore> {
        match self {
            Self::Off => None,
            Self::Memory {
                capacity,
                delivery_retention_seconds,
            } => Some(MemoryReplayStore::with_delivery_retention(
                capacity,
                delivery_retention_seconds,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tolerance(value: Loose<'_>) -> Result<u64, SettingsError> {
        let input = SettingsInput {
            secret: Loose::Text("s"),
            tolerance_seconds: value,
            ..SettingsInput::default()
        };
        Settings::from_input(&input, SecretRule::Required).map(|s| s.tolerance_seconds())
    }

    #[test]
    fn numbers_are_whole_and_in_range() {
        assert_eq!(tolerance(Loose::Absent), Ok(300));
        assert_eq!(tolerance(Loose::Null), Ok(300));
        assert_eq!(tolerance(Loose::Number(0.0)), Ok(0));
        assert_eq!(tolerance(Loose::Integer(MAX_WHOLE as i128)), Ok(MAX_WHOLE));
        let problem = |value| tolerance(value).unwrap_err().problem;
        assert_eq!(problem(Loose::Number(1.5)), Problem::NotWhole);
        assert_eq!(problem(Loose::Number(f64::NAN)), Problem::NotWhole);
        assert_eq!(problem(Loose::Number(f64::INFINITY)), Problem::NotWhole);
        assert_eq!(problem(Loose::Number(-1.0)), Problem::OutOfRange);
        assert_eq!(problem(Loose::Number(1e300)), Problem::OutOfRange);
        assert_eq!(
            problem(Loose::Integer(MAX_WHOLE as i128 + 1)),
            Problem::OutOfRange
        );
        assert_eq!(problem(Loose::Integer(i128::MIN)), Problem::OutOfRange);
        assert_eq!(problem(Loose::Text("300")), Problem::WrongType);
        assert_eq!(problem(Loose::Bool(true)), Problem::WrongType);
    }

    #[test]
    fn errors_never_carry_the_secret() {
        let input = SettingsInput {
            secret: Loose::Text("hunter2"),
            tolerance_seconds: Loose::Number(-1.0),
            ..SettingsInput::default()
        };
        let error = Settings::from_input(&input, SecretRule::Required).unwrap_err();
        for spelling in [Spelling::JavaScript, Spelling::Python] {
            assert!(!error.message(spelling).contains("hunter2"));
        }
        assert!(!format!("{error:?}").contains("hunter2"));
    }

    #[test]
    fn canonical_names_round_trip() {
        for field in Field::ALL {
            assert_eq!(Field::from_canonical(field.canonical()), Some(field));
        }
        for problem in Problem::ALL {
            assert_eq!(Problem::from_code(problem.code()), Some(problem));
        }
    }
}
