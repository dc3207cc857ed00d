//! Schema migrations: numbered SQL files embedded in the binary, applied once, in order,
//! under a lock so several instances starting together do not race.

use sqlx::{Executor, Row};

use super::{Backend, Db};
use crate::util::unix_millis;

/// Every migration: (version, name, SQL). Append only; never edit a released one.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/0001_init.sql")),
    (
        2,
        "webhook_delivery",
        include_str!("../../migrations/0002_webhook_delivery.sql"),
    ),
    (
        3,
        "chain_events",
        include_str!("../../migrations/0003_chain_events.sql"),
    ),
    (
        4,
        "stream_feed",
        include_str!("../../migrations/0004_stream_feed.sql"),
    ),
    (
        5,
        "replay_reservations",
        include_str!("../../migrations/0005_replay_reservations.sql"),
    ),
    (
        6,
        "audit_log",
        include_str!("../../migrations/0006_audit_log.sql"),
    ),
    (
        7,
        "historical_events",
        include_str!("../../migrations/0007_historical_events.sql"),
    ),
    (
        8,
        "api_keys",
        include_str!("../../migrations/0008_api_keys.sql"),
    ),
    (
        9,
        "delivery_queue",
        include_str!("../../migrations/0009_delivery_queue.sql"),
    ),
    (
        10,
        "claim_per_endpoint",
        include_str!("../../migrations/0010_claim_per_endpoint.sql"),
    ),
];

/// Held for one transaction; serializes migrators across every instance sharing the database.
pub(super) const POSTGRES_LOCK: &str = "SELECT pg_advisory_xact_lock(7263540011)";

/// The statements of a migration file: split on `;` at line ends, comments dropped.
fn statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .map(|line| format!("{line}\n"))
        .collect();
    without_comments
        .split(";\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches(';').to_owned())
        .collect()
}

/// Applies every migration not applied yet, each in its own transaction.
pub async fn migrate(db: &Db) -> Result<(), sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    // PostgreSQL's `CREATE TABLE IF NOT EXISTS` is not safe against a concurrent twin (the
    // loser fails on the catalog), so the table is created under the same lock as the steps.
    let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
    if db.backend == Backend::Postgres {
        tx.execute(POSTGRES_LOCK).await?;
    }
    tx.execute(
        "CREATE TABLE IF NOT EXISTS fluxora_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await?;
    tx.commit().await?;
    for (version, name, sql) in MIGRATIONS {
        let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
        match db.backend {
            Backend::Postgres => {
                tx.execute(POSTGRES_LOCK).await?;
            }
            Backend::Sqlite => {
                // Take the write lock now, so a concurrent migrator waits here.
                tx.execute("DELETE FROM fluxora_migrations WHERE version < 0")
                    .await?;
            }
        }
        let applied = sqlx::query("SELECT COUNT(*) FROM fluxora_migrations WHERE version = $1")
            .bind(*version)
            .fetch_one(&mut *tx)
            .await?
            .try_get::<i64, _>(0)?;
        if applied > 0 {
            tx.rollback().await?;
            continue;
        }
        for statement in statements(sql) {
            tx.execute(statement.as_str()).await?;
        }
        sqlx::query(
            "INSERT INTO fluxora_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(*version)
        .bind(*name)
        .bind(unix_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(version, name, "applied migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_init_migration() {
        let parts = statements(MIGRATIONS[0].2);
        assert!(parts.iter().all(|s| !s.contains("--")));
        assert!(parts[0].starts_with("CREATE TABLE streams"));
        assert_eq!(
            parts
                .iter()
                .filter(|s| s.starts_with("CREATE TABLE"))
                .count(),
            4
        );
    }
}
