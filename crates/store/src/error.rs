//! Store errors.

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A record with the same id or unique field exists.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A stored row could not be decoded into a domain record (corruption or a newer schema).
    #[error("corrupt row in {table}: {detail}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A record cannot be stored as given (a value outside what the database can hold).
    #[error("invalid value: {0}")]
    Invalid(String),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The record does not exist (or a record it refers to, such as the client of a secret).
    #[error("not found")]
    NotFound,
    /// The backend does not support the operation.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// Unsupported database URL.
    #[error("unsupported database URL (expected sqlite:PATH, a file path, or postgres://…)")]
    UnsupportedUrl,
}
