//! The PostgreSQL backend, for control-plane replicas that share one database.
//!
//! Tables live in the connection's `search_path` (normally `public`), so several Gatehouse
//! deployments or test runs can share a database by giving each its own schema. Migrations
//! run on connect.

mod store_impl;

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::StoreError;

/// Migrations for PostgreSQL, embedded in the binary.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per control-plane replica.
const MAX_CONNECTIONS: u32 = 10;

/// The [`Store`](crate::Store) in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db?options=...`) and migrates the database.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with explicit options (for example a `search_path` set through
    /// [`PgConnectOptions::options`]) and migrates the database.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
