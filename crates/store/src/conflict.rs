//! Turning constraint violations into [`StoreError`]s, the same way for both backends.
//!
//! SQLite names the broken rule in its message (`UNIQUE constraint failed: apis.name`);
//! PostgreSQL names the constraint (`apis_name_key`, named so in the migration). Both are
//! recognised here, so a backend only says what each unique rule means for the record it wrote.

use sqlx::error::{DatabaseError, ErrorKind};

use crate::StoreError;

/// Which unique rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unique {
    /// `apis.audience`.
    ApiAudience,
    /// `api_keys.digest`.
    ApiKeyDigest,
    /// `apis.name`.
    ApiName,
    /// The table's primary key (or a rule not listed here).
    Id,
    /// `subscriptions (client_id, api_id)`.
    SubscriptionPair,
    /// `users.email`.
    UserEmail,
    /// `plans (api_id, name)`.
    PlanName,
}

/// Maps a write error: a unique violation becomes [`StoreError::Conflict`] with the message
/// `describe` gives it, a foreign-key violation (a missing client or API) becomes
/// [`StoreError::NotFound`], anything else stays a database error.
pub(crate) fn write_error(err: sqlx::Error, describe: impl FnOnce(Unique) -> String) -> StoreError {
    let kind = err
        .as_database_error()
        .map(|db| (db.kind(), unique_rule(db)));
    match kind {
        Some((ErrorKind::UniqueViolation, rule)) => StoreError::Conflict(describe(rule)),
        Some((ErrorKind::ForeignKeyViolation, _)) => StoreError::NotFound,
        _ => StoreError::Database(err),
    }
}

/// The message for a record whose id is taken: `"client id 'c1' already exists"`.
pub(crate) fn duplicate_id(what: &str, id: &impl std::fmt::Display) -> String {
    format!("{what} id '{id}' already exists")
}

fn unique_rule(db: &dyn DatabaseError) -> Unique {
    let name = db
        .constraint()
        .or_else(|| db.message().strip_prefix("UNIQUE constraint failed: "))
        .unwrap_or_default();
    match name {
        "apis.name" | "apis_name_key" => Unique::ApiName,
        "apis.audience" | "apis_audience_key" => Unique::ApiAudience,
        "api_keys.digest" | "api_keys_digest_key" => Unique::ApiKeyDigest,
        "subscriptions.client_id, subscriptions.api_id" | "subscriptions_client_id_api_id_key" => {
            Unique::SubscriptionPair
        }
        "users.email" | "users_email_key" => Unique::UserEmail,
        "plans.api_id, plans.name" | "plans_api_id_name_key" => Unique::PlanName,
        _ => Unique::Id,
    }
}
