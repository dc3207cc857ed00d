//! `fluxora-server backup` / `restore` on both databases, through the binary: an online copy
//! while the server runs, a restore that brings back exactly the copied state, and each
//! failure answered as one JSON line with its code.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_fluxora-server");

fn cli(args: &[&str], store: &Store) -> (i32, Value) {
    let output = Command::new(BIN)
        .args(args)
        .args(store.args())
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_SCHEMA")
        .env_remove("FLUXORA_DATA_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answer = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "not one JSON line: {stdout} {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), answer)
}

fn code(answer: &Value) -> &str {
    answer["error"]["code"].as_str().unwrap_or_default()
}

async fn stream_exists(server: &TestServer, id: &str) -> bool {
    server
        .get(&format!("/api/streams/{id}"))
        .await
        .status()
        .as_u16()
        == 200
}

async fn backup_then_restore(backend: Backend) {
    let Some(store) = Store::fresh(backend).await else {
        return;
    };
    let dir = std::env::temp_dir().join(unique("fluxora-backup"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fluxora.backup");
    let path = file.to_str().unwrap();

    let server = TestServer::start_on(store, &[]).await;
    let kept = create_stream(&server.client, &server.base, 1).await;
    // Online: the server keeps running while the copy is taken.
    let (status, done) = cli(&["backup", "--out", path], &server.store);
    assert_eq!(status, 0, "{done}");
    assert_eq!(done["ok"], true);
    let expected = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(done["backend"], expected);
    assert!(done["bytes"].as_u64().unwrap() > 0 && done["durationMs"].is_u64());
    let later = create_stream(&server.client, &server.base, 2).await;
    let (status, refused) = cli(&["backup", "--out", path], &server.store);
    assert_eq!((status, code(&refused)), (1, "DESTINATION_EXISTS"));
    if backend == Backend::Sqlite {
        let (status, refused) = cli(&["restore", "--from", path], &server.store);
        assert_eq!(
            (status, code(&refused)),
            (1, "DATABASE_IN_USE"),
            "{refused}"
        );
    }
    let store = server.stop_keep().await;

    let (status, done) = cli(&["restore", "--from", path], &store);
    assert_eq!(status, 0, "{done}");
    let server = TestServer::start_on(store, &[]).await;
    assert!(
        stream_exists(&server, &kept).await,
        "the copied stream is back"
    );
    assert!(
        !stream_exists(&server, &later).await,
        "the later one is gone"
    );
    let store = server.stop_keep().await;

    let missing = dir.join("none");
    let (_, refused) = cli(&["restore", "--from", missing.to_str().unwrap()], &store);
    assert_eq!(code(&refused), "BACKUP_NOT_FOUND");
    let garbage = dir.join("garbage");
    std::fs::write(&garbage, b"not a backup at all").unwrap();
    let (_, refused) = cli(&["restore", "--from", garbage.to_str().unwrap()], &store);
    assert_eq!(code(&refused), "BACKUP_INVALID");
    let other = other_kind(&dir, backend);
    let (_, refused) = cli(&["restore", "--from", other.to_str().unwrap()], &store);
    assert_eq!(code(&refused), "BACKEND_MISMATCH");
    store.remove().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A file that starts like the other backend's backups.
fn other_kind(dir: &Path, backend: Backend) -> std::path::PathBuf {
    let path = dir.join("other-kind");
    let head: &[u8] = match backend {
        Backend::Sqlite => b"PGDMP\x01\x0e\x00",
        Backend::Postgres => b"SQLite format 3\x00",
    };
    std::fs::write(&path, head).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_and_restore() {
    backup_then_restore(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_and_restore() {
    backup_then_restore(Backend::Postgres).await;
}

#[test]
fn an_unreachable_database_is_reported() {
    let store = Store::Postgres {
        url: "postgres://nobody@127.0.0.1:1/none".to_owned(),
        schema: "fxnone".to_owned(),
    };
    let out = std::env::temp_dir().join(unique("fluxora-unreachable"));
    let (status, refused) = cli(&["backup", "--out", out.to_str().unwrap()], &store);
    assert_eq!(
        (status, code(&refused)),
        (1, "DATABASE_UNREACHABLE"),
        "{refused}"
    );
    assert!(!out.exists(), "no partial file is left");
}
