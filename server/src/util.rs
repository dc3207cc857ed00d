//! Small helpers: clock, random ids, hashing of secrets for comparison and keys.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// Now, in Unix seconds.
pub fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Now, in Unix milliseconds.
pub fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Now as an RFC 3339 UTC timestamp with milliseconds, e.g. `2024-03-09T16:00:00.000Z`.
pub fn now_rfc3339() -> String {
    rfc3339_from_millis(unix_millis())
}

/// Formats Unix milliseconds as an RFC 3339 UTC timestamp.
pub fn rfc3339_from_millis(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `n` random bytes from the operating system, as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // The OS generator failing is not recoverable in a meaningful way; fall back to time
    // so ids stay unique within a process rather than aborting a request.
    if getrandom::fill(&mut bytes).is_err() {
        let t = unix_millis().to_le_bytes();
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = t[i % t.len()] ^ (i as u8);
        }
    }
    hex::encode(bytes)
}

/// A random UUID v4 in its canonical text form.
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        b[..8].copy_from_slice(&unix_millis().to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha256(bytes))
}

/// A header value's bytes as text that maps distinct byte strings to distinct text:
/// valid UTF-8 without `%` is kept as is; otherwise `%` and non-UTF-8 bytes are
/// percent-escaped.
pub fn bytes_to_key(bytes: &[u8]) -> String {
    match core::str::from_utf8(bytes) {
        Ok(text) if !text.contains('%') => text.to_owned(),
        _ => {
            let mut out = String::with_capacity(bytes.len() * 3);
            let mut rest = bytes;
            while !rest.is_empty() {
                match core::str::from_utf8(rest) {
                    Ok(text) => {
                        out.push_str(&text.replace('%', "%25"));
                        break;
                    }
                    Err(err) => {
                        let (valid, tail) = rest.split_at(err.valid_up_to());
                        let valid = core::str::from_utf8(valid).unwrap_or_default();
                        out.push_str(&valid.replace('%', "%25"));
                        let bad = err.error_len().unwrap_or(tail.len());
                        for byte in &tail[..bad] {
                            out.push_str(&format!("%{byte:02X}"));
                        }
                        rest = &tail[bad..];
                    }
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339_from_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_from_millis(1_710_000_000_123),
            "2024-03-09T16:00:00.123Z"
        );
        assert_eq!(
            rfc3339_from_millis(951_782_400_000),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn keys_are_injective() {
        assert_eq!(bytes_to_key(b"dlv_1"), "dlv_1");
        assert_eq!(bytes_to_key(b"a%b"), "a%25b");
        assert_eq!(bytes_to_key(b"a\xffb"), "a%FFb");
        assert_ne!(bytes_to_key(b"a\xff"), bytes_to_key(b"a%FF"));
    }

    #[test]
    fn uuid_has_version_and_variant() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }
}
