//! Owned loose values, for bindings whose runtime values must be copied out before the
//! facade judges them (JavaScript strings, for example).

use crate::settings::{Field, Loose, SecretRule, Settings, SettingsError, SettingsInput, Spelling};

/// A runtime value, owned, before the facade judges it: the owned form of [`Loose`].
///
/// ```
/// use fluxora_webhooks_facade::{Loose, OwnedLoose};
///
/// let value = OwnedLoose::Text("300".to_owned());
/// assert_eq!(value.loose(), Loose::Text("300"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub enum OwnedLoose {
    /// Not given.
    #[default]
    Absent,
    /// An explicit null.
    Null,
    /// A boolean.
    Bool(bool),
    /// A floating-point number.
    Number(f64),
    /// An integer, saturated to `i128`.
    Integer(i128),
    /// Text.
    Text(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// Text that is not valid Unicode.
    InvalidText,
    /// Anything else.
    Other,
}

impl OwnedLoose {
    /// The borrowed view the facade judges.
    #[must_use]
    pub fn loose(&self) -> Loose<'_> {
        match self {
            Self::Absent => Loose::Absent,
            Self::Null => Loose::Null,
            Self::Bool(flag) => Loose::Bool(*flag),
            Self::Number(number) => Loose::Number(*number),
            Self::Integer(number) => Loose::Integer(*number),
            Self::Text(text) => Loose::Text(text),
            Self::Bytes(bytes) => Loose::Bytes(bytes),
            Self::InvalidText => Loose::InvalidText,
            Self::Other => Loose::Other,
        }
    }
}

/// A verifier's options as owned loose values, read by their names in one runtime.
///
/// ```
/// use fluxora_webhooks_facade::{Field, OwnedLoose, OwnedSettings, SecretRule, Spelling};
///
/// let options = [("secret", "topsecret"), ("toleranceSeconds", "60")];
/// let read = |name: &str| -> Result<OwnedLoose, ()> {
///     Ok(options.iter().find(|(n, _)| *n == name).map_or(OwnedLoose::Absent, |(_, v)| {
///         v.parse().map_or_else(|_| OwnedLoose::Text((*v).to_owned()), OwnedLoose::Integer)
///     }))
/// };
/// let owned = OwnedSettings::read(Spelling::JavaScript, Field::PreviousSecret, read)?;
/// let settings = owned.validate(SecretRule::Required).unwrap();
/// assert_eq!(settings.tolerance_seconds(), 60);
/// # Ok::<(), ()>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct OwnedSettings {
    previous_secret_field: Option<Field>,
    secret: OwnedLoose,
    previous_secret: OwnedLoose,
    previous_secret_rotated_at: OwnedLoose,
    grace_window_seconds: OwnedLoose,
    tolerance_seconds: OwnedLoose,
    max_body_bytes: OwnedLoose,
}

impl OwnedSettings {
    /// Reads each option with `get`, by its name in `spelling`; the previous secret is read
    /// as `previous_secret` ([`Field::PreviousSecret`], or the drop-in's
    /// [`Field::SecretPrevious`]).
    pub fn read<E>(
        spelling: Spelling,
        previous_secret: Field,
        mut get: impl FnMut(&'static str) -> Result<OwnedLoose, E>,
    ) -> Result<Self, E> {
        Ok(Self {
            previous_secret_field: Some(previous_secret),
            secret: get(Field::Secret.name(spelling))?,
            previous_secret: get(previous_secret.name(spelling))?,
            previous_secret_rotated_at: get(Field::PreviousSecretRotatedAt.name(spelling))?,
            grace_window_seconds: get(Field::GraceWindowSeconds.name(spelling))?,
            tolerance_seconds: get(Field::ToleranceSeconds.name(spelling))?,
            max_body_bytes: get(Field::MaxBodyBytes.name(spelling))?,
        })
    }

    /// The borrowed input the facade validates.
    #[must_use]
    pub fn input(&self) -> SettingsInput<'_> {
        SettingsInput {
            secret: self.secret.loose(),
            previous_secret: self.previous_secret.loose(),
            previous_secret_field: self.previous_secret_field,
            previous_secret_rotated_at: self.previous_secret_rotated_at.loose(),
            grace_window_seconds: self.grace_window_seconds.loose(),
            tolerance_seconds: self.tolerance_seconds.loose(),
            max_body_bytes: self.max_body_bytes.loose(),
        }
    }

    /// Validates the options.
    pub fn validate(&self, rule: SecretRule) -> Result<Settings, SettingsError> {
        Settings::from_input(&self.input(), rule)
    }
}
