//! `fluxora-server backup` and `restore`: a consistent copy of the database and its return.
//!
//! - SQLite: `VACUUM INTO` (an online, transactionally consistent copy while the server runs);
//!   restore checks the copy (`integrity_check`, the migrations table), refuses while another
//!   process holds the database, then swaps the file in atomically.
//! - PostgreSQL: `pg_dump --format=custom` (of `DATABASE_SCHEMA` when set) and
//!   `pg_restore --clean --if-exists --no-owner`; the password travels in `PGPASSWORD`, never
//!   on the command line, and every connection has a 10 s connect timeout.
//!
//! Each prints one JSON line: `{ ok: true, operation, backend, path, bytes, durationMs,
//! format }` or `{ ok: false, operation, error: { code, message } }` (exit 1).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Args;
use serde_json::{Value, json};
use sqlx::{ConnectOptions, Connection, Executor, Row};

use crate::config::{DatabaseTarget, database_target};

/// Where the database is: the same options and variables as `serve`.
#[derive(Clone, Args)]
pub struct DatabaseArgs {
    /// `postgres://...` or `sqlite:PATH`; default: `fluxora.db` in the data dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory of the default SQLite file.
    #[arg(long, env = "FLUXORA_DATA_DIR", default_value = ".")]
    pub data_dir: PathBuf,
    /// PostgreSQL schema (dumped alone when set).
    #[arg(long, env = "DATABASE_SCHEMA")]
    pub database_schema: Option<String>,
}

impl core::fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("data_dir", &self.data_dir)
            .field("database_schema", &self.database_schema)
            .finish_non_exhaustive()
    }
}

/// Options of `backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write (refused when it exists, unless `--force`).
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite `--out`.
    #[arg(long)]
    pub force: bool,
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Options of `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore (from `backup`).
    #[arg(long)]
    pub from: PathBuf,
    /// The database, whose contents the backup replaces.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Why an operation failed: a stable code and a message without secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `DATABASE_UNREACHABLE`, `DATABASE_IN_USE`, `TOOL_NOT_FOUND`, `TOOL_FAILED`,
    /// `DESTINATION_EXISTS`, `DESTINATION_NOT_WRITABLE`, `BACKUP_NOT_FOUND`,
    /// `BACKUP_INVALID`, `BACKEND_MISMATCH` or `INVALID_CONFIGURATION`.
    pub code: &'static str,
    /// What happened.
    pub message: String,
}

fn failure(code: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

const PG_CUSTOM_MAGIC: &[u8] = b"PGDMP";
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

fn target(args: &DatabaseArgs) -> Result<DatabaseTarget, Failure> {
    database_target(
        args.database_url.as_deref(),
        &args.data_dir,
        args.database_schema.as_deref(),
    )
    .map_err(|message| failure("INVALID_CONFIGURATION", message))
}

fn report(operation: &str, result: Result<Value, Failure>) -> i32 {
    match result {
        Ok(mut done) => {
            done["ok"] = json!(true);
            done["operation"] = json!(operation);
            println!("{done}");
            0
        }
        Err(Failure { code, message }) => {
            println!(
                "{}",
                json!({ "ok": false, "operation": operation, "error": { "code": code, "message": message } })
            );
            1
        }
    }
}

/// Runs `backup`; the exit code.
pub fn run_backup(args: &BackupArgs) -> i32 {
    let started = Instant::now();
    let result = target(&args.database).and_then(|target| {
        if args.out.exists() && !args.force {
            return Err(failure(
                "DESTINATION_EXISTS",
                format!("{} exists (pass --force to overwrite)", args.out.display()),
            ));
        }
        let temporary = temporary_beside(&args.out);
        let format = match &target {
            DatabaseTarget::Sqlite { path } => sqlite_backup(path, &temporary)?,
            DatabaseTarget::Postgres { url, schema } => {
                pg_dump(url, schema.as_deref(), &temporary)?
            }
        };
        std::fs::rename(&temporary, &args.out).map_err(|err| {
            failure(
                "DESTINATION_NOT_WRITABLE",
                format!("cannot write {}: {err}", args.out.display()),
            )
        })?;
        Ok(done(&target, &args.out, format, started))
    });
    report("backup", result)
}

/// Runs `restore`; the exit code.
pub fn run_restore(args: &RestoreArgs) -> i32 {
    let started = Instant::now();
    let result = target(&args.database).and_then(|target| {
        let head = read_head(&args.from)?;
        let format = match &target {
            DatabaseTarget::Sqlite { path } => {
                if !head.starts_with(SQLITE_MAGIC) {
                    return Err(mismatch(&head, "an SQLite"));
                }
                sqlite_restore(&args.from, path)?
            }
            DatabaseTarget::Postgres { url, schema } => {
                if !head.starts_with(PG_CUSTOM_MAGIC) {
                    return Err(mismatch(&head, "a PostgreSQL custom-format"));
                }
                pg_restore(url, schema.as_deref(), &args.from)?
            }
        };
        Ok(done(&target, &args.from, format, started))
    });
    report("restore", result)
}

fn done(target: &DatabaseTarget, path: &Path, format: &str, started: Instant) -> Value {
    json!({
        "backend": target.backend(),
        "path": path.display().to_string(),
        "bytes": std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        "durationMs": started.elapsed().as_millis() as u64,
        "format": format,
    })
}

fn mismatch(head: &[u8], wanted: &str) -> Failure {
    if head.starts_with(SQLITE_MAGIC) || head.starts_with(PG_CUSTOM_MAGIC) {
        failure(
            "BACKEND_MISMATCH",
            format!("the backup is not {wanted} backup, which this database needs"),
        )
    } else {
        failure("BACKUP_INVALID", format!("the file is not {wanted} backup"))
    }
}

fn read_head(path: &Path) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|err| {
        failure(
            "BACKUP_NOT_FOUND",
            format!("cannot open {}: {err}", path.display()),
        )
    })?;
    let mut head = vec![0; 16];
    let read = file.read(&mut head).unwrap_or(0);
    head.truncate(read);
    Ok(head)
}

fn temporary_beside(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".partial-{}", std::process::id()));
    path.with_file_name(name)
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| failure("TOOL_FAILED", format!("cannot start the runtime: {err}")))
}

async fn sqlite_connection(
    path: &Path,
    mode: &str,
) -> Result<sqlx::sqlite::SqliteConnection, Failure> {
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(mode == "ro")
        .busy_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await
        .map_err(|err| {
            failure(
                "DATABASE_UNREACHABLE",
                format!("cannot open {}: {err}", path.display()),
            )
        })
}

fn sqlite_backup(database: &Path, out: &Path) -> Result<&'static str, Failure> {
    if !database.exists() {
        return Err(failure(
            "DATABASE_UNREACHABLE",
            format!("{} does not exist", database.display()),
        ));
    }
    let _ = std::fs::remove_file(out);
    runtime()?.block_on(async {
        let mut conn = sqlite_connection(database, "ro").await?;
        let target = out.display().to_string().replace('\'', "''");
        conn.execute(format!("VACUUM INTO '{target}'").as_str())
            .await
            .map_err(|err| {
                failure(
                    "DESTINATION_NOT_WRITABLE",
                    format!("cannot write {}: {err}", out.display()),
                )
            })?;
        let _ = conn.close().await;
        Ok("sqlite")
    })
}

/// The backup is a whole, migrated Fluxora database.
async fn check_sqlite_backup(backup: &Path) -> Result<(), Failure> {
    let mut conn = sqlite_connection(backup, "ro").await?;
    let integrity: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|err| failure("BACKUP_INVALID", format!("unreadable backup: {err}")))?;
    if integrity != "ok" {
        return Err(failure(
            "BACKUP_INVALID",
            format!("integrity check: {integrity}"),
        ));
    }
    sqlx::query("SELECT MAX(version) FROM fluxora_migrations")
        .fetch_one(&mut conn)
        .await
        .map_err(|_| failure("BACKUP_INVALID", "not a Fluxora database (no migrations)"))?;
    let _ = conn.close().await;
    Ok(())
}

fn sqlite_restore(backup: &Path, database: &Path) -> Result<&'static str, Failure> {
    runtime()?.block_on(async {
        check_sqlite_backup(backup).await?;
        if database.exists() {
            // A running server holds the file: taking the exclusive lock fails at once.
            let mut conn = sqlite_connection(database, "rw").await?;
            // In WAL mode an idle connection holds no lock a transaction would meet; exclusive
            // locking mode needs every other connection gone (it drops the shared memory).
            let locked = conn
                .execute(
                    "PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE; \
                     BEGIN EXCLUSIVE; COMMIT",
                )
                .await;
            let _ = conn.close().await;
            if locked.is_err() {
                return Err(failure(
                    "DATABASE_IN_USE",
                    "the database is in use: stop the server before restoring",
                ));
            }
        }
        Ok::<(), Failure>(())
    })?;
    let temporary = temporary_beside(database);
    std::fs::copy(backup, &temporary).map_err(|err| {
        failure(
            "DESTINATION_NOT_WRITABLE",
            format!("cannot write {}: {err}", temporary.display()),
        )
    })?;
    for suffix in ["-wal", "-shm"] {
        let mut side = database.as_os_str().to_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    std::fs::rename(&temporary, database).map_err(|err| {
        failure(
            "DESTINATION_NOT_WRITABLE",
            format!("cannot replace {}: {err}", database.display()),
        )
    })?;
    Ok("sqlite")
}

/// `pg_dump` / `pg_restore` with the URL's parts in the environment (the password never
/// on a command line) and a connect timeout.
fn pg_command(tool: &str, url: &str) -> Result<Command, Failure> {
    let parsed = url::Url::parse(url)
        .map_err(|_| failure("INVALID_CONFIGURATION", "DATABASE_URL is not a URL"))?;
    let mut command = Command::new(tool);
    command
        .env("PGCONNECT_TIMEOUT", "10")
        .env("PGHOST", parsed.host_str().unwrap_or("localhost"))
        .env("PGPORT", parsed.port().unwrap_or(5432).to_string())
        .env("PGDATABASE", parsed.path().trim_start_matches('/'));
    if !parsed.username().is_empty() {
        command.env("PGUSER", parsed.username());
    }
    if let Some(password) = parsed.password() {
        command.env("PGPASSWORD", password);
    }
    Ok(command)
}

fn run_tool(mut command: Command, tool: &str) -> Result<(), Failure> {
    let output = command.output().map_err(|err| {
        failure(
            "TOOL_NOT_FOUND",
            format!("cannot run {tool} (install the PostgreSQL client tools): {err}"),
        )
    })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let code = if stderr.contains("connection to server") || stderr.contains("could not connect") {
        "DATABASE_UNREACHABLE"
    } else {
        "TOOL_FAILED"
    };
    Err(failure(code, format!("{tool} failed: {last}")))
}

fn pg_dump(url: &str, schema: Option<&str>, out: &Path) -> Result<&'static str, Failure> {
    let mut command = pg_command("pg_dump", url)?;
    command
        .arg("--format=custom")
        .arg("--no-owner")
        .arg("--file")
        .arg(out);
    if let Some(schema) = schema {
        command.arg("--schema").arg(schema);
    }
    run_tool(command, "pg_dump").inspect_err(|_| {
        let _ = std::fs::remove_file(out);
    })?;
    Ok("pg_custom")
}

fn pg_restore(url: &str, schema: Option<&str>, backup: &Path) -> Result<&'static str, Failure> {
    let mut command = pg_command("pg_restore", url)?;
    command
        .arg("--clean")
        .arg("--if-exists")
        .arg("--no-owner")
        .arg("--single-transaction")
        .arg("--exit-on-error");
    if let Some(schema) = schema {
        command.arg("--schema").arg(schema);
    }
    command.arg("--dbname").arg(
        url::Url::parse(url)
            .map(|u| u.path().trim_start_matches('/').to_owned())
            .unwrap_or_default(),
    );
    command.arg(backup);
    run_tool(command, "pg_restore")?;
    Ok("pg_custom")
}
