//! A database of its own for each test: a SQLite file in a temp directory,
//! or a fresh PostgreSQL database on the machine's server.

use sqlx::Connection;

/// Which store backend a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// `SOTEST_POSTGRES_URL` or the machine's local server (trust auth).
pub fn postgres_admin_url() -> String {
    std::env::var("SOTEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A test database; dropped (PostgreSQL) or deleted (SQLite) by `cleanup`.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    backend: Backend,
    /// The PostgreSQL server's admin URL (PostgreSQL only).
    admin: String,
    name: String,
    dir: Option<std::path::PathBuf>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        TestDatabase::create_on(backend, &postgres_admin_url()).await
    }

    /// Like [`TestDatabase::create`], on the PostgreSQL server at `admin`
    /// (e.g. a [`crate::PrivatePostgres`]) when the backend is PostgreSQL.
    pub async fn create_on(backend: Backend, admin: &str) -> TestDatabase {
        let admin = admin.to_owned();
        let name = format!("so_test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}/store.db?mode=rwc", dir.display());
                TestDatabase {
                    url,
                    backend,
                    admin,
                    name,
                    dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("PostgreSQL is reachable for tests");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let _closed = conn.close().await;
                let base = admin
                    .rsplit_once('/')
                    .map_or(admin.as_str(), |(b, _)| b)
                    .to_owned();
                TestDatabase {
                    url: format!("{base}/{name}"),
                    backend,
                    admin,
                    name,
                    dir: None,
                }
            }
        }
    }

    pub async fn cleanup(self) {
        match self.backend {
            Backend::Sqlite => {
                if let Some(dir) = self.dir {
                    let _removed = std::fs::remove_dir_all(dir);
                }
            }
            Backend::Postgres => {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
                    let _dropped = sqlx::query(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    ))
                    .execute(&mut conn)
                    .await;
                    let _closed = conn.close().await;
                }
            }
        }
    }
}
