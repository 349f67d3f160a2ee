//! The conformance suite on SQLite, in memory and in a file, plus what only SQLite does:
//! files, WAL, backups, URL selection and corrupt-row reporting.

#![allow(
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    reason = "integration tests and their helpers: a broken expectation must fail loudly"
)]

mod conformance;

use std::path::Path;
use std::sync::Arc;

use conformance::Harness;
use conformance::fixtures::{api, client, conflict_message, rich_api, rich_client, secret};
use gatehouse_core::UnixTime;
use gatehouse_store::{SqliteStore, Store, StoreError};
use sqlx::Connection;

async fn in_memory_harness() -> Option<Harness> {
    let store = SqliteStore::open_in_memory().await.unwrap();
    Some(Harness {
        store: Arc::new(store),
        teardown: Box::new(|| Box::pin(async {})),
    })
}

async fn on_disk_harness() -> Option<Harness> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("gatehouse.db"))
        .await
        .unwrap();
    let closing = store.clone();
    let teardown = Box::new(
        move || -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
            Box::pin(async move {
                closing.close().await;
                drop(dir);
            })
        },
    );
    Some(Harness {
        store: Arc::new(store),
        teardown,
    })
}

mod in_memory {
    super::conformance::conformance_tests!(super::in_memory_harness);
}

mod on_disk {
    super::conformance::conformance_tests!(super::on_disk_harness);
}

/// Writes one of each record kind worth checking after a copy.
async fn seed(store: &dyn Store) {
    store.create_api(&rich_api("api_rich")).await.unwrap();
    store.create_client(&rich_client("c_rich")).await.unwrap();
    store
        .add_client_secret(&secret("s1", "c_rich", 1, Some(2)))
        .await
        .unwrap();
    store
        .replace_admin_token(&[7; 32], UnixTime(3))
        .await
        .unwrap();
}

async fn assert_seeded(store: &dyn Store) {
    assert_eq!(store.list_apis().await.unwrap(), vec![rich_api("api_rich")]);
    assert_eq!(
        store.list_clients().await.unwrap(),
        vec![rich_client("c_rich")]
    );
    assert_eq!(
        store.list_client_secrets().await.unwrap(),
        vec![secret("s1", "c_rich", 1, Some(2))]
    );
    assert_eq!(store.admin_token_digests().await.unwrap(), vec![[7; 32]]);
}

#[tokio::test]
async fn backup_of_a_file_database_opens_as_a_store_with_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("live.db"))
        .await
        .unwrap();
    seed(&store).await;
    let copy_path = dir.path().join("backup.db");
    store.backup_to(&copy_path).await.unwrap();

    // Later writes to the live database do not reach the copy.
    store.create_api(&api("api_late", "late", 9)).await.unwrap();
    let copy = SqliteStore::open(&copy_path).await.unwrap();
    assert_seeded(&copy).await;
}

#[tokio::test]
async fn backup_of_an_in_memory_database_is_a_file_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_in_memory().await.unwrap();
    seed(&store).await;
    let copy_path = dir.path().join("backup.db");
    store.backup_to(&copy_path).await.unwrap();
    assert_seeded(&SqliteStore::open(&copy_path).await.unwrap()).await;
}

#[tokio::test]
async fn backup_refuses_to_overwrite_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("taken.db");
    std::fs::write(&target, b"precious").unwrap();
    let store = SqliteStore::open_in_memory().await.unwrap();
    let msg = conflict_message(store.backup_to(&target).await);
    assert!(msg.contains("already exists"), "{msg}");
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
}

#[tokio::test]
async fn data_survives_closing_and_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    let store = SqliteStore::open(&path).await.unwrap();
    seed(&store).await;
    store.close().await;
    assert_seeded(&SqliteStore::open(&path).await.unwrap()).await;
}

#[tokio::test]
async fn a_file_database_runs_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.create_client(&client("c1", 1)).await.unwrap();
    assert!(dir.path().join("gatehouse.db-wal").exists());
    drop(store);
}

#[tokio::test]
async fn open_picks_sqlite_for_sqlite_urls_and_bare_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("by-url.db");
    let display = path.to_str().unwrap();
    let first = gatehouse_store::open(&format!("sqlite:{display}"))
        .await
        .unwrap();
    first.create_api(&api("api_a", "orders", 1)).await.unwrap();
    for url in [format!("sqlite://{display}"), display.to_owned()] {
        let again = gatehouse_store::open(&url).await.unwrap();
        assert_eq!(
            again.list_apis().await.unwrap(),
            vec![api("api_a", "orders", 1)],
            "{url}"
        );
    }
    let memory = gatehouse_store::open("sqlite::memory:").await.unwrap();
    assert!(memory.list_apis().await.unwrap().is_empty());
}

#[tokio::test]
async fn open_rejects_urls_of_other_databases() {
    for url in ["mysql://db/gatehouse", "redis://cache", ""] {
        let err = gatehouse_store::open(url).await.unwrap_err();
        assert!(matches!(err, StoreError::UnsupportedUrl), "{url}: {err:?}");
    }
}

async fn tamper(path: &Path, sql: &str) {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    sqlx::query(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn a_row_that_no_longer_parses_is_reported_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.create_api(&api("api_a", "orders", 1)).await.unwrap();
    store.create_client(&client("c1", 1)).await.unwrap();
    store
        .add_client_secret(&secret("s1", "c1", 1, None))
        .await
        .unwrap();

    tamper(&path, "UPDATE apis SET audience = 'no scheme'").await;
    tamper(&path, "UPDATE clients SET metadata = '{not json'").await;
    tamper(&path, "UPDATE client_secrets SET digest = x'00'").await;

    for (result, table) in [
        (store.list_apis().await.map(drop), "apis"),
        (store.list_clients().await.map(drop), "clients"),
        (
            store.list_client_secrets().await.map(drop),
            "client_secrets",
        ),
    ] {
        match result {
            Err(StoreError::Corrupt { table: t, .. }) => assert_eq!(t, table),
            other => panic!("{table}: expected Corrupt, got {other:?}"),
        }
    }
}
