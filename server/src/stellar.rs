//! Stellar account ids (StrKey `G...`): base32, version byte, CRC16-XModem checksum.

/// Version byte of an ed25519 public key (account id): 6 << 3, which base32-encodes to `G`.
const ACCOUNT_ID_VERSION: u8 = 6 << 3;
/// Length of an account id: 35 bytes (version + 32-byte key + 2-byte checksum) in base32.
pub const ACCOUNT_ID_LEN: usize = 56;
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Why a string is not a Stellar account id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountIdError {
    /// Not 56 characters.
    Length,
    /// A character outside the RFC 4648 base32 alphabet (uppercase, no padding), or
    /// non-zero padding bits.
    Encoding,
    /// The version byte is not that of an account id (the id does not start with `G`).
    Version,
    /// The CRC16-XModem checksum does not match.
    Checksum,
}

impl AccountIdError {
    /// Stable code for error details.
    pub fn code(self) -> &'static str {
        match self {
            Self::Length => "STELLAR_ADDRESS_LENGTH",
            Self::Encoding => "STELLAR_ADDRESS_ENCODING",
            Self::Version => "STELLAR_ADDRESS_VERSION",
            Self::Checksum => "STELLAR_ADDRESS_CHECKSUM",
        }
    }

    /// Human-readable reason.
    pub fn message(self) -> &'static str {
        match self {
            Self::Length => "must be 56 characters",
            Self::Encoding => "must be base32 (A-Z, 2-7)",
            Self::Version => "must be an account id starting with G",
            Self::Checksum => "has an invalid checksum",
        }
    }
}

/// CRC16-XModem (polynomial 0x1021, initial value 0).
pub fn crc16_xmodem(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn base32_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &c in text {
        let value = ALPHABET.iter().position(|&a| a == c)? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero padding.
    (buffer == 0).then_some(out)
}

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Validates an account id (`G` + 55 base32 characters with a valid checksum).
pub fn validate_account_id(id: &str) -> Result<(), AccountIdError> {
    if id.len() != ACCOUNT_ID_LEN {
        return Err(AccountIdError::Length);
    }
    let decoded = base32_decode(id.as_bytes()).ok_or(AccountIdError::Encoding)?;
    if decoded.len() != 35 {
        return Err(AccountIdError::Encoding);
    }
    if decoded[0] != ACCOUNT_ID_VERSION {
        return Err(AccountIdError::Version);
    }
    let expected = crc16_xmodem(&decoded[..33]);
    let got = u16::from_le_bytes([decoded[33], decoded[34]]);
    if expected != got {
        return Err(AccountIdError::Checksum);
    }
    Ok(())
}

/// Encodes a 32-byte ed25519 public key as an account id.
pub fn encode_account_id(key: &[u8; 32]) -> String {
    let mut payload = Vec::with_capacity(35);
    payload.push(ACCOUNT_ID_VERSION);
    payload.extend_from_slice(key);
    let crc = crc16_xmodem(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    base32_encode(&payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_xmodem_check_value() {
        assert_eq!(crc16_xmodem(b"123456789"), 0x31C3);
    }

    #[test]
    fn the_all_zero_key_round_trips() {
        let id = encode_account_id(&[0; 32]);
        assert_eq!(
            id,
            "GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF"
        );
        assert_eq!(validate_account_id(&id), Ok(()));
    }

    #[test]
    fn known_public_account_validates() {
        // The Stellar development foundation's well-known example account.
        assert_eq!(
            validate_account_id("GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"),
            Ok(())
        );
    }

    #[test]
    fn rejects_each_kind_of_error() {
        let good = encode_account_id(&[7; 32]);
        assert_eq!(
            validate_account_id(&good[..55]),
            Err(AccountIdError::Length)
        );
        let lower = good.to_lowercase();
        assert_eq!(validate_account_id(&lower), Err(AccountIdError::Encoding));
        let mut bad = good.clone().into_bytes();
        bad[10] = if bad[10] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            validate_account_id(core::str::from_utf8(&bad).unwrap()),
            Err(AccountIdError::Checksum)
        );
        // A secret seed (S...) has another version byte.
        let mut seed = vec![18u8 << 3];
        seed.extend_from_slice(&[1; 32]);
        let crc = crc16_xmodem(&seed);
        seed.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            validate_account_id(&base32_encode(&seed)),
            Err(AccountIdError::Version)
        );
    }
}
