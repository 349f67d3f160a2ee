//! Gatehouse persistence: the [`Store`] trait, its SQLite (embedded default) and PostgreSQL
//! backends, embedded migrations, and the in-memory [`Catalog`] read model that serves the
//! token path without database round-trips.
//!
//! Open a store with [`open`] (`sqlite:PATH`, a bare file path, or `postgres://…`), or directly
//! with [`SqliteStore::open`] / [`SqliteStore::open_in_memory`] / [`PostgresStore::connect`].
//! Both backends share one row mapping and one constraint-error mapping, run their embedded
//! migrations when opened, and are held to the same contract by the conformance suite in
//! `tests/conformance`.
//!
//! This crate never decides policy (who may do what) and never sees a secret in clear: client
//! secrets and admin tokens arrive as digests, signing keys arrive encrypted.
#![forbid(unsafe_code)]

mod catalog;
mod conflict;
mod error;
mod open;
mod policies;
mod portal;
mod postgres;
mod rows;
mod sqlite;
mod usage;

pub use catalog::{Catalog, CatalogCache, ClientEntry};
pub use error::StoreError;
pub use open::open;
pub use portal::PortalStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use gatehouse_core::{
    Api, ApiId, ApiKey, ApiKeyId, AuditEvent, CaRecord, CertificateRecord, Client, ClientId,
    ClientSecret, DecisionRecord, KeyRecord, KeyState, Kid, PolicyId, PolicyRecord, RevokedToken,
    SecretId, Subscription, UnixTime, UsageQuery, UsageRecord,
};

/// Everything Gatehouse persists. Implementations: [`SqliteStore`] (embedded default) and
/// [`PostgresStore`] (scale-out); [`open`] picks one from a database URL.
///
/// Contract shared by every backend (checked by one conformance suite):
/// - `create_*` fails with [`StoreError::Conflict`] on a duplicate id or unique field
///   (API name, API audience).
/// - `update_*` and `delete_*` return [`StoreError::NotFound`] when the record does not exist.
/// - Deleting a client deletes its secrets, API keys, subscriptions and usage; deleting an API
///   deletes its subscriptions and usage.
/// - Writing a secret, API key or subscription for a client or API that does not exist returns
///   [`StoreError::NotFound`].
/// - List methods return records in creation order (oldest first), ties broken by id.
#[async_trait]
pub trait Store: PortalStore + Send + Sync + std::fmt::Debug {
    // --- APIs ---
    /// Inserts an API.
    async fn create_api(&self, api: &Api) -> Result<(), StoreError>;
    /// Replaces an API (matched by id).
    async fn update_api(&self, api: &Api) -> Result<(), StoreError>;
    /// Deletes an API with its subscriptions and usage.
    async fn delete_api(&self, id: &ApiId) -> Result<(), StoreError>;
    /// All APIs.
    async fn list_apis(&self) -> Result<Vec<Api>, StoreError>;

    // --- Clients (applications) ---
    /// Inserts a client.
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    /// Replaces a client (matched by id).
    async fn update_client(&self, client: &Client) -> Result<(), StoreError>;
    /// Deletes a client with its secrets, API keys, subscriptions and usage.
    async fn delete_client(&self, id: &ClientId) -> Result<(), StoreError>;
    /// All clients.
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;

    // --- Client secrets (digests only) ---
    /// Inserts a secret digest.
    async fn add_client_secret(&self, secret: &ClientSecret) -> Result<(), StoreError>;
    /// Sets `expires_at` on every secret of `client` that has none or a later one, except `keep`.
    async fn expire_client_secrets(
        &self,
        client: &ClientId,
        keep: &SecretId,
        at: UnixTime,
    ) -> Result<(), StoreError>;
    /// All secrets of all clients (expired ones included).
    async fn list_client_secrets(&self) -> Result<Vec<ClientSecret>, StoreError>;

    // --- API keys (digests only) ---
    /// Inserts an API key digest (`NotFound` when the client does not exist, `Conflict` on a
    /// duplicate id or digest).
    async fn add_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// Marks a key revoked at `at` (`NotFound` when it does not exist). Revoking a key that is
    /// already revoked keeps its first `revoked_at`.
    async fn revoke_api_key(&self, id: &ApiKeyId, at: UnixTime) -> Result<(), StoreError>;
    /// All API keys, revoked and expired ones included.
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;

    // --- Usage ---
    /// Adds a batch of usage records in one transaction: each record's count and latency
    /// buckets are added to the stored row of its key (minute, API, client, operation, status
    /// class), saturating at `i64::MAX`. A batch id seen before is ignored, so a gateway may
    /// resend a batch after a failure without double counting.
    ///
    /// Records whose API or client does not exist (any more) are skipped, not an error: usage
    /// of a deleted API or application is dropped, as deleting one deletes its usage.
    ///
    /// [`StoreError::Invalid`], with nothing written and the batch id left unused, when the
    /// batch id is not 1 to 128 characters, or a record has a minute that is not a multiple of
    /// 60, a status class outside 1..=5, other than [`LATENCY_BUCKETS`] latency buckets, a count
    /// above `i64::MAX`, or a NUL character in the batch id or operation.
    ///
    /// [`LATENCY_BUCKETS`]: gatehouse_core::LATENCY_BUCKETS
    async fn add_usage(&self, batch_id: &str, records: &[UsageRecord]) -> Result<(), StoreError>;
    /// Usage rows matching every filter the query sets (`from` inclusive, `to` exclusive),
    /// ordered by minute, API id, client id, operation (by bytes) and status class.
    async fn query_usage(&self, query: &UsageQuery) -> Result<Vec<UsageRecord>, StoreError>;
    /// Forgets batch ids received before `before` (ids are only needed while a gateway may still
    /// resend a batch); returns how many were removed.
    async fn purge_usage_batches(&self, before: UnixTime) -> Result<u64, StoreError>;

    // --- Subscriptions ---
    /// Inserts or replaces the subscription for (client, api); the id of an existing row is kept
    /// (and its `created_at`). Returns the subscription as stored.
    async fn upsert_subscription(&self, sub: &Subscription) -> Result<Subscription, StoreError>;
    /// Deletes the subscription for (client, api).
    async fn delete_subscription(&self, client: &ClientId, api: &ApiId) -> Result<(), StoreError>;
    /// All subscriptions.
    async fn list_subscriptions(&self) -> Result<Vec<Subscription>, StoreError>;

    // --- Signing keys ---
    /// Inserts a key.
    async fn insert_key(&self, key: &KeyRecord) -> Result<(), StoreError>;
    /// Moves a key to `state` only if it is currently in `from` (compare-and-set); sets the
    /// timestamps given. Returns `false` when the key was not in `from` (or does not exist).
    ///
    /// Moving to `active` sets `activated_at = at`; to `retired`, `retired_at = at`; to
    /// `revoked`, `retired_at = at` unless already set. `publish_until` is written when `Some`
    /// and kept when `None`.
    async fn transition_key(
        &self,
        kid: &Kid,
        from: KeyState,
        to: KeyState,
        at: UnixTime,
        publish_until: Option<UnixTime>,
    ) -> Result<bool, StoreError>;
    /// Deletes keys whose `publish_until` is before `now` and that are retired or revoked.
    async fn purge_keys(&self, now: UnixTime) -> Result<u64, StoreError>;
    /// All keys.
    async fn list_keys(&self) -> Result<Vec<KeyRecord>, StoreError>;

    // --- Revocations ---
    /// Adds a revoked token (idempotent on `jti`).
    async fn revoke_token(&self, revoked: &RevokedToken) -> Result<(), StoreError>;
    /// Revoked tokens that have not expired at `now` (`expires_at > now`).
    async fn list_revoked_tokens(&self, now: UnixTime) -> Result<Vec<RevokedToken>, StoreError>;
    /// Deletes entries whose token expired before `now` (`expires_at < now`).
    async fn purge_revoked_tokens(&self, now: UnixTime) -> Result<u64, StoreError>;

    // --- Certificate authority ---
    /// The CA's certificates and encrypted key, if one was created or imported.
    async fn load_ca(&self) -> Result<Option<CaRecord>, StoreError>;
    /// Stores the CA unless one exists already; returns whether this one was stored (a
    /// replica that loses the race loads the winner's with [`load_ca`](Self::load_ca)).
    async fn insert_ca_if_absent(&self, ca: &CaRecord) -> Result<bool, StoreError>;
    /// Replaces the stored CA (an operator importing a new one).
    async fn replace_ca(&self, ca: &CaRecord) -> Result<(), StoreError>;
    /// Records an issued certificate (`NotFound` when the client does not exist, `Conflict`
    /// on a duplicate serial).
    async fn record_certificate(&self, cert: &CertificateRecord) -> Result<(), StoreError>;
    /// Deny-lists a serial at `at` (`NotFound` when no such certificate was issued). Revoking
    /// twice keeps the first `revoked_at`.
    async fn revoke_certificate(&self, serial: &str, at: UnixTime) -> Result<(), StoreError>;
    /// Issued certificates, of one client or of all, oldest first, ties by serial.
    async fn list_certificates(
        &self,
        client: Option<&ClientId>,
    ) -> Result<Vec<CertificateRecord>, StoreError>;
    /// Revoked certificates that have not expired at `now` (`not_after > now`): the deny-list.
    async fn list_revoked_certificates(
        &self,
        now: UnixTime,
    ) -> Result<Vec<CertificateRecord>, StoreError>;
    /// Forgets certificates that expired before `now`; returns how many.
    async fn purge_certificates(&self, now: UnixTime) -> Result<u64, StoreError>;

    // --- Policies ---
    /// Stores a policy version. Version 1 is inserted ([`StoreError::Conflict`] when a policy
    /// is already attached at the same point); a later version replaces the one before it
    /// ([`StoreError::Conflict`] when the stored version is not `version - 1`, or the
    /// attachment differs; [`StoreError::NotFound`] for an unknown id, or an unknown API).
    /// Every version is kept in the history.
    async fn put_policy(&self, policy: &PolicyRecord) -> Result<(), StoreError>;
    /// Deletes a policy and its history.
    async fn delete_policy(&self, id: &PolicyId) -> Result<(), StoreError>;
    /// The current version of every policy, oldest first.
    async fn list_policies(&self) -> Result<Vec<PolicyRecord>, StoreError>;
    /// Every version of a policy, oldest first (empty for an unknown id).
    async fn policy_versions(&self, id: &PolicyId) -> Result<Vec<PolicyRecord>, StoreError>;
    /// Appends decisions to the log; decisions about APIs that no longer exist are dropped.
    async fn add_decisions(&self, records: &[DecisionRecord]) -> Result<(), StoreError>;
    /// The newest `limit` (at most 1000) decisions made at or after `since`, about `api` or
    /// about every API, newest first.
    async fn list_decisions(
        &self,
        api: Option<&ApiId>,
        since: UnixTime,
        limit: u32,
    ) -> Result<Vec<DecisionRecord>, StoreError>;
    /// Forgets decisions made before `before`; returns how many.
    async fn purge_decisions(&self, before: UnixTime) -> Result<u64, StoreError>;

    // --- Admin tokens ---
    /// Replaces every admin token digest with this one.
    async fn replace_admin_token(&self, digest: &[u8; 32], at: UnixTime) -> Result<(), StoreError>;
    /// Current admin token digests.
    async fn admin_token_digests(&self) -> Result<Vec<[u8; 32]>, StoreError>;

    // --- Audit ---
    /// Appends an audit event (its `id` is ignored and assigned by the store).
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// The newest `limit` audit events, newest first, with `id < before` when given.
    async fn list_audit(
        &self,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    // --- Operations ---
    /// Writes a consistent copy of the whole database to `path` (which must not exist:
    /// [`StoreError::Conflict`] otherwise). PostgreSQL returns [`StoreError::Unsupported`].
    async fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError>;
}
