//! The embedded SQLite backend, Gatehouse's default store.
//!
//! A file database runs in WAL mode with `synchronous=NORMAL` (durable across process crashes,
//! at most the last transactions lost on power failure), foreign keys on and a 5 s busy timeout,
//! behind a small pool. Migrations run on open.

mod store_impl;

use std::path::Path;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::StoreError;

/// Migrations for SQLite, embedded in the binary.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Connections in a file database's pool: WAL allows many readers and one writer.
const MAX_CONNECTIONS: u32 = 4;

/// How long a connection waits for a lock held by another before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The [`Store`](crate::Store) in a SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens the database file at `path`, creating it if missing, and migrates it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        Self::from_pool(pool).await
    }

    /// A fresh, empty in-memory database (for tests). It lives in one connection that the pool
    /// never closes, so every query sees the same database; it is gone when the store is dropped.
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        // The name `:memory:`, not the SQLITE_OPEN_MEMORY flag: `VACUUM INTO` opens its target
        // with the connection's flags, so with the flag a backup would land in memory too.
        let options = SqliteConnectOptions::new()
            .filename(":memory:")
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        Self::from_pool(pool).await
    }

    /// Migrates the database behind `pool` and wraps it.
    async fn from_pool(pool: SqlitePool) -> Result<Self, StoreError> {
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes every connection (checkpointing the WAL of a file database).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// `VACUUM INTO`: a consistent, compacted copy, taken without blocking writers for long.
    async fn vacuum_into(&self, path: &Path) -> Result<(), StoreError> {
        let target = path.to_str().ok_or_else(|| {
            StoreError::Invalid(format!("backup path {} is not valid UTF-8", path.display()))
        })?;
        // Connections are opened with SQLITE_OPEN_URI, which `VACUUM INTO` inherits: keep a
        // relative `file:…` name a plain file name.
        let target = if target.starts_with("file:") {
            format!("./{target}")
        } else {
            target.to_owned()
        };
        if matches!(tokio::fs::try_exists(path).await, Ok(true)) {
            return Err(StoreError::Conflict(format!(
                "backup target '{}' already exists",
                path.display()
            )));
        }
        sqlx::query("VACUUM INTO ?")
            .bind(&target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
