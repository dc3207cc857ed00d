//! Rules of the domain that more than one route applies.

pub mod stream;

/// The longest id a route accepts (stream ids from the chain, endpoint and delivery ids).
pub const MAX_ID_LEN: usize = 64;

/// The shape of an id, as the OpenAPI document states it: [`well_formed_id`] enforces it.
pub const ID_PATTERN: &str = "^[A-Za-z0-9_.:-]+$";

/// True when `text` is 1 to `max` characters of `[A-Za-z0-9_.:-]`.
///
/// ```
/// use fluxora_server::domain::well_formed_id;
///
/// assert!(well_formed_id("str_0123abcd", 64));
/// assert!(!well_formed_id("a b", 64));
/// assert!(!well_formed_id("", 64));
/// ```
pub fn well_formed_id(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}
