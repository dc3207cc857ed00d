//! The binary: configuration that fails fast, and the operator CLI (`sign`, `verify`).
#![allow(clippy::unwrap_used)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_fluxora-server");

fn run(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("WEBHOOK_SECRET")
        .envs(envs.iter().copied())
        .output()
        .expect("run fluxora-server");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fluxora-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn bad_configuration_fails_fast_with_a_clear_message() {
    for (envs, needle) in [
        (
            vec![("DATABASE_URL", "mysql://localhost/db")],
            "DATABASE_URL must start with",
        ),
        (vec![("API_KEYS", "short")], "shorter than 16 characters"),
        (
            vec![("WEBHOOK_SECRET_ROTATED_AT", "1710000000")],
            "WEBHOOK_SECRET_PREVIOUS is not",
        ),
        (vec![("LOG_FORMAT", "xml")], "LOG_FORMAT"),
        (vec![("PORT", "http")], "invalid value"),
    ] {
        let (code, _, stderr) = run(&["serve", "--port", "0", "--host", "127.0.0.1"], &envs);
        assert_ne!(code, 0, "{envs:?}");
        assert!(stderr.contains(needle), "{envs:?}: {stderr}");
    }
    // An unreachable database is a start failure too.
    let (code, _, stderr) = run(
        &["serve", "--port", "0", "--host", "127.0.0.1"],
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("cannot start"), "{stderr}");
}

#[test]
fn sign_then_verify_round_trips() {
    let body = temp_file("body.json", br#"{"event":"stream.updated"}"#);
    let body = body.to_str().unwrap();
    let (code, stdout, _) = run(
        &[
            "sign",
            "--body",
            body,
            "--timestamp",
            "1710000000",
            "--delivery-id",
            "dlv_1",
        ],
        &[("WEBHOOK_SECRET", "topsecret")],
    );
    assert_eq!(code, 0);
    assert!(
        stdout.contains(
            "x-fluxora-signature: 925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79"
        ),
        "{stdout}"
    );
    let headers = temp_file("headers.txt", stdout.as_bytes());
    let (code, stdout, _) = run(
        &[
            "verify",
            "--body",
            body,
            "--headers",
            headers.to_str().unwrap(),
            "--now",
            "1710000100",
        ],
        &[("WEBHOOK_SECRET", "topsecret")],
    );
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.trim(), "ok 200 Webhook signature verified");
}

#[test]
fn verify_explains_a_reserialized_body() {
    // Signed over the compact form; the receiver saw it pretty-printed.
    let compact = br#"{"a":1,"b":[1,2]}"#;
    let signature = fluxora_webhooks::sign(b"topsecret", b"1710000000", compact);
    let pretty = temp_file(
        "pretty.json",
        b"{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ]\n}",
    );
    let (code, stdout, _) = run(
        &[
            "verify",
            "--body",
            pretty.to_str().unwrap(),
            "--delivery-id",
            "d",
            "--timestamp",
            "1710000000",
            "--signature",
            signature.as_str(),
            "--now",
            "1710000000",
        ],
        &[("WEBHOOK_SECRET", "topsecret")],
    );
    assert_eq!(code, 1);
    assert!(
        stdout.starts_with("signature_mismatch 401 Webhook signature verification failed"),
        "{stdout}"
    );
    assert!(stdout.contains("body_reserialized"), "{stdout}");
}

#[test]
fn verify_explains_milliseconds_and_a_newline_in_the_secret() {
    let body = temp_file("ms.json", b"{}");
    let signature = fluxora_webhooks::sign(b"topsecret", b"1710000000000", b"{}");
    let (code, stdout, _) = run(
        &[
            "verify",
            "--body",
            body.to_str().unwrap(),
            "--delivery-id",
            "d",
            "--timestamp",
            "1710000000000",
            "--signature",
            signature.as_str(),
            "--now",
            "1710000000",
            "--json",
        ],
        &[("WEBHOOK_SECRET", "topsecret")],
    );
    assert_eq!(code, 1);
    let answer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["code"], "timestamp_outside_tolerance");
    assert_eq!(
        answer["likelyCauses"][0]["cause"],
        "timestamp_in_milliseconds"
    );

    let signature = fluxora_webhooks::sign(b"topsecret", b"1710000000", b"{}");
    let (_, stdout, _) = run(
        &[
            "verify",
            "--body",
            body.to_str().unwrap(),
            "--delivery-id",
            "d",
            "--timestamp",
            "1710000000",
            "--signature",
            signature.as_str(),
            "--now",
            "1710000000",
        ],
        &[("WEBHOOK_SECRET", "topsecret\n")],
    );
    assert!(stdout.contains("secret_whitespace"), "{stdout}");
}
