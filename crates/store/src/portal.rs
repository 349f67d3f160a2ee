//! The portal's records: users, sessions, plans, API listings and application profiles.
//!
//! [`PortalStore`] is written once, for both backends: [`impl_portal_store!`] expands the same
//! code over each sqlx database, with [`QueryBuilder`] writing each dialect's placeholders.
//! Records are stored as JSON bodies beside the columns that constraints and lookups need.

use async_trait::async_trait;
use gatehouse_core::{ApiListing, AppProfile, Plan, PlanId, SessionRecord, UnixTime, User, UserId};

use crate::StoreError;
use crate::conflict::{Unique, duplicate_id};

/// The portal's part of the [`Store`](crate::Store) (a supertrait of it, so `dyn Store` has
/// these methods too).
///
/// Contract (checked by the conformance suite on both backends):
/// - a user's email is unique ([`StoreError::Conflict`]); `update_user` of an unknown id is
///   [`StoreError::NotFound`];
/// - a session of an unknown user, a plan, listing or profile of an unknown API or client is
///   [`StoreError::NotFound`]; deleting a user ends their sessions; deleting an API deletes
///   its plans and listing, deleting a client its profile;
/// - plan names are unique per API ([`StoreError::Conflict`]);
/// - `put_*` of listings, profiles and plans insert or replace (idempotent);
/// - lists are in creation order (users, plans) or by id (listings, profiles).
#[async_trait]
pub trait PortalStore: Send + Sync {
    /// Adds a user.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    /// Replaces a user.
    async fn update_user(&self, user: &User) -> Result<(), StoreError>;
    /// Every user, oldest first.
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// One user by id.
    async fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError>;
    /// One user by (normalized) email.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    /// Starts a session.
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The user of an unexpired session.
    async fn session_user(
        &self,
        digest: &[u8; 32],
        now: UnixTime,
    ) -> Result<Option<User>, StoreError>;
    /// Ends a session (no error when it does not exist).
    async fn delete_session(&self, digest: &[u8; 32]) -> Result<(), StoreError>;
    /// Ends every session of a user; returns how many.
    async fn delete_user_sessions(&self, user: &UserId) -> Result<u64, StoreError>;
    /// Forgets sessions that ended before `now`; returns how many.
    async fn purge_sessions(&self, now: UnixTime) -> Result<u64, StoreError>;
    /// Inserts or replaces a plan (by id).
    async fn put_plan(&self, plan: &Plan) -> Result<(), StoreError>;
    /// Deletes a plan.
    async fn delete_plan(&self, id: &PlanId) -> Result<(), StoreError>;
    /// Every plan, oldest first.
    async fn list_plans(&self) -> Result<Vec<Plan>, StoreError>;
    /// Inserts or replaces an API's listing.
    async fn put_api_listing(&self, listing: &ApiListing) -> Result<(), StoreError>;
    /// Every listing.
    async fn list_api_listings(&self) -> Result<Vec<ApiListing>, StoreError>;
    /// Inserts or replaces an application's profile.
    async fn put_app_profile(&self, profile: &AppProfile) -> Result<(), StoreError>;
    /// Every profile.
    async fn list_app_profiles(&self) -> Result<Vec<AppProfile>, StoreError>;
}

pub(crate) fn to_json<T: serde::Serialize>(what: &str, v: &T) -> Result<String, StoreError> {
    let s = serde_json::to_string(v)
        .map_err(|e| StoreError::Invalid(format!("{what} does not serialize: {e}")))?;
    if s.contains('\0') {
        return Err(StoreError::Invalid(format!(
            "{what} contains a NUL character"
        )));
    }
    Ok(s)
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    body: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt {
        table,
        detail: format!("body: {e}"),
    })
}

pub(crate) fn user_conflict(user: &User) -> impl FnOnce(Unique) -> String + '_ {
    move |rule| match rule {
        Unique::UserEmail => format!("a user with email {} exists", user.email),
        _ => duplicate_id("user", &user.id),
    }
}

pub(crate) fn plan_conflict(plan: &Plan) -> impl FnOnce(Unique) -> String + '_ {
    move |rule| match rule {
        Unique::PlanName => format!("the API already has a plan named {}", plan.name),
        _ => duplicate_id("plan", &plan.id),
    }
}

pub(crate) fn found(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Implements [`PortalStore`] for a store type with a `pool: sqlx::Pool<$db>` field.
macro_rules! impl_portal_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::portal::PortalStore for $store {
            async fn create_user(
                &self,
                user: &gatehouse_core::User,
            ) -> Result<(), $crate::StoreError> {
                use $crate::portal::*;
                let body = to_json("user", user)?;
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO users (id, email, body, created_at) VALUES (",
                );
                q.separated(", ")
                    .push_bind(user.id.as_str())
                    .push_bind(user.email.as_str())
                    .push_bind(body)
                    .push_bind(user.created_at.0);
                q.push(")");
                q.build()
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::conflict::write_error(e, user_conflict(user)))?;
                Ok(())
            }

            async fn update_user(
                &self,
                user: &gatehouse_core::User,
            ) -> Result<(), $crate::StoreError> {
                use $crate::portal::*;
                let body = to_json("user", user)?;
                let mut q = sqlx::QueryBuilder::<$db>::new("UPDATE users SET email = ");
                q.push_bind(user.email.as_str())
                    .push(", body = ")
                    .push_bind(body)
                    .push(" WHERE id = ")
                    .push_bind(user.id.as_str());
                let done = q
                    .build()
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::conflict::write_error(e, user_conflict(user)))?;
                found(done.rows_affected())
            }

            async fn list_users(&self) -> Result<Vec<gatehouse_core::User>, $crate::StoreError> {
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT body FROM users ORDER BY created_at, id")
                        .fetch_all(&self.pool)
                        .await?;
                rows.iter()
                    .map(|(b,)| $crate::portal::from_json("users", b))
                    .collect()
            }

            async fn get_user(
                &self,
                id: &gatehouse_core::UserId,
            ) -> Result<Option<gatehouse_core::User>, $crate::StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new("SELECT body FROM users WHERE id = ");
                q.push_bind(id.as_str());
                let row: Option<(String,)> = q.build_query_as().fetch_optional(&self.pool).await?;
                row.map(|(b,)| $crate::portal::from_json("users", &b))
                    .transpose()
            }

            async fn user_by_email(
                &self,
                email: &str,
            ) -> Result<Option<gatehouse_core::User>, $crate::StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new("SELECT body FROM users WHERE email = ");
                q.push_bind(email);
                let row: Option<(String,)> = q.build_query_as().fetch_optional(&self.pool).await?;
                row.map(|(b,)| $crate::portal::from_json("users", &b))
                    .transpose()
            }

            async fn create_session(
                &self,
                s: &gatehouse_core::SessionRecord,
            ) -> Result<(), $crate::StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO sessions (digest, user_id, created_at, expires_at) VALUES (",
                );
                q.separated(", ")
                    .push_bind(s.digest.to_vec())
                    .push_bind(s.user_id.as_str())
                    .push_bind(s.created_at.0)
                    .push_bind(s.expires_at.0);
                q.push(")");
                q.build().execute(&self.pool).await.map_err(|e| {
                    $crate::conflict::write_error(e, |_| "session exists".to_owned())
                })?;
                Ok(())
            }

            async fn session_user(
                &self,
                digest: &[u8; 32],
                now: gatehouse_core::UnixTime,
            ) -> Result<Option<gatehouse_core::User>, $crate::StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "SELECT u.body FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.digest = ",
                );
                q.push_bind(digest.to_vec())
                    .push(" AND s.expires_at > ")
                    .push_bind(now.0);
                let row: Option<(String,)> = q.build_query_as().fetch_optional(&self.pool).await?;
                row.map(|(b,)| $crate::portal::from_json("users", &b))
                    .transpose()
            }

            async fn delete_session(&self, digest: &[u8; 32]) -> Result<(), $crate::StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new("DELETE FROM sessions WHERE digest = ");
                q.push_bind(digest.to_vec());
                q.build().execute(&self.pool).await?;
                Ok(())
            }

            async fn delete_user_sessions(
                &self,
                user: &gatehouse_core::UserId,
            ) -> Result<u64, $crate::StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new("DELETE FROM sessions WHERE user_id = ");
                q.push_bind(user.as_str());
                Ok(q.build().execute(&self.pool).await?.rows_affected())
            }

            async fn purge_sessions(
                &self,
                now: gatehouse_core::UnixTime,
            ) -> Result<u64, $crate::StoreError> {
                let mut q =
                    sqlx::QueryBuilder::<$db>::new("DELETE FROM sessions WHERE expires_at <= ");
                q.push_bind(now.0);
                Ok(q.build().execute(&self.pool).await?.rows_affected())
            }

            async fn put_plan(
                &self,
                plan: &gatehouse_core::Plan,
            ) -> Result<(), $crate::StoreError> {
                use $crate::portal::*;
                let body = to_json("plan", plan)?;
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO plans (id, api_id, name, body) VALUES (",
                );
                q.separated(", ")
                    .push_bind(plan.id.as_str())
                    .push_bind(plan.api_id.as_str())
                    .push_bind(plan.name.as_str())
                    .push_bind(body);
                // A plan never moves to another API: the id and API must both match to update.
                q.push(
                    ") ON CONFLICT (id) DO UPDATE SET name = excluded.name, body = excluded.body \
                     WHERE plans.api_id = excluded.api_id",
                );
                let done = q
                    .build()
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::conflict::write_error(e, plan_conflict(plan)))?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::Conflict(format!(
                        "plan {} belongs to another API",
                        plan.id
                    )));
                }
                Ok(())
            }

            async fn delete_plan(
                &self,
                id: &gatehouse_core::PlanId,
            ) -> Result<(), $crate::StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new("DELETE FROM plans WHERE id = ");
                q.push_bind(id.as_str());
                $crate::portal::found(q.build().execute(&self.pool).await?.rows_affected())
            }

            async fn list_plans(&self) -> Result<Vec<gatehouse_core::Plan>, $crate::StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT body FROM plans")
                    .fetch_all(&self.pool)
                    .await?;
                let mut all = rows
                    .iter()
                    .map(|(b,)| $crate::portal::from_json::<gatehouse_core::Plan>("plans", b))
                    .collect::<Result<Vec<_>, _>>()?;
                all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
                Ok(all)
            }

            async fn put_api_listing(
                &self,
                listing: &gatehouse_core::ApiListing,
            ) -> Result<(), $crate::StoreError> {
                let body = $crate::portal::to_json("api listing", listing)?;
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO api_listings (api_id, body) VALUES (",
                );
                q.separated(", ")
                    .push_bind(listing.api_id.as_str())
                    .push_bind(body);
                q.push(") ON CONFLICT (api_id) DO UPDATE SET body = excluded.body");
                q.build().execute(&self.pool).await.map_err(|e| {
                    $crate::conflict::write_error(e, |_| "listing exists".to_owned())
                })?;
                Ok(())
            }

            async fn list_api_listings(
                &self,
            ) -> Result<Vec<gatehouse_core::ApiListing>, $crate::StoreError> {
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT body FROM api_listings ORDER BY api_id")
                        .fetch_all(&self.pool)
                        .await?;
                rows.iter()
                    .map(|(b,)| $crate::portal::from_json("api_listings", b))
                    .collect()
            }

            async fn put_app_profile(
                &self,
                profile: &gatehouse_core::AppProfile,
            ) -> Result<(), $crate::StoreError> {
                let body = $crate::portal::to_json("application profile", profile)?;
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO app_profiles (client_id, owner_id, body) VALUES (",
                );
                q.separated(", ")
                    .push_bind(profile.client_id.as_str())
                    .push_bind(profile.owner.as_ref().map(|o| o.as_str()))
                    .push_bind(body);
                q.push(
                    ") ON CONFLICT (client_id) DO UPDATE SET owner_id = excluded.owner_id, \
                     body = excluded.body",
                );
                q.build().execute(&self.pool).await.map_err(|e| {
                    $crate::conflict::write_error(e, |_| "profile exists".to_owned())
                })?;
                Ok(())
            }

            async fn list_app_profiles(
                &self,
            ) -> Result<Vec<gatehouse_core::AppProfile>, $crate::StoreError> {
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT body FROM app_profiles ORDER BY client_id")
                        .fetch_all(&self.pool)
                        .await?;
                rows.iter()
                    .map(|(b,)| $crate::portal::from_json("app_profiles", b))
                    .collect()
            }
        }
    };
}

impl_portal_store!(crate::SqliteStore, sqlx::Sqlite);
impl_portal_store!(crate::PostgresStore, sqlx::Postgres);
