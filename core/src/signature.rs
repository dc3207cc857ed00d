//! HMAC-SHA256 signatures over `timestamp.rawBody`, keyed once and reused.

use core::fmt;

use subtle::{Choice, ConstantTimeEq};

use crate::mac::{Mac, MacKey, TAG_LEN};

/// Length of a signature header value: 64 hex digits.
///
/// ```
/// use fluxora_webhooks::{SIGNATURE_HEX_LEN, sign};
///
/// let signature = sign(b"topsecret", b"1710000000", b"{}");
/// assert_eq!(signature.as_str().len(), SIGNATURE_HEX_LEN);
/// assert_eq!(signature.as_bytes().len(), SIGNATURE_HEX_LEN);
/// assert_eq!(SIGNATURE_HEX_LEN, 2 * 32); // hex of a 32-byte HMAC-SHA256 tag
/// ```
pub const SIGNATURE_HEX_LEN: usize = 64;

/// A secret keyed into HMAC-SHA256 once (inner and outer pads already absorbed).
///
/// Cloning the prepared state per message avoids re-keying for every delivery.
/// `Debug` never shows the secret.
///
/// ```
/// use fluxora_webhooks::Signer;
///
/// let signer = Signer::new(b"topsecret");
/// let signature = signer.sign(b"1710000000", br#"{"event":"stream.updated"}"#);
/// assert_eq!(
///     signature.as_str(),
///     "925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79"
/// );
/// ```
#[derive(Clone)]
pub struct Signer {
    key: MacKey,
}

impl Signer {
    /// Keys HMAC-SHA256 with the secret's bytes exactly as configured (no decoding, no trimming).
    ///
    /// ```
    /// use fluxora_webhooks::{Signer, sign};
    ///
    /// let signer = Signer::new(b"topsecret");
    /// assert_eq!(signer.sign(b"1710000000", b"{}"), sign(b"topsecret", b"1710000000", b"{}"));
    /// // No trimming: a trailing newline is part of the secret.
    /// let with_newline = Signer::new(b"topsecret\n");
    /// assert_ne!(with_newline.sign(b"1710000000", b"{}"), signer.sign(b"1710000000", b"{}"));
    /// ```
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: MacKey::new(secret),
        }
    }

    /// Signs `timestamp` + `.` + `body` and returns the 64 lowercase hex digits.
    ///
    /// ```
    /// use fluxora_webhooks::Signer;
    ///
    /// let signer = Signer::new(b"topsecret");
    /// let signature = signer.sign(b"1710000000", b"");
    /// assert_eq!(
    ///     signature.as_str(),
    ///     "a58f63482c493d44f954ec6c03e39ba650afb13861ab782835c1e08aa7d56366"
    /// );
    /// // The timestamp is signed too: the same body at another second signs differently.
    /// assert_ne!(signer.sign(b"1710000001", b""), signature);
    /// ```
    pub fn sign(&self, timestamp: &[u8], body: &[u8]) -> Signature {
        Signature::from_tag(&self.tag(timestamp, body))
    }

    /// Starts signing a body that arrives in chunks (large files, streams):
    /// feed it with [`Signing::update`], then [`Signing::finish`].
    ///
    /// ```
    /// use fluxora_webhooks::{Signer, sign};
    ///
    /// let signer = Signer::new(b"topsecret");
    /// let mut signing = signer.start(b"1710000000");
    /// signing.update(br#"{"event":"#);
    /// signing.update(br#""stream.updated"}"#);
    /// assert_eq!(
    ///     signing.finish(),
    ///     sign(b"topsecret", b"1710000000", br#"{"event":"stream.updated"}"#)
    /// );
    /// ```
    pub fn start(&self, timestamp: &[u8]) -> Signing {
        Signing {
            mac: self.begin(timestamp),
        }
    }

    /// The keyed state with the signed prefix `timestamp.` already absorbed.
    /// The raw tag of `timestamp.body`, in one pass.
    #[inline]
    pub(crate) fn tag(&self, timestamp: &[u8], body: &[u8]) -> [u8; TAG_LEN] {
        self.key.tag(timestamp, b'.', body)
    }

    #[inline]
    pub(crate) fn begin(&self, timestamp: &[u8]) -> Mac {
        let mut mac = self.key.start();
        mac.update(timestamp);
        mac.update(b".");
        mac
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer { secret: <redacted> }")
    }
}

/// A signature in progress over a body that arrives in chunks; made by [`Signer::start`].
///
/// ```
/// use fluxora_webhooks::{Signer, Signing};
///
/// let signer = Signer::new(b"topsecret");
/// let mut signing: Signing = signer.start(b"1710000000");
/// for chunk in [&b"{\"event\":"[..], b"\"stream.updated\"}"] {
///     signing.update(chunk);
/// }
/// let signature = signing.finish();
/// assert_eq!(signature, signer.sign(b"1710000000", br#"{"event":"stream.updated"}"#));
/// ```
#[derive(Clone)]
pub struct Signing {
    mac: Mac,
}

impl Signing {
    /// Feeds the next chunk of the body.
    ///
    /// ```
    /// use fluxora_webhooks::Signer;
    ///
    /// let signer = Signer::new(b"topsecret");
    /// let body = [b'x'; 200];
    /// let mut signing = signer.start(b"1710000000");
    /// for chunk in body.chunks(7) {
    ///     signing.update(chunk); // chunk boundaries do not matter
    /// }
    /// signing.update(b"");
    /// assert_eq!(signing.finish(), signer.sign(b"1710000000", &body));
    /// ```
    pub fn update(&mut self, chunk: &[u8]) {
        self.mac.update(chunk);
    }

    /// The signature of `timestamp.` followed by every chunk fed.
    ///
    /// ```
    /// use fluxora_webhooks::Signer;
    ///
    /// // Nothing fed: the signature of an empty body.
    /// let signing = Signer::new(b"topsecret").start(b"1710000000");
    /// assert_eq!(
    ///     signing.finish().as_str(),
    ///     "a58f63482c493d44f954ec6c03e39ba650afb13861ab782835c1e08aa7d56366"
    /// );
    /// ```
    pub fn finish(self) -> Signature {
        Signature::from_tag(&self.mac.finalize())
    }
}

impl fmt::Debug for Signing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signing { .. }")
    }
}

/// Signs one message with a secret used once. Prefer [`Signer`] when signing many.
///
/// ```
/// let signature = fluxora_webhooks::sign(b"topsecret", b"1710000000", b"");
/// assert_eq!(
///     signature.as_str(),
///     "a58f63482c493d44f954ec6c03e39ba650afb13861ab782835c1e08aa7d56366"
/// );
/// ```
pub fn sign(secret: &[u8], timestamp: &[u8], body: &[u8]) -> Signature {
    Signer::new(secret).sign(timestamp, body)
}

/// A signature as the 64 lowercase hex digits of the `x-fluxora-signature` header.
///
/// Equality is constant-time.
///
/// ```
/// let signature = fluxora_webhooks::sign(b"topsecret", b"1710000000", b"{}");
/// assert_eq!(signature.as_str().len(), 64);
/// assert_eq!(signature.to_string(), signature.as_str());
/// assert_eq!(signature, fluxora_webhooks::sign(b"topsecret", b"1710000000", b"{}"));
/// ```
#[derive(Clone, Copy)]
pub struct Signature {
    hex: [u8; SIGNATURE_HEX_LEN],
}

impl Signature {
    fn from_tag(tag: &[u8; TAG_LEN]) -> Self {
        let mut hex = [0u8; SIGNATURE_HEX_LEN];
        // Cannot fail: the output is exactly twice the input length.
        let _ = hex::encode_to_slice(tag, &mut hex);
        Self { hex }
    }

    /// The header value.
    ///
    /// ```
    /// let signature = fluxora_webhooks::sign(b"topsecret", b"1710000000", b"");
    /// let header_value: &str = signature.as_str();
    /// assert_eq!(
    ///     header_value,
    ///     "a58f63482c493d44f954ec6c03e39ba650afb13861ab782835c1e08aa7d56366"
    /// );
    /// ```
    pub fn as_str(&self) -> &str {
        // hex::encode_to_slice writes only ASCII hex digits.
        core::str::from_utf8(&self.hex).unwrap_or_default()
    }

    /// The header value as bytes.
    ///
    /// ```
    /// let signature = fluxora_webhooks::sign(b"topsecret", b"1710000000", b"");
    /// let bytes: &[u8; 64] = signature.as_bytes();
    /// assert_eq!(&bytes[..8], b"a58f6348");
    /// assert_eq!(bytes, signature.as_str().as_bytes());
    /// ```
    pub fn as_bytes(&self) -> &[u8; SIGNATURE_HEX_LEN] {
        &self.hex
    }
}

impl ConstantTimeEq for Signature {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.hex.ct_eq(&other.hex)
    }
}

impl PartialEq for Signature {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Signature {}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.as_str())
    }
}

/// Decodes a received signature header: trimmed, exactly 64 hex digits of either case.
///
/// The header is attacker-supplied, not secret, so an ordinary (non-constant-time) decoder
/// is fine here; the secret-dependent comparison happens later in constant time. Eight
/// digits are decoded at a time in a `u64` (SWAR), which keeps the decoder off the
/// profile of small deliveries.
pub(crate) fn decode_signature(raw: &[u8]) -> Option<[u8; TAG_LEN]> {
    let digits: &[u8; SIGNATURE_HEX_LEN] = raw.trim_ascii().try_into().ok()?;
    let mut tag = [0u8; TAG_LEN];
    let mut invalid = 0u64;
    for group in 0..8 {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(&digits[group * 8..group * 8 + 8]);
        let (bytes, group_invalid) = decode_eight_digits(u64::from_le_bytes(eight));
        tag[group * 4..group * 4 + 4].copy_from_slice(&bytes);
        invalid |= group_invalid;
    }
    (invalid == 0).then_some(tag)
}

const LANES_01: u64 = 0x0101_0101_0101_0101;
const LANES_80: u64 = 0x8080_8080_8080_8080;
const PAIR_LOW_BYTES: u64 = 0x00ff_00ff_00ff_00ff;

/// Per byte lane: the top bit set where the lane (an ASCII byte) is at least `bound`
/// (`bound` at most 0x80). Setting each lane's top bit first stops borrows between lanes.
#[inline(always)]
const fn lanes_at_least(word: u64, bound: u8) -> u64 {
    ((word | LANES_80).wrapping_sub(LANES_01 * bound as u64)) & LANES_80
}

/// Eight ASCII hex digits (little-endian lanes, first digit lowest) to four bytes, and a
/// mask that is non-zero unless all eight were hex digits.
#[inline(always)]
fn decode_eight_digits(word: u64) -> ([u8; 4], u64) {
    let folded = word | (LANES_01 * 0x20); // 'A'..'F' -> 'a'..'f'; digits already have 0x20
    let is_digit = lanes_at_least(word, b'0') & !lanes_at_least(word, b'9' + 1);
    let is_letter = lanes_at_least(folded, b'a') & !lanes_at_least(folded, b'f' + 1);
    // Non-ASCII lanes, and lanes that are neither digit nor letter.
    let invalid = (word & LANES_80) | ((is_digit | is_letter) ^ LANES_80);

    // Digit value: low nibble, plus 9 for letters (bit 6 set): 'a' = 0x61 -> 1 + 9.
    let nibbles = (word & (LANES_01 * 0x0f)) + ((word >> 6) & LANES_01) * 9;
    // Pair each high nibble (even lane) with the next low nibble into one byte per u16 lane.
    let pairs = ((nibbles & PAIR_LOW_BYTES) << 4) | ((nibbles >> 8) & PAIR_LOW_BYTES);
    // Gather the four bytes (even lanes) into the low half: two shift-or steps.
    let halves = (pairs | (pairs >> 8)) & 0x0000_ffff_0000_ffff;
    let packed = (halves | (halves >> 16)) as u32;
    (packed.to_le_bytes(), invalid)
}

/// Constant-time comparison of a computed MAC with the received tag, by `subtle`'s
/// `ct_eq` over the tags' four 64-bit words (four optimisation barriers instead of the
/// thirty-two a byte-wise comparison has; the same guarantee).
pub(crate) fn tag_matches(computed: &[u8; TAG_LEN], received: &[u8; TAG_LEN]) -> Choice {
    as_words(computed)[..].ct_eq(&as_words(received)[..])
}

fn as_words(tag: &[u8; TAG_LEN]) -> [u64; 4] {
    let mut words = [0u64; 4];
    for (word, bytes) in words.iter_mut().zip(tag.chunks_exact(8)) {
        let mut chunk = [0u8; 8];
        chunk.copy_from_slice(bytes);
        *word = u64::from_ne_bytes(chunk);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn decodes_padded_and_uppercase_signatures() {
        let lower = "925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79";
        let upper = " 925006549B879C8D9E91C10A153254FB4B6E2241820A1B072E28AA2FA8CAEB79\n";
        assert_eq!(
            decode_signature(lower.as_bytes()),
            decode_signature(upper.as_bytes())
        );
        assert!(decode_signature(lower.as_bytes()).is_some());
    }

    #[test]
    fn rejects_malformed_signatures() {
        let good = "925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79";
        assert_eq!(decode_signature(&good.as_bytes()[..63]), None);
        let mut too_long = [b'0'; 65];
        too_long[..64].copy_from_slice(good.as_bytes());
        assert_eq!(decode_signature(&too_long), None);
        let mut not_hex = *b"925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79";
        not_hex[10] = b'g';
        assert_eq!(decode_signature(&not_hex), None);
    }

    #[test]
    fn decoder_agrees_with_the_hex_crate_on_every_byte_value() {
        let valid = *b"0123456789abcdefABCDEF0123456789abcdef0123456789ABCDEF0123456789";
        let mut expected = [0u8; 32];
        hex::decode_to_slice(valid, &mut expected).unwrap();
        assert_eq!(decode_signature(&valid), Some(expected));
        for position in 0..64 {
            for byte in 0..=255u8 {
                let mut candidate = valid;
                candidate[position] = byte;
                let mut reference = [0u8; 32];
                let want = hex::decode_to_slice(candidate, &mut reference)
                    .ok()
                    .map(|()| reference);
                let trimmed_ok = (position == 0 || position == 63) && byte.is_ascii_whitespace();
                if !trimmed_ok {
                    assert_eq!(
                        decode_signature(&candidate),
                        want,
                        "byte {byte:#04x} at {position}"
                    );
                }
            }
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", Signer::new(b"hunter2"));
        assert!(!shown.contains("hunter2"));
    }
}
