//! The database: one pool over SQLite or PostgreSQL (sqlx `Any`), the same SQL for both.
//!
//! Queries use `$1`-style placeholders, which both SQLite and PostgreSQL accept, and only
//! the TEXT and BIGINT column types.

mod migrate;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor};

use crate::config::DatabaseTarget;

pub use migrate::{MIGRATIONS, migrate};

/// Which SQL engine is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (embedded file).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// The backend of a connection (inside a transaction, where no [`Db`] is at hand).
    pub fn of(connection: &sqlx::AnyConnection) -> Self {
        if connection.backend_name().eq_ignore_ascii_case("postgresql") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    /// SQL for the database server's clock in Unix milliseconds. Rows that several instances
    /// compare by time (the WebSocket feed) are stamped with this one clock, so the
    /// instances' own clocks need not agree.
    pub const fn now_millis_sql(self) -> &'static str {
        match self {
            Self::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
            Self::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        }
    }
}

/// On SQLite, the process's turn to write, and the write connection kept across turns by
/// the writers that take it (today the replay store's; the others still write through the
/// pool). SQLite drops a connection's whole page cache once another connection has written
/// since its last transaction, and the pool hands out its idle connections oldest first:
/// writes on the pool's connections in turn each start cold, every index's upper levels read
/// again. With ten million retained delivery ids that cost the receiver a tenth of its
/// throughput. The kept connection is detached from the pool, which opens another in its
/// place.
pub type WriteTurn = std::sync::Arc<tokio::sync::Mutex<Option<AnyConnection>>>;

/// The connection pool and its backend.
#[derive(Clone, Debug)]
pub struct Db {
    /// The pool.
    pub pool: AnyPool,
    /// The engine.
    pub backend: Backend,
    /// The replay store's group commit, started on first use (inside the runtime).
    replay_group: std::sync::Arc<std::sync::OnceLock<crate::store::replay::GroupCommit>>,
    /// Taken around the write transactions of the hot paths (delivery claims and records,
    /// chain batches, replay batches) on SQLite: see [`Db::write_turn`].
    writes: WriteTurn,
}

/// Why the database could not be opened.
#[derive(Debug)]
pub struct DbOpenError(pub String);

impl core::fmt::Display for DbOpenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbOpenError {}

/// Removes a password from a URL for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl Db {
    /// Connects (creating the SQLite file and its directory when missing) and migrates.
    pub async fn open(target: &DatabaseTarget, max_connections: u32) -> Result<Self, DbOpenError> {
        sqlx::any::install_default_drivers();
        let (url, backend, schema) = match target {
            DatabaseTarget::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|err| {
                        DbOpenError(format!("cannot create {}: {err}", dir.display()))
                    })?;
                }
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    Backend::Sqlite,
                    None,
                )
            }
            DatabaseTarget::Postgres { url, schema } => {
                (url.clone(), Backend::Postgres, schema.clone())
            }
        };
        let shown = match target {
            DatabaseTarget::Sqlite { path } => format!("sqlite file {}", path.display()),
            DatabaseTarget::Postgres { url, .. } => format!("postgres {}", redact_url(url)),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|err| DbOpenError(format!("bad database URL ({shown}): {err}")))?;
        if let Some(schema) = &schema {
            // Validated by the configuration: [a-z_][a-z0-9_]*.
            use sqlx::{ConnectOptions, Connection};
            let mut conn = options
                .connect()
                .await
                .map_err(|err| DbOpenError(format!("cannot connect to the {shown}: {err}")))?;
            // `IF NOT EXISTS` alone races a twin instance on the catalog; the migration lock
            // serializes the two.
            let create = format!(
                "BEGIN; {}; CREATE SCHEMA IF NOT EXISTS {schema}; COMMIT",
                migrate::POSTGRES_LOCK
            );
            conn.execute(create.as_str())
                .await
                .map_err(|err| DbOpenError(format!("cannot create schema {schema}: {err}")))?;
            let _ = conn.close().await;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            // An unreachable database answers 503 within a second, not after a long wait.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _meta| {
                let schema = schema.clone();
                Box::pin(async move {
                    match backend {
                        Backend::Sqlite => {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            // A store of millions of replay entries: keep its hot pages
                            // (index interiors, the right edge) in memory, not re-read, and
                            // map the file (up to SQLite's 2 GiB build limit) so a page of a
                            // random key's leaf is read from the OS cache without a copy.
                            conn.execute("PRAGMA cache_size = -32768").await?;
                            conn.execute("PRAGMA mmap_size = 2147418112").await?;
                        }
                        Backend::Postgres => {
                            // Short statements only: JIT compiling one (done once the
                            // planner's cost estimate passes `jit_above_cost`, as it does
                            // for a claim over a large outbox) costs 10-30 ms, a hundred
                            // times what the statement does.
                            conn.execute("SET jit = off").await?;
                            if let Some(schema) = schema {
                                conn.execute(format!("SET search_path TO {schema}").as_str())
                                    .await?;
                            }
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|err| DbOpenError(format!("cannot connect to the {shown}: {err}")))?;
        let db = Self {
            pool,
            backend,
            replay_group: std::sync::Arc::default(),
            writes: std::sync::Arc::default(),
        };
        migrate(&db)
            .await
            .map_err(|err| DbOpenError(format!("migration failed on the {shown}: {err}")))?;
        Ok(db)
    }

    /// The replay store's group commit over this pool (its writer tasks start on first use).
    pub fn replay_group(&self) -> &crate::store::replay::GroupCommit {
        self.replay_group.get_or_init(|| {
            crate::store::replay::GroupCommit::start(
                self.pool.clone(),
                self.backend,
                self.writes.clone(),
            )
        })
    }

    /// The database server's clock, in Unix milliseconds (see [`Backend::now_millis_sql`]).
    pub async fn now_millis(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(&format!("SELECT {}", self.backend.now_millis_sql()))
            .fetch_one(&self.pool)
            .await
    }

    /// On SQLite, this process's turn to write (`None` on PostgreSQL, whose writers run
    /// side by side). SQLite has one writer; writers that meet on its lock wait in the busy
    /// handler, which sleeps in steps of up to 100 ms. Queuing them here instead hands the
    /// lock over at once.
    pub async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, Option<AnyConnection>>> {
        match self.backend {
            Backend::Sqlite => Some(self.writes.lock().await),
            Backend::Postgres => None,
        }
    }

    /// A trivial round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// How long a request waits for a database connection before answering 503.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(800);

/// True when `err` says the database cannot be reached (no connection in time, the pool
/// closed, the connection failed): answered 503 with `Retry-After`, never 500.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    matches!(
        err,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
    )
}

/// True when a database error is a unique-constraint violation.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db
                    .code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://me:pw@host/db"),
            "postgres://me:***@host/db"
        );
        assert_eq!(redact_url("postgres://host/db"), "postgres://host/db");
    }
}
