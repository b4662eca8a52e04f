//! The store's error type and its transient/permanent classification.

use std::path::PathBuf;

use so_domain::ShopifyId;
use sqlx::postgres::PgDatabaseError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Messages never contain the database URL (it may hold a password) nor any stored value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the database URL must start with `sqlite:` or `postgres:`/`postgresql:`")]
    UnsupportedUrl,
    #[error("cannot create the SQLite database directory {path:?}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database query failed")]
    Database(#[source] sqlx::Error),
    #[error("schema migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// Shopify ids are stored as signed 64-bit integers; none this large exist today.
    #[error("Shopify id {0} exceeds the signed 64-bit range of the id columns")]
    IdOutOfRange(ShopifyId),
    #[error("cannot encode {what} as JSON")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// Guest emails are stored as keyed fingerprints; this store was opened without the key.
    #[error("the store has no email key (database.email_key) to fingerprint guest emails with")]
    NoEmailKey,
    /// A sealed secret did not open: the key that sealed it is not configured, or the value was
    /// changed or moved.
    #[error("a sealed secret cannot be opened")]
    Sealed {
        #[source]
        source: crate::sealed::SealError,
    },
    /// A stored value no longer parses: a bug or a manual edit, never fixed by retrying.
    #[error("stored {what} is invalid")]
    Corrupt {
        what: &'static str,
        #[source]
        source: Option<serde_json::Error>,
    },
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Error {
        Error::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Error {
        Error::Migrate(e)
    }
}

impl Error {
    /// Whether the same call may succeed later without any change: the database is down or busy,
    /// the pool is exhausted, or a concurrent transaction was chosen to fail (deadlock,
    /// serialization). The caller retries locally or re-enqueues; anything else is a bug or bad
    /// configuration and retrying only delays the dead letter.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Database(e) => sqlx_is_transient(e),
            Error::Migrate(sqlx::migrate::MigrateError::Execute(e)) => sqlx_is_transient(e),
            Error::Migrate(_)
            | Error::UnsupportedUrl
            | Error::CreateDir { .. }
            | Error::IdOutOfRange(_)
            | Error::Encode { .. }
            | Error::Corrupt { .. }
            | Error::Sealed { .. }
            | Error::NoEmailKey => false,
        }
    }
}

fn sqlx_is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            // The Any driver passes the backend's own error through, so its type tells which
            // code table applies.
            if db.try_downcast_ref::<PgDatabaseError>().is_some() {
                postgres_transient(&code)
            } else {
                sqlite_transient(&code)
            }
        }
        _ => false,
    }
}

/// SQLSTATE classes 40 (serialization failure, deadlock), 08 (connection), 53 (out of
/// resources), and 57P01-57P03 (server shutting down or starting).
fn postgres_transient(sqlstate: &str) -> bool {
    ["40", "08", "53"]
        .iter()
        .any(|class| sqlstate.starts_with(class))
        || matches!(sqlstate, "57P01" | "57P02" | "57P03")
}

/// SQLite reports extended result codes; the primary code is the low byte.
/// 5 = SQLITE_BUSY (incl. BUSY_SNAPSHOT), 6 = SQLITE_LOCKED.
fn sqlite_transient(code: &str) -> bool {
    code.parse::<u32>()
        .is_ok_and(|extended| matches!(extended & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_postgres_and_sqlite_codes() {
        assert!(postgres_transient("40P01"));
        assert!(postgres_transient("40001"));
        assert!(postgres_transient("08006"));
        assert!(
            !postgres_transient("23505"),
            "a unique violation is a bug here"
        );
        assert!(!postgres_transient("42P01"));
        assert!(sqlite_transient("5"));
        assert!(sqlite_transient("517"), "SQLITE_BUSY_SNAPSHOT");
        assert!(!sqlite_transient("19"), "SQLITE_CONSTRAINT");
        assert!(!sqlite_transient("2067"), "SQLITE_CONSTRAINT_UNIQUE");
        assert!(!Error::UnsupportedUrl.is_transient());
        assert!(Error::Database(sqlx::Error::PoolTimedOut).is_transient());
    }
}
