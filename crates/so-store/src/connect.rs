//! Opening the store: backend choice by URL, pool, SQLite settings and embedded migrations.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};

use crate::error::{Error, Result};

/// How long a SQLite writer waits for another one before failing with SQLITE_BUSY. Writes are
/// short transactions, so seconds of waiting means something is stuck, not busy.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// How long a caller waits for a pooled connection before [`Error::is_transient`] fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema, one script for both backends (see the file's header).
const MIGRATIONS: [(i64, &str, &str); 19] = [
    (1, "schema", include_str!("../migrations/0001_schema.sql")),
    (
        2,
        "queue operations",
        include_str!("../migrations/0002_queue_operations.sql"),
    ),
    (
        3,
        "worker members",
        include_str!("../migrations/0003_worker_members.sql"),
    ),
    (
        4,
        "merchant state",
        include_str!("../migrations/0004_merchant_state.sql"),
    ),
    (5, "privacy", include_str!("../migrations/0005_privacy.sql")),
    (6, "sync", include_str!("../migrations/0006_sync.sql")),
    (7, "exports", include_str!("../migrations/0007_exports.sql")),
    (
        8,
        "ometria_errors",
        include_str!("../migrations/0008_ometria_errors.sql"),
    ),
    (
        9,
        "identity and properties",
        include_str!("../migrations/0009_identity_and_properties.sql"),
    ),
    (
        10,
        "mapping state",
        include_str!("../migrations/0010_mapping_state.sql"),
    ),
    (11, "shops", include_str!("../migrations/0011_shops.sql")),
    (
        12,
        "shop tokens",
        include_str!("../migrations/0012_shop_tokens.sql"),
    ),
    (
        13,
        "profile sends",
        include_str!("../migrations/0013_profile_sends.sql"),
    ),
    (
        14,
        "shop status",
        include_str!("../migrations/0014_shop_status.sql"),
    ),
    (
        15,
        "worker shops revision",
        include_str!("../migrations/0015_worker_shops_revision.sql"),
    ),
    (
        16,
        "letter index",
        include_str!("../migrations/0016_letter_index.sql"),
    ),
    (
        17,
        "send claims",
        include_str!("../migrations/0017_send_claims.sql"),
    ),
    (
        18,
        "partition progress",
        include_str!("../migrations/0018_partition_progress.sql"),
    ),
    (
        19,
        "ledger by shop",
        include_str!("../migrations/0019_ledger_by_shop.sql"),
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn from_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(Error::UnsupportedUrl)
        }
    }
}

/// Handle on the database; cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// Fingerprints guest emails; the worker sets it ([`Store::with_email_key`]).
    pub(crate) email_key: Option<std::sync::Arc<crate::fingerprint::EmailKey>>,
}

impl Store {
    /// Connects, applies the schema and returns a pool of at most `max_connections`.
    ///
    /// `sqlite://data/so.db?mode=rwc` creates `data/` and the file if missing. Several
    /// processes may call this at once on PostgreSQL: the migrator holds an advisory lock.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store> {
        let backend = Backend::from_url(url)?;
        if backend == Backend::Sqlite {
            create_parent_dir(url)?;
        }
        sqlx::any::install_default_drivers();
        // One direct connection first: it fails fast with the real cause (refused, bad
        // password) where a pool would retry until its timeout, and it does the one-time setup.
        let mut conn = AnyConnection::connect(url).await?;
        if backend == Backend::Sqlite {
            enable_wal(&mut conn).await?;
        }
        Migrator::new(EmbeddedMigrations)
            .await?
            .run(&mut conn)
            .await?;
        conn.close().await?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Per connection (not persistent): wait for the writer lock instead of
                        // failing at once when two tasks commit together.
                        let pragma = format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}");
                        conn.execute(pragma.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy(url)?;
        Ok(Store {
            pool,
            backend,
            email_key: None,
        })
    }

    /// This store with the key guest emails are fingerprinted with. Every guest lookup and write
    /// needs it; without it they fail with [`Error::NoEmailKey`].
    #[must_use]
    pub fn with_email_key(mut self, key: crate::fingerprint::EmailKey) -> Store {
        self.email_key = Some(std::sync::Arc::new(key));
        self
    }

    /// The stored form of a guest's email.
    pub(crate) fn guest_key(&self, email: &so_domain::identity::NormalisedEmail) -> Result<String> {
        let key = self.email_key.as_ref().ok_or(Error::NoEmailKey)?;
        Ok(key.fingerprint(email))
    }

    /// Readiness: a round trip to the database.
    pub async fn ping(&self) -> Result<()> {
        self.pool.execute("SELECT 1").await?;
        Ok(())
    }

    /// Waits for connections in use to be returned, then closes them all.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`):
    /// a deferred transaction that reads first and then writes fails with BUSY_SNAPSHOT when
    /// another connection committed in between, without waiting for the busy timeout.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }
    /// A read-only transaction whose statements all see one snapshot, so a page and its
    /// counts agree while writers go on. PostgreSQL needs REPEATABLE READ for that (READ
    /// COMMITTED takes a snapshot per statement); SQLite in WAL mode keeps the snapshot of a
    /// deferred transaction's first read until it ends.
    pub(crate) async fn begin_snapshot(&self) -> Result<Transaction<'static, Any>> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN").await?,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?
            }
        };
        Ok(tx)
    }
}

/// Persistent in the file. WAL lets readers run during a write; switching needs an exclusive
/// lock, so it is done once at start rather than on every new connection.
async fn enable_wal(conn: &mut AnyConnection) -> Result<()> {
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
        .fetch_one(conn)
        .await?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            journal_mode = %mode,
            "SQLite refused WAL mode; readers will wait for writers."
        );
    }
    Ok(())
}

/// `sqlite://data/x.db?mode=rwc` → creates `data/`. In-memory databases have no directory.
/// Reads the path the way sqlx-sqlite does (scheme stripped, query cut off).
fn create_parent_dir(url: &str) -> Result<()> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let file = rest.split('?').next().unwrap_or_default();
    if file.is_empty() || file.starts_with(":memory:") {
        return Ok(());
    }
    match Path::new(file).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
                path: PathBuf::from(dir),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Serves [`MIGRATIONS`] to sqlx's migrator, which records applied versions and checksums.
#[derive(Debug)]
struct EmbeddedMigrations;

type Resolved = Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send>>;

impl MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(self) -> Resolved {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_url_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://data/x.db?mode=rwc").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u@127.0.0.1/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://x").is_err());
    }

    #[test]
    fn creates_the_sqlite_parent_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let url = format!("sqlite://{}/x.db?mode=rwc", dir.display());
        create_parent_dir(&url).unwrap();
        assert!(dir.is_dir());
        create_parent_dir("sqlite::memory:").unwrap();
        create_parent_dir("sqlite://x.db").unwrap();
    }
}
