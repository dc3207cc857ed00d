//! Likely causes of a failed verification, found by re-trying the core with the usual mistakes.
//!
//! Every candidate is checked by the core's own verifier: nothing here hashes or compares.

use fluxora_webhooks::{DeliveryHeaders, NoReplayGuard, Outcome, Verifier, parse_timestamp};

/// One likely cause of a failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// Stable identifier of the cause, e.g. `body_reserialized`.
    pub cause: &'static str,
    /// What was found and what to do.
    pub detail: String,
}

fn diagnosis(cause: &'static str, detail: impl Into<String>) -> Diagnosis {
    Diagnosis {
        cause,
        detail: detail.into(),
    }
}

/// True when `secret` signed `body` at `timestamp` into `signature` (freshness ignored).
fn signs(secret: &[u8], timestamp: &[u8], signature: &[u8], body: &[u8]) -> bool {
    let Some(ts) = parse_timestamp(timestamp) else {
        return false;
    };
    let verifier = Verifier::new(secret)
        .with_tolerance_seconds(u64::MAX)
        .with_max_body_bytes(u64::MAX);
    let headers = DeliveryHeaders::new("diagnosis", timestamp, signature);
    verifier
        .verify(&headers, body, ts, &mut NoReplayGuard)
        .is_ok()
}

/// Looks for the usual causes of `outcome` for a delivery verified at `now`.
///
/// Detects: a timestamp in milliseconds; a stale timestamp (its age, and whether the
/// signature would otherwise match); a body re-serialized from JSON (by Python's
/// `json.dumps` with its spacing and key order kept, compact, pretty, keys reordered,
/// trailing newline added or lost); surrounding whitespace or a newline in
/// the secret on either side; a secret decoded from base64 or stripped of a prefix; a body
/// re-encoded (Latin-1 vs UTF-8, a byte-order mark); a signature header with a prefix or in
/// base64 instead of hex.
pub fn diagnose_mismatch(
    secret: &[u8],
    timestamp: &[u8],
    signature: &[u8],
    body: &[u8],
    now: u64,
    tolerance_seconds: u64,
    outcome: Outcome,
) -> Vec<Diagnosis> {
    let mut found = Vec::new();
    if outcome.is_ok() {
        return found;
    }
    if let Some(ts) = parse_timestamp(timestamp) {
        if ts > 100_000_000_000 && (ts / 1000).abs_diff(now) <= tolerance_seconds {
            found.push(diagnosis(
                "timestamp_in_milliseconds",
                format!(
                    "the timestamp {ts} looks like Unix milliseconds; the contract uses seconds ({})",
                    ts / 1000
                ),
            ));
        }
    } else if timestamp.trim_ascii().contains(&b'.') {
        found.push(diagnosis(
            "timestamp_not_integer",
            "the timestamp has a fractional part; send whole Unix seconds",
        ));
    }
    if let (Outcome::TimestampOutsideTolerance { .. }, Some(ts)) =
        (outcome, parse_timestamp(timestamp))
        && found.is_empty()
    {
        let age = i128::from(now) - i128::from(ts);
        let (side, seconds) = if age >= 0 {
            ("old", age)
        } else {
            ("in the future", -age)
        };
        let would = if signs(secret, timestamp, signature, body) {
            "the signature would otherwise match: only the freshness fails (a delayed or replayed delivery, or a clock off)"
        } else {
            "the signature would not match either"
        };
        found.push(diagnosis(
            "timestamp_stale",
            format!(
                "the timestamp is {seconds} s {side} (tolerance {tolerance_seconds} s); {would}"
            ),
        ));
    }
    let mismatch = matches!(
        outcome,
        Outcome::SignatureMismatch | Outcome::PreviousSecretExpired
    );
    if !mismatch {
        return found;
    }
    found.extend(signature_format(secret, timestamp, signature, body));
    found.extend(secret_variants(secret, timestamp, signature, body));
    found.extend(body_variants(secret, timestamp, signature, body));
    if found.is_empty() {
        found.push(diagnosis(
            "unknown",
            "no usual mistake reproduces the signature: check that both sides use the same secret",
        ));
    }
    found
}

fn signature_format(secret: &[u8], ts: &[u8], signature: &[u8], body: &[u8]) -> Vec<Diagnosis> {
    let mut found = Vec::new();
    let text = String::from_utf8_lossy(signature.trim_ascii()).into_owned();
    for prefix in ["sha256=", "v1=", "v1,"] {
        if let Some(rest) = text.strip_prefix(prefix)
            && signs(secret, ts, rest.as_bytes(), body)
        {
            found.push(diagnosis(
                "signature_prefixed",
                format!("the signature carries a `{prefix}` prefix; send the 64 hex digits only"),
            ));
        }
    }
    if let Some(decoded) = base64_decode(&text)
        && decoded.len() == 32
        && signs(secret, ts, hex::encode(&decoded).as_bytes(), body)
    {
        found.push(diagnosis(
            "signature_base64",
            "the signature is base64; the contract sends lowercase hex",
        ));
    }
    found
}

fn secret_variants(secret: &[u8], ts: &[u8], signature: &[u8], body: &[u8]) -> Vec<Diagnosis> {
    let mut found = Vec::new();
    let trimmed = secret.trim_ascii();
    if trimmed != secret && signs(trimmed, ts, signature, body) {
        found.push(diagnosis(
            "secret_whitespace",
            "the configured secret has surrounding whitespace or a newline that the sender's has not (e.g. read from a file with a trailing newline); trim it",
        ));
    }
    for suffix in [&b"\n"[..], b"\r\n", b" "] {
        let mut padded = secret.to_vec();
        padded.extend_from_slice(suffix);
        if signs(&padded, ts, signature, body) {
            found.push(diagnosis(
                "secret_whitespace",
                "the sender's secret ends with whitespace or a newline that the configured one has not; fix the sender's configuration",
            ));
            break;
        }
    }
    let text = String::from_utf8_lossy(secret);
    if let Some(decoded) = base64_decode(trimmed_text(&text))
        && signs(&decoded, ts, signature, body)
    {
        found.push(diagnosis(
            "secret_base64_decoded",
            "the sender keyed HMAC with the base64-decoded secret; the key is the secret's UTF-8 bytes as configured",
        ));
    }
    if let Some((_, rest)) = text.split_once('_')
        && signs(rest.as_bytes(), ts, signature, body)
    {
        found.push(diagnosis(
            "secret_prefix_stripped",
            "the sender stripped the secret's prefix; the key is the whole secret as configured",
        ));
    }
    found
}

fn trimmed_text(text: &str) -> &str {
    text.trim()
}

fn body_variants(secret: &[u8], ts: &[u8], signature: &[u8], body: &[u8]) -> Vec<Diagnosis> {
    let mut found = Vec::new();
    let try_body = |candidate: &[u8]| candidate != body && signs(secret, ts, signature, candidate);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        // Python's json.dumps keeps the key order and writes ", " and ": " (escaping
        // non-ASCII by default); the original may have been either side of it.
        let respaced_signs = |comma, colon, modes: [NonAscii; 2]| {
            modes
                .iter()
                .filter_map(|&mode| respaced(body, comma, colon, mode))
                .any(|candidate| try_body(&candidate))
        };
        let when = if respaced_signs(", ", ": ", [NonAscii::Keep, NonAscii::Escape]) {
            Some("before verifying or signing")
        } else if respaced_signs(",", ":", [NonAscii::Keep, NonAscii::Unescape]) {
            Some("after it was signed")
        } else {
            None
        };
        if let Some(when) = when {
            found.push(diagnosis(
                "body_reserialized_python",
                format!("the body was re-serialized by Python's json.dumps (spaces after ':' and ',', key order kept) {when}; verify the raw bytes as received (request.body / request.get_data(), not json.dumps(request.json))"),
            ));
        }
        let compact = serde_json::to_vec(&value).unwrap_or_default();
        let pretty = serde_json::to_vec_pretty(&value).unwrap_or_default();
        if try_body(&compact) || try_body(&pretty) {
            found.push(diagnosis(
                "body_reserialized",
                "the body was parsed and re-serialized as JSON (spacing or key order changed) before verifying or signing; verify the raw bytes as received",
            ));
        }
    }
    let mut with_newline = body.to_vec();
    with_newline.push(b'\n');
    let without_newline = body.strip_suffix(b"\n").unwrap_or(body);
    if try_body(&with_newline) || try_body(without_newline) {
        found.push(diagnosis(
            "body_trailing_newline",
            "a trailing newline was added or lost in the body; verify the raw bytes as received",
        ));
    }
    if let Some(rest) = body.strip_prefix(b"\xEF\xBB\xBF")
        && try_body(rest)
    {
        found.push(diagnosis(
            "body_encoding",
            "the body gained a UTF-8 byte-order mark; verify the raw bytes as received",
        ));
    }
    if let Ok(text) = core::str::from_utf8(body) {
        // The received UTF-8 text, as the sender's Latin-1 bytes.
        if text.chars().all(|c| u32::from(c) < 256) {
            let latin1: Vec<u8> = text.chars().map(|c| u32::from(c) as u8).collect();
            if try_body(&latin1) {
                found.push(diagnosis(
                    "body_encoding",
                    "the sender signed the body in Latin-1 and it arrived as UTF-8 (or the other way round); sign and verify the same bytes",
                ));
            }
        }
    } else {
        // Non-UTF-8 bytes, as if read as Latin-1 and re-encoded as UTF-8.
        let utf8: String = body.iter().map(|&b| char::from(b)).collect();
        if try_body(utf8.as_bytes()) {
            found.push(diagnosis(
                "body_encoding",
                "the body was decoded as Latin-1 and re-encoded as UTF-8 on one side; sign and verify the raw bytes",
            ));
        }
    }
    found
}

/// What to do with non-ASCII characters inside JSON strings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NonAscii {
    /// Keep the characters and escapes as they are.
    Keep,
    /// Write non-ASCII characters as `\uXXXX` (surrogate pairs above the BMP): Python's
    /// default `ensure_ascii`.
    Escape,
    /// Turn `\uXXXX` escapes of non-ASCII characters back into the characters.
    Unescape,
}

/// The JSON text `body` with its whitespace outside strings replaced: `comma` after each
/// `,`, `colon` after each `:`, nothing else, and non-ASCII characters in strings treated
/// as `non_ascii` says. Key order and every other token are kept. `None` when the text is
/// not UTF-8.
fn respaced(body: &[u8], comma: &str, colon: &str, non_ascii: NonAscii) -> Option<Vec<u8>> {
    let chars: Vec<char> = core::str::from_utf8(body).ok()?.chars().collect();
    let mut out = String::with_capacity(body.len() + body.len() / 8);
    let (mut i, mut in_string) = (0, false);
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if !in_string {
            match c {
                '"' => in_string = true,
                ',' => {
                    out.push_str(comma);
                    continue;
                }
                ':' => {
                    out.push_str(colon);
                    continue;
                }
                c if c.is_ascii_whitespace() => continue,
                _ => {}
            }
            out.push(c);
            continue;
        }
        match c {
            '"' => {
                in_string = false;
                out.push(c);
            }
            '\\' if non_ascii == NonAscii::Unescape && chars.get(i) == Some(&'u') => {
                match unescape_at(&chars, i + 1) {
                    Some((decoded, used)) if !decoded.is_ascii() => {
                        out.push(decoded);
                        i += 1 + used;
                    }
                    _ => out.push(c),
                }
            }
            '\\' => {
                out.push(c);
                if let Some(&next) = chars.get(i) {
                    out.push(next);
                    i += 1;
                }
            }
            c if non_ascii == NonAscii::Escape && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    Some(out.into_bytes())
}

/// The character escaped as `XXXX` (after `\u`) at `chars[at..]`, with a following low
/// surrogate escape when it is a high one; and how many chars were used.
fn unescape_at(chars: &[char], at: usize) -> Option<(char, usize)> {
    let unit = |from: usize| -> Option<u32> {
        let hex: String = chars.get(from..from + 4)?.iter().collect();
        u32::from_str_radix(&hex, 16).ok()
    };
    let first = unit(at)?;
    if (0xD800..0xDC00).contains(&first) {
        let low_at = at + 4;
        if chars.get(low_at) == Some(&'\\') && chars.get(low_at + 1) == Some(&'u') {
            let low = unit(low_at + 2)?;
            let code = 0x10000 + ((first - 0xD800) << 10) + (low.checked_sub(0xDC00)?);
            return Some((char::from_u32(code)?, 10));
        }
        return None;
    }
    Some((char::from_u32(first)?, 4))
}

/// Standard or URL-safe base64, padded or not.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    if text.is_empty() {
        return None;
    }
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .filter(|bytes| !bytes.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fluxora_webhooks::sign;

    const NOW: u64 = 1_710_000_000;

    fn causes(secret: &[u8], ts: &str, sig: &str, body: &[u8]) -> Vec<&'static str> {
        let headers = DeliveryHeaders::new("d", ts, sig);
        let outcome = Verifier::new(secret).verify(&headers, body, NOW, &mut NoReplayGuard);
        diagnose_mismatch(
            secret,
            ts.as_bytes(),
            sig.as_bytes(),
            body,
            NOW,
            300,
            outcome,
        )
        .into_iter()
        .map(|d| d.cause)
        .collect()
    }

    #[test]
    fn respacing_matches_pythons_json_dumps() {
        let raw = "{\"z\":1,\"a\":{\"x\":[1,2.5,\"t, u: v\"]},\"e\":\"caf\u{e9} \u{1F600}\",\"q\":\"\\\"q\\\"\"}";
        let python = respaced(raw.as_bytes(), ", ", ": ", NonAscii::Escape).unwrap();
        // json.dumps(json.loads(raw)) in CPython 3:
        let expected = "{\"z\": 1, \"a\": {\"x\": [1, 2.5, \"t, u: v\"]}, \"e\": \"caf\\u00e9 \\ud83d\\ude00\", \"q\": \"\\\"q\\\"\"}";
        assert_eq!(String::from_utf8(python.clone()).unwrap(), expected);
        let back = respaced(&python, ",", ":", NonAscii::Unescape).unwrap();
        assert_eq!(String::from_utf8(back).unwrap(), raw);
    }

    #[test]
    fn finds_a_python_reserialized_body_either_way() {
        let raw = "{\"z\":1,\"e\":\"caf\u{e9}\"}".as_bytes();
        let python = respaced(raw, ", ", ": ", NonAscii::Escape).unwrap();
        // Signed raw, verified after json.dumps.
        let sig = sign(b"s", b"1710000000", raw);
        let found = causes(b"s", "1710000000", sig.as_str(), &python);
        assert!(found.contains(&"body_reserialized_python"), "{found:?}");
        // Signed after json.dumps, verified raw.
        let sig = sign(b"s", b"1710000000", &python);
        let found = causes(b"s", "1710000000", sig.as_str(), raw);
        assert!(found.contains(&"body_reserialized_python"), "{found:?}");
    }

    #[test]
    fn a_stale_timestamp_says_its_age_and_whether_the_signature_matches() {
        let old = (NOW - 400).to_string();
        let sig = sign(b"s", old.as_bytes(), b"{}");
        let headers = DeliveryHeaders::new("d", old.as_str(), sig.as_str());
        let outcome = Verifier::new(b"s").verify(&headers, b"{}", NOW, &mut NoReplayGuard);
        let found = diagnose_mismatch(
            b"s",
            old.as_bytes(),
            sig.as_bytes(),
            b"{}",
            NOW,
            300,
            outcome,
        );
        assert_eq!(found[0].cause, "timestamp_stale");
        assert!(
            found[0].detail.contains("400 s old (tolerance 300 s)"),
            "{}",
            found[0].detail
        );
        assert!(found[0].detail.contains("would otherwise match"));
        let found = diagnose_mismatch(
            b"other",
            old.as_bytes(),
            sig.as_bytes(),
            b"{}",
            NOW,
            300,
            outcome,
        );
        assert!(
            found[0].detail.contains("would not match either"),
            "{}",
            found[0].detail
        );
    }

    #[test]
    fn finds_reserialized_json() {
        let sent = br#"{"b": 1, "a": [1, 2]}"#;
        let signed =
            serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(sent).unwrap())
                .unwrap();
        let sig = sign(b"s3cret", b"1710000000", &signed);
        assert!(causes(b"s3cret", "1710000000", sig.as_str(), sent).contains(&"body_reserialized"));
    }

    #[test]
    fn finds_milliseconds() {
        let sig = sign(b"s3cret", b"1710000000000", b"{}");
        assert_eq!(
            causes(b"s3cret", "1710000000000", sig.as_str(), b"{}"),
            ["timestamp_in_milliseconds"]
        );
    }

    #[test]
    fn finds_whitespace_in_the_secret() {
        let sig = sign(b"s3cret", b"1710000000", b"{}");
        assert!(
            causes(b"s3cret\n", "1710000000", sig.as_str(), b"{}").contains(&"secret_whitespace")
        );
        let sig = sign(b"s3cret\n", b"1710000000", b"{}");
        assert!(
            causes(b"s3cret", "1710000000", sig.as_str(), b"{}").contains(&"secret_whitespace")
        );
    }

    #[test]
    fn finds_wrong_encoding() {
        let sig = sign(b"s3cret", b"1710000000", "{\"n\":\"caf\u{e9}\"}".as_bytes());
        let latin1 = b"{\"n\":\"caf\xe9\"}";
        assert!(causes(b"s3cret", "1710000000", sig.as_str(), latin1).contains(&"body_encoding"));
    }

    #[test]
    fn finds_base64_signatures_and_secrets() {
        use base64::Engine as _;
        let sig = sign(b"s3cret", b"1710000000", b"{}");
        let raw = hex::decode(sig.as_str()).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        assert!(causes(b"s3cret", "1710000000", &b64, b"{}").contains(&"signature_base64"));
        let sig = sign(b"s3cret", b"1710000000", b"{}");
        let encoded = base64::engine::general_purpose::STANDARD.encode(b"s3cret");
        assert!(
            causes(encoded.as_bytes(), "1710000000", sig.as_str(), b"{}")
                .contains(&"secret_base64_decoded")
        );
    }

    #[test]
    fn says_unknown_when_nothing_fits() {
        let sig = sign(b"other", b"1710000000", b"{}");
        assert_eq!(
            causes(b"s3cret", "1710000000", sig.as_str(), b"{}"),
            ["unknown"]
        );
    }
}
