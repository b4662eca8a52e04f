//! Backend-specific behaviour of `Store::connect`.

use so_store::{Error, Store};
use sqlx::{Connection, SqliteConnection};

#[tokio::test]
async fn sqlite_is_created_with_its_directory_and_runs_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/data/so.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());

    let store = Store::connect(&url, 2).await.unwrap();
    store.ping().await.unwrap();
    store.close().await;

    let mut raw = SqliteConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn an_unknown_scheme_is_refused_and_an_unreachable_server_is_transient() {
    let unknown = Store::connect("mysql://localhost/x", 1).await.unwrap_err();
    assert!(matches!(unknown, Error::UnsupportedUrl));
    assert!(!unknown.is_transient());

    // Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
    let down = Store::connect("postgres://postgres@127.0.0.1:9/x", 1)
        .await
        .unwrap_err();
    assert!(down.is_transient(), "{down:?}");
}
