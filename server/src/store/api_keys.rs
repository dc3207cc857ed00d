//! API keys managed at run time: `flx_<prefix>_<secret>`, stored as the SHA-256 digest of the
//! whole key and found by the public prefix; compared in constant time.

use serde::Serialize;
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::auth::Access;
use crate::db::Db;
use crate::util::{random_hex, rfc3339_from_millis, sha256_hex};

/// Every key starts with this, so a runtime key is told from a configured one without a
/// lookup.
pub const KEY_PREFIX: &str = "flx_";

/// A key's scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Writes (streams).
    Write,
    /// Admin routes.
    Admin,
}

impl Scope {
    /// `write` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// The scope named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// The routes' access this scope grants.
    pub fn grants(self, access: Access) -> bool {
        matches!(
            (self, access),
            (Self::Write, Access::Write) | (Self::Admin, Access::Admin)
        )
    }
}

/// A key as listed (never its secret or digest).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    /// `key_` + 24 hex digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `write` or `admin`.
    pub scope: String,
    /// The public part of the key (`flx_<prefix>_...`).
    pub prefix: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// The fingerprint of the key that created it.
    pub created_by: String,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

/// A new key: the stored record and the key itself, shown once.
#[derive(Debug)]
pub struct Created {
    /// The record.
    pub key: ApiKey,
    /// The whole key.
    pub secret: String,
}

/// Creates a key of `scope` named `name`.
pub async fn create(
    db: &Db,
    name: &str,
    scope: Scope,
    created_by: &str,
    now_ms: i64,
) -> Result<Created, sqlx::Error> {
    let prefix = random_hex(6);
    let secret = format!("{KEY_PREFIX}{prefix}_{}", random_hex(20));
    let id = format!("key_{}", random_hex(12));
    sqlx::query(
        "INSERT INTO api_keys (id, prefix, digest, name, scope, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&prefix)
    .bind(sha256_hex(secret.as_bytes()))
    .bind(name)
    .bind(scope.as_str())
    .bind(now_ms)
    .bind(created_by)
    .execute(&db.pool)
    .await?;
    Ok(Created {
        key: ApiKey {
            id,
            name: name.to_owned(),
            scope: scope.as_str().to_owned(),
            prefix: format!("{KEY_PREFIX}{prefix}"),
            created_at: rfc3339_from_millis(now_ms),
            created_by: created_by.to_owned(),
            revoked_at: None,
        },
        secret,
    })
}

/// Every key, newest first.
pub async fn list(db: &Db) -> Result<Vec<ApiKey>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, scope, prefix, created_at, created_by, revoked_at FROM api_keys \
         ORDER BY created_at DESC, id DESC",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let prefix: String = row.try_get(3)?;
            let revoked: Option<i64> = row.try_get(6)?;
            Ok(ApiKey {
                id: row.try_get(0)?,
                name: row.try_get(1)?,
                scope: row.try_get(2)?,
                prefix: format!("{KEY_PREFIX}{prefix}"),
                created_at: rfc3339_from_millis(row.try_get(4)?),
                created_by: row.try_get(5)?,
                revoked_at: revoked.map(rfc3339_from_millis),
            })
        })
        .collect()
}

/// Revokes key `id`; `false` when there is no such key. Revoking twice keeps the first time.
pub async fn revoke(db: &Db, id: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
    let found =
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now_ms)
            .bind(id)
            .execute(&db.pool)
            .await?
            .rows_affected();
    Ok(found == 1)
}

/// What a presented runtime key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A live key of this id and scope.
    Live {
        /// Its id (the caller's principal).
        id: String,
        /// Its scope.
        scope: Scope,
    },
    /// Revoked, unknown or not a runtime key.
    Refused,
}

/// Looks `presented` up by its prefix and compares its digest in constant time.
pub async fn lookup(db: &Db, presented: &str) -> Result<Lookup, sqlx::Error> {
    let Some(prefix) = presented
        .strip_prefix(KEY_PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .map(|(prefix, _)| prefix)
        .filter(|p| p.len() == 12 && p.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return Ok(Lookup::Refused);
    };
    let row = sqlx::query("SELECT id, digest, scope, revoked_at FROM api_keys WHERE prefix = $1")
        .bind(prefix)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else {
        return Ok(Lookup::Refused);
    };
    let digest: String = row.try_get(1)?;
    let matches: bool = digest
        .as_bytes()
        .ct_eq(sha256_hex(presented.as_bytes()).as_bytes())
        .into();
    let revoked: Option<i64> = row.try_get(3)?;
    let scope = Scope::parse(&row.try_get::<String, _>(2)?);
    match scope {
        Some(scope) if matches && revoked.is_none() => Ok(Lookup::Live {
            id: row.try_get(0)?,
            scope,
        }),
        _ => Ok(Lookup::Refused),
    }
}
