//! The conformance suite on PostgreSQL, plus what only PostgreSQL does: URL selection, several
//! stores sharing one database, no built-in backup.
//!
//! Each test runs in a schema of its own (`gh_test_…`, set as the connection's `search_path`)
//! that is dropped afterwards. The server comes from `GATEHOUSE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). If it cannot be reached the tests fail, unless
//! `GATEHOUSE_SKIP_POSTGRES=1`, in which case they print `SKIPPED: PostgreSQL not available`.

#![allow(
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    reason = "integration tests and their helpers: a broken expectation must fail loudly"
)]

mod conformance;

use std::hash::BuildHasher;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use conformance::fixtures::api;
use conformance::{Harness, Teardown};
use gatehouse_store::{PostgresStore, Store, StoreError};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn base_url() -> String {
    std::env::var("GATEHOUSE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_owned())
}

/// A schema name no other test (in this or another process) uses.
fn unique_schema() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = std::collections::hash_map::RandomState::new().hash_one(n);
    format!("gh_test_{}_{n}_{random:016x}", std::process::id())
}

/// A fresh schema, or `None` when PostgreSQL is down and skipping was asked for.
struct Schema {
    admin: PgConnection,
    name: String,
    url: String,
}

impl Schema {
    async fn create() -> Option<Self> {
        let url = base_url();
        let connect = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&url));
        let mut admin = match connect.await {
            Ok(Ok(conn)) => conn,
            Ok(Err(err)) => return unavailable(&url, &err.to_string()),
            Err(_) => return unavailable(&url, "connection timed out after 10s"),
        };
        let name = unique_schema();
        admin
            .execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .unwrap();
        Some(Self { admin, name, url })
    }

    /// Connection options whose `search_path` is this schema.
    fn options(&self) -> PgConnectOptions {
        PgConnectOptions::from_str(&self.url)
            .unwrap()
            .options([("search_path", &self.name)])
    }

    /// The same, as a URL (what `gatehouse_store::open` takes).
    fn url(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.url, self.name)
    }

    async fn drop_schema(mut self) {
        let sql = format!("DROP SCHEMA {} CASCADE", self.name);
        if let Err(err) = self.admin.execute(sql.as_str()).await {
            eprintln!("warning: could not drop test schema {}: {err}", self.name);
        }
        let _ = self.admin.close().await;
    }
}

/// The URL without its credentials, for messages.
fn redacted(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://…@{host}"),
        _ => url.to_owned(),
    }
}

fn unavailable<T>(url: &str, err: &str) -> Option<T> {
    let url = redacted(url);
    if std::env::var("GATEHOUSE_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        // Straight to the stderr handle: libtest captures `eprintln!` of passing tests.
        let test = std::thread::current().name().unwrap_or("?").to_owned();
        let line = format!("SKIPPED: PostgreSQL not available at {url} ({err}); test {test}\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        return None;
    }
    panic!(
        "PostgreSQL not available at {url}: {err}\n\
         Start it, point GATEHOUSE_TEST_POSTGRES_URL at one, or set GATEHOUSE_SKIP_POSTGRES=1."
    );
}

async fn harness() -> Option<Harness> {
    let schema = Schema::create().await?;
    let store = PostgresStore::connect_with(schema.options()).await.unwrap();
    let closing = store.clone();
    let teardown: Teardown = Box::new(move || {
        Box::pin(async move {
            closing.close().await;
            schema.drop_schema().await;
        })
    });
    Some(Harness {
        store: Arc::new(store),
        teardown,
    })
}

conformance::conformance_tests!(harness);

#[tokio::test]
async fn open_connects_to_postgres_urls() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let store = gatehouse_store::open(&schema.url()).await.unwrap();
    store.create_api(&api("api_a", "orders", 1)).await.unwrap();
    let direct = PostgresStore::connect(&schema.url()).await.unwrap();
    assert_eq!(
        direct.list_apis().await.unwrap(),
        vec![api("api_a", "orders", 1)]
    );
    direct.close().await;
    drop(store);
    schema.drop_schema().await;
}

#[tokio::test]
async fn replicas_sharing_a_database_see_each_others_writes() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let one = PostgresStore::connect_with(schema.options()).await.unwrap();
    let two = PostgresStore::connect_with(schema.options()).await.unwrap();
    one.create_api(&api("api_a", "orders", 1)).await.unwrap();
    assert_eq!(
        two.list_apis().await.unwrap(),
        vec![api("api_a", "orders", 1)]
    );
    let taken = two.create_api(&api("api_b", "orders", 2)).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    one.close().await;
    two.close().await;
    schema.drop_schema().await;
}

#[tokio::test]
async fn backup_is_unsupported_on_postgres() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let store = PostgresStore::connect_with(schema.options()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let result = store.backup_to(&dir.path().join("backup.db")).await;
    assert!(
        matches!(result, Err(StoreError::Unsupported(_))),
        "{result:?}"
    );
    store.close().await;
    schema.drop_schema().await;
}
