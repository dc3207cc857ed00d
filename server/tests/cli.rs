//! The binary: configuration that fails fast, and the operator CLI (`sign`, `verify`).
#![allow(clippy::unwrap_used)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_fluxora-server");

fn run(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("WEBHOOK_SECRET")
        .env_remove("FLUXORA_WEBHOOK_SECRET")
        .env_remove("ADMIN_API_KEY")
        .env_remove("NODE_ENV")
        .env_remove("FLUXORA_ENV")
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
        (
            vec![("NODE_ENV", "production")],
            "METRICS_TOKEN is required",
        ),
        (
            vec![("FLUXORA_ENV", "production")],
            "METRICS_TOKEN is required",
        ),
        (
            vec![("CORS_ALLOWED_ORIGINS", "http://localhost:5173/app")],
            "CORS_ALLOWED_ORIGINS",
        ),
        (vec![("REPLAY_BATCH_SIZE", "0")], "REPLAY_BATCH_SIZE"),
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

/// The shared conformance file through `fluxora-server verify --json`: every signature case
/// without replay state (the CLI verifies one captured delivery and keeps no store) with the
/// headers as flags, and every header case as a captured `name: value` listing.
mod conformance {
    use fluxora_conformance::body_bytes;
    use serde_json::Value;

    use super::{run, temp_file};

    fn config_args(config: &Value) -> Vec<String> {
        let mut args = vec![
            "--secret".to_owned(),
            config["secret"].as_str().unwrap_or("").to_owned(),
        ];
        if let Some(previous) = config["previous_secret"].as_str() {
            args.extend(["--previous-secret".to_owned(), previous.to_owned()]);
        }
        for (key, flag) in [
            ("previous_secret_rotated_at", "--previous-secret-rotated-at"),
            ("grace_window_seconds", "--grace-window-seconds"),
            ("tolerance_seconds", "--tolerance-seconds"),
            ("max_body_bytes", "--max-body-bytes"),
        ] {
            if let Some(value) = config.get(key).and_then(Value::as_u64) {
                args.extend([flag.to_owned(), value.to_string()]);
            }
        }
        args
    }

    fn check(name: &str, mut args: Vec<String>, case: &Value, index: usize) -> Option<String> {
        let body = temp_file(
            &format!("conformance-{index}.body"),
            &body_bytes(&case["body"]),
        );
        args.extend([
            "--body".to_owned(),
            body.display().to_string(),
            "--now".to_owned(),
            case["now"].as_u64().unwrap().to_string(),
            "--json".to_owned(),
        ]);
        let argv: Vec<&str> = std::iter::once("verify")
            .chain(args.iter().map(String::as_str))
            .collect();
        let (code, stdout, stderr) = run(&argv, &[]);
        let answer: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        let expect = &case["expect"];
        let same = answer["code"] == expect["code"]
            && answer["status"] == expect["status"]
            && answer["message"] == expect["message"]
            && (expect["code"] != "ok"
                || answer["usedPreviousSecret"] == expect["used_previous_secret"])
            && (code == 0) == (expect["code"] == "ok");
        (!same).then(|| format!("{name}: exit {code}, {stdout}{stderr}, want {expect}"))
    }

    #[test]
    fn every_case_without_replay_state_gives_the_expected_answer() {
        let cases = fluxora_conformance::cases();
        let mut failures = Vec::new();
        let mut ran = 0;
        for (index, case) in cases["signature_cases"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            if case.get("prior").is_some() || case.get("replay").is_some() {
                continue;
            }
            let mut args = config_args(&case["config"]);
            for (key, flag) in [
                ("delivery_id", "--delivery-id"),
                ("timestamp", "--timestamp"),
                ("signature", "--signature"),
            ] {
                if let Some(value) = case["headers"][key].as_str() {
                    args.extend([flag.to_owned(), value.to_owned()]);
                }
            }
            ran += 1;
            failures.extend(check(case["name"].as_str().unwrap(), args, case, index));
        }
        for (index, case) in cases["header_cases"].as_array().unwrap().iter().enumerate() {
            let listing: String = case["header_pairs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| {
                    format!(
                        "{}: {}\r\n",
                        pair[0].as_str().unwrap(),
                        pair[1].as_str().unwrap()
                    )
                })
                .collect();
            let headers = temp_file(
                &format!("conformance-h{index}.headers"),
                format!("POST /hook HTTP/1.1\r\n{listing}").as_bytes(),
            );
            let mut args = config_args(&case["config"]);
            args.extend(["--headers".to_owned(), headers.display().to_string()]);
            ran += 1;
            failures.extend(check(
                case["name"].as_str().unwrap(),
                args,
                case,
                1000 + index,
            ));
        }
        assert!(
            failures.is_empty(),
            "{} of {ran} cases failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(ran >= 90, "ran {ran}");
    }
}

/// The seed's names: `FLUXORA_WEBHOOK_SECRET` verifies deliveries (the older
/// `WEBHOOK_SECRET` still signs them in the CLI) and `ADMIN_API_KEY` is an admin key.
#[tokio::test]
async fn the_seed_names_configure_the_secret_and_the_admin_key() {
    let server = LoggedServer::start(
        "seed-names",
        &[],
        &[
            ("FLUXORA_WEBHOOK_SECRET", "seed-named-secret"),
            ("ADMIN_API_KEY", "seed-admin-key-0123456789"),
        ],
    )
    .await;
    let address = server.address.clone();
    let body = temp_file("seed-names.json", br#"{"event":"stream.created"}"#);
    let url = format!("http://{address}/internal/webhooks/receive");
    let (code, out, err) = run(
        &["send", "--url", &url, "--body", body.to_str().unwrap()],
        &[("WEBHOOK_SECRET", "seed-named-secret")],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("HTTP 200"), "{out}");
    let client = reqwest::Client::new();
    let admin = |key: &'static str| {
        client
            .get(format!("http://{address}/api/admin/webhooks/endpoints"))
            .bearer_auth(key)
            .send()
    };
    assert_eq!(
        admin("seed-admin-key-0123456789")
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        admin("another-key-0123456789")
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    server.stop();
}

#[test]
fn verify_recognises_pythons_json_dumps_and_a_stale_timestamp() {
    // Signed over the compact body; the receiver verified json.dumps(json.loads(body)).
    let compact = br#"{"z":1,"a":[1,2]}"#;
    let signature = fluxora_webhooks::sign(b"topsecret", b"1710000000", compact);
    let python = temp_file("python.json", br#"{"z": 1, "a": [1, 2]}"#);
    let verify = |now: &str| {
        run(
            &[
                "verify",
                "--body",
                python.to_str().unwrap(),
                "--delivery-id",
                "d",
                "--timestamp",
                "1710000000",
                "--signature",
                signature.as_str(),
                "--now",
                now,
            ],
            &[("FLUXORA_WEBHOOK_SECRET", "topsecret")],
        )
    };
    let (code, stdout, _) = verify("1710000000");
    assert_eq!(code, 1);
    assert!(stdout.contains("body_reserialized_python"), "{stdout}");
    assert!(stdout.contains("json.dumps"), "{stdout}");
    // The same delivery ten minutes later: its age, and that the signature is not the issue
    // (it does not match these bytes either).
    let (code, stdout, _) = verify("1710000600");
    assert_eq!(code, 1);
    assert!(stdout.contains("timestamp_stale"), "{stdout}");
    assert!(stdout.contains("600 s old (tolerance 300 s)"), "{stdout}");
    assert!(stdout.contains("would not match either"), "{stdout}");
}

/// The seed's log lines, read from the binary's JSON logs: WebSocket connect / disconnect
/// with `connectionId` and `total`, a reorg with `existingHash` and `incomingHash`, stream
/// filters with the request id.
#[tokio::test]
async fn the_seed_log_fields_are_written() {
    let token = "indexer-token-0123456789abcdef";
    let server = LoggedServer::start("seed-logs", &["--indexer-worker-token", token], &[]).await;
    let (address, lines) = (server.address.clone(), server.lines.clone());
    let logged = |needles: &[&str]| {
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| needles.iter().all(|n| l.contains(n)))
    };
    let wait_for = |needles: Vec<String>| {
        let logged = &logged;
        async move {
            let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
            for _ in 0..100 {
                if logged(&needles) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("no log line with {needles:?}");
        }
    };
    let client = reqwest::Client::new();
    client
        .get(format!(
            "http://{address}/api/streams?status=active&limit=5"
        ))
        .header("x-request-id", "req-seed-logs")
        .send()
        .await
        .unwrap();
    wait_for(vec![
        "listing streams".into(),
        "req-seed-logs".into(),
        "\"status\":\"active\"".into(),
    ])
    .await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/ws/streams"))
        .await
        .unwrap();
    wait_for(vec![
        "websocket connected".into(),
        "connectionId".into(),
        "\"total\":1".into(),
    ])
    .await;
    socket.close(None).await.unwrap();
    drop(socket);
    wait_for(vec!["websocket disconnected".into(), "\"total\":0".into()]).await;
    let batch = |hash: &str| serde_json::json!({ "events": [{ "eventId": format!("e-{hash}"), "ledger": 7, "ledgerHash": hash, "streamId": "s-logs", "type": "stream.paused", "payload": {} }] });
    for hash in ["hash-a", "hash-b"] {
        let response = client
            .post(format!("http://{address}/internal/indexer/batches"))
            .bearer_auth(token)
            .json(&batch(hash))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    wait_for(vec![
        "chain reorg".into(),
        "\"existingHash\":\"hash-a\"".into(),
        "\"incomingHash\":\"hash-b\"".into(),
    ])
    .await;
    server.stop();
}

/// `serve` run as a process on a free port with JSON logs, its log lines collected.
struct LoggedServer {
    child: std::process::Child,
    dir: std::path::PathBuf,
    address: String,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl LoggedServer {
    async fn start(name: &str, args: &[&str], envs: &[(&str, &str)]) -> Self {
        use std::io::{BufRead, BufReader};
        use std::process::Stdio;

        let dir = std::env::temp_dir().join(format!("fluxora-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--log-format",
                "json",
            ])
            .args(args)
            .arg("--data-dir")
            .arg(&dir)
            .env_remove("DATABASE_URL")
            .env_remove("WEBHOOK_SECRET")
            .env_remove("ADMIN_API_KEYS")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let reader = BufReader::new(child.stdout.take().unwrap());
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        for _ in 0..600 {
            let found = lines.lock().unwrap().iter().find_map(|l| {
                l.split("\"address\":\"")
                    .nth(1)
                    .map(|r| r.split('"').next().unwrap().to_owned())
            });
            if let Some(address) = found {
                return Self {
                    child,
                    dir,
                    address,
                    lines,
                };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        child.kill().ok();
        child.wait().ok();
        panic!("the server never logged its address");
    }

    fn stop(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}
