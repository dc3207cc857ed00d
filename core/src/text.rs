//! Short strings formatted into a fixed buffer, so messages need no allocator.

use core::fmt;

/// Text of at most `N` bytes held inline. Produced by [`Outcome::message`](crate::Outcome::message)
/// and [`decimal::format_stroops`](crate::decimal::format_stroops).
///
/// ```
/// use fluxora_webhooks::Outcome;
/// let message = Outcome::DuplicateDelivery.message();
/// assert_eq!(message, "Duplicate delivery id");
/// assert_eq!(message.as_str().len(), 21);
/// ```
#[derive(Clone, Copy)]
pub struct FixedText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> FixedText<N> {
    /// Formats `value` into the buffer. Output past `N` bytes is cut at the last whole
    /// write; every caller in this crate sizes `N` for its longest text.
    pub(crate) fn display(value: impl fmt::Display) -> Self {
        let mut text = Self {
            bytes: [0; N],
            len: 0,
        };
        let _ = fmt::write(&mut text, format_args!("{value}"));
        text
    }

    /// The text.
    ///
    /// ```
    /// use fluxora_webhooks::{decimal::format_stroops, Outcome};
    ///
    /// let amount = format_stroops(-5);
    /// let text: &str = amount.as_str();
    /// assert_eq!(text, "-0.0000005");
    /// let message = Outcome::PayloadTooLarge { limit: 8 }.message();
    /// assert_eq!(message.as_str(), "Payload exceeds 8 bytes");
    /// ```
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are ever appended, so the prefix is valid UTF-8.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl<const N: usize> fmt::Write for FixedText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl<const N: usize> fmt::Display for FixedText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for FixedText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialEq<str> for FixedText<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for FixedText<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
