//! Rows as both backends store them, and their exact conversion to and from domain records.
//!
//! Every column is one of `TEXT`, `INTEGER`/`BIGINT` or `BLOB`/`BYTEA`, so one row type serves
//! SQLite and PostgreSQL (`sqlx::FromRow` is generic over the backend). Encoding refuses values
//! the database cannot hold ([`StoreError::Invalid`]); decoding reports rows that do not parse
//! back into a domain record ([`StoreError::Corrupt`]).

use std::fmt::Display;

use gatehouse_core::{
    Api, ApiKey, Audience, AuditEvent, CaRecord, CertificateRecord, ClaimMap, Client, ClientSecret,
    KeyRecord, KeyState, RevokedToken, ScopeSet, Subscription, UnixTime,
};

use crate::StoreError;

/// A row of `apis`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ApiRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) audience: String,
    pub(crate) scopes: String,
    pub(crate) token_ttl_secs: i64,
    pub(crate) alg: String,
    pub(crate) claims: String,
    pub(crate) copy_metadata: String,
    pub(crate) resource_servers: String,
    pub(crate) owners: String,
    pub(crate) created_at: i64,
}

/// A row of `clients`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ClientRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) auth_method: String,
    pub(crate) jwks: Option<String>,
    pub(crate) jwks_uri: Option<String>,
    pub(crate) metadata: String,
    pub(crate) claims: String,
    pub(crate) tokens_not_before: Option<i64>,
    pub(crate) tls_auth: String,
    pub(crate) dns_names: String,
    pub(crate) created_at: i64,
}

/// The row of `certificate_authority`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CaRow {
    pub(crate) chain_pem: String,
    pub(crate) private_key_enc: Vec<u8>,
    pub(crate) created_at: i64,
}

/// A row of `issued_certificates`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CertificateRow {
    pub(crate) serial: String,
    pub(crate) client_id: String,
    pub(crate) spiffe_id: String,
    pub(crate) dns_names: String,
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    pub(crate) issued_at: i64,
    pub(crate) revoked_at: Option<i64>,
}

/// A row of `client_secrets`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SecretRow {
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) digest: Vec<u8>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
}

/// A row of `api_keys`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) digest: Vec<u8>,
    pub(crate) prefix: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) revoked_at: Option<i64>,
}

/// A row of `subscriptions`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SubscriptionRow {
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) api_id: String,
    pub(crate) plan: String,
    pub(crate) scopes: String,
    pub(crate) status: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// A row of `signing_keys`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct KeyRow {
    pub(crate) kid: String,
    pub(crate) alg: String,
    pub(crate) state: String,
    pub(crate) private_key_enc: Vec<u8>,
    pub(crate) public_jwk: String,
    pub(crate) created_at: i64,
    pub(crate) activated_at: Option<i64>,
    pub(crate) retired_at: Option<i64>,
    pub(crate) publish_until: Option<i64>,
}

/// A row of `revoked_tokens`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RevokedRow {
    pub(crate) jti: String,
    pub(crate) client_id: String,
    pub(crate) expires_at: i64,
    pub(crate) revoked_at: i64,
}

/// A row of `audit_events`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub(crate) id: i64,
    pub(crate) at: i64,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) target: String,
    pub(crate) detail: String,
}

/// A row of `admin_tokens` (only the digest is read back).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AdminTokenRow {
    pub(crate) digest: Vec<u8>,
}

// === encoding ===

fn json<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(format!("{what}: {e}")))
}

impl ApiRow {
    /// The row for `api`.
    pub(crate) fn encode(api: &Api) -> Result<Self, StoreError> {
        let token_ttl_secs = i64::try_from(api.token_ttl_secs).map_err(|_| {
            StoreError::Invalid(format!(
                "api token_ttl_secs {} is out of range",
                api.token_ttl_secs
            ))
        })?;
        Ok(Self {
            id: api.id.to_string(),
            name: api.name.clone(),
            audience: api.audience.to_string(),
            scopes: api.scopes.to_space_separated(),
            token_ttl_secs,
            alg: api.alg.as_str().to_owned(),
            claims: json("api claims", &api.claims)?,
            copy_metadata: json("api copy_metadata", &api.copy_metadata)?,
            resource_servers: json("api resource_servers", &api.resource_servers)?,
            owners: json("api owners", &api.owners)?,
            created_at: api.created_at.0,
        })
    }
}

impl ClientRow {
    /// The row for `client`.
    pub(crate) fn encode(client: &Client) -> Result<Self, StoreError> {
        Ok(Self {
            id: client.id.to_string(),
            name: client.name.clone(),
            auth_method: client.auth_method.as_str().to_owned(),
            jwks: client
                .jwks
                .as_ref()
                .map(|j| json("client jwks", j))
                .transpose()?,
            jwks_uri: client.jwks_uri.clone(),
            metadata: json("client metadata", &client.metadata)?,
            claims: json("client claims", &client.claims)?,
            tokens_not_before: client.tokens_not_before.map(|t| t.0),
            tls_auth: json("client tls_auth", &client.tls)?,
            dns_names: json("client dns_names", &client.dns_names)?,
            created_at: client.created_at.0,
        })
    }
}

impl CertificateRow {
    /// The row for `cert`.
    pub(crate) fn encode(cert: &CertificateRecord) -> Result<Self, StoreError> {
        Ok(Self {
            serial: cert.serial.clone(),
            client_id: cert.client_id.to_string(),
            spiffe_id: cert.spiffe_id.clone(),
            dns_names: json("certificate dns_names", &cert.dns_names)?,
            not_before: cert.not_before.0,
            not_after: cert.not_after.0,
            issued_at: cert.issued_at.0,
            revoked_at: cert.revoked_at.map(|t| t.0),
        })
    }
}

impl ApiKeyRow {
    /// The row for `key`.
    pub(crate) fn encode(key: &ApiKey) -> Self {
        Self {
            id: key.id.to_string(),
            client_id: key.client_id.to_string(),
            digest: key.digest.to_vec(),
            prefix: key.prefix.clone(),
            created_at: key.created_at.0,
            expires_at: key.expires_at.map(|t| t.0),
            revoked_at: key.revoked_at.map(|t| t.0),
        }
    }
}

impl SubscriptionRow {
    /// The row for `sub`.
    pub(crate) fn encode(sub: &Subscription) -> Self {
        Self {
            id: sub.id.to_string(),
            client_id: sub.client_id.to_string(),
            api_id: sub.api_id.to_string(),
            plan: sub.plan.clone(),
            scopes: sub.scopes.to_space_separated(),
            status: sub.status.as_str().to_owned(),
            created_at: sub.created_at.0,
            updated_at: sub.updated_at.0,
        }
    }
}

impl KeyRow {
    /// The row for `key`.
    pub(crate) fn encode(key: &KeyRecord) -> Result<Self, StoreError> {
        Ok(Self {
            kid: key.kid.to_string(),
            alg: key.alg.as_str().to_owned(),
            state: key.state.as_str().to_owned(),
            private_key_enc: key.private_key_enc.clone(),
            public_jwk: json("key public_jwk", &key.public_jwk)?,
            created_at: key.created_at.0,
            activated_at: key.activated_at.map(|t| t.0),
            retired_at: key.retired_at.map(|t| t.0),
            publish_until: key.publish_until.map(|t| t.0),
        })
    }
}

/// What [`Store::transition_key`](crate::Store::transition_key) writes besides the state.
///
/// - to `active`: `activated_at = at`;
/// - to `retired`: `retired_at = at`;
/// - to `revoked`: `retired_at = at` unless the key had already stopped signing earlier;
/// - `publish_until` when given (kept otherwise).
///
/// Backends write `activated_at = COALESCE(<activated>, activated_at)`,
/// `retired_at = COALESCE(<retired>, retired_at, <retired_if_unset>)` and
/// `publish_until = COALESCE(<publish_until>, publish_until)`, `<…>` being these fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TransitionStamps {
    pub(crate) activated: Option<i64>,
    pub(crate) retired: Option<i64>,
    pub(crate) retired_if_unset: Option<i64>,
    pub(crate) publish_until: Option<i64>,
}

impl TransitionStamps {
    /// The stamps for a move to `to` at `at`.
    pub(crate) fn new(to: KeyState, at: UnixTime, publish_until: Option<UnixTime>) -> Self {
        Self {
            activated: (to == KeyState::Active).then_some(at.0),
            retired: (to == KeyState::Retired).then_some(at.0),
            retired_if_unset: (to == KeyState::Revoked).then_some(at.0),
            publish_until: publish_until.map(|t| t.0),
        }
    }
}

/// The stored form of an audit event's detail.
pub(crate) fn encode_detail(event: &AuditEvent) -> Result<String, StoreError> {
    json("audit detail", &event.detail)
}

// === decoding ===

fn corrupt(table: &'static str, column: &str, err: impl Display) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: format!("{column}: {err}"),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    column: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(table, column, e))
}

fn parse<T: std::str::FromStr>(
    table: &'static str,
    column: &str,
    text: &str,
) -> Result<T, StoreError>
where
    T::Err: Display,
{
    text.parse().map_err(|e| corrupt(table, column, e))
}

fn digest(table: &'static str, bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| {
        corrupt(
            table,
            "digest",
            format!("{} bytes, expected 32", bytes.len()),
        )
    })
}

fn scopes(table: &'static str, text: &str) -> Result<ScopeSet, StoreError> {
    ScopeSet::parse_space_separated(text).map_err(|e| corrupt(table, "scopes", e))
}

impl TryFrom<ApiRow> for Api {
    type Error = StoreError;
    fn try_from(r: ApiRow) -> Result<Self, StoreError> {
        const T: &str = "apis";
        Ok(Api {
            id: parse(T, "id", &r.id)?,
            audience: Audience::parse(&r.audience).map_err(|e| corrupt(T, "audience", e))?,
            scopes: scopes(T, &r.scopes)?,
            token_ttl_secs: u64::try_from(r.token_ttl_secs)
                .map_err(|e| corrupt(T, "token_ttl_secs", e))?,
            alg: parse(T, "alg", &r.alg)?,
            claims: parse_json::<ClaimMap>(T, "claims", &r.claims)?,
            copy_metadata: parse_json(T, "copy_metadata", &r.copy_metadata)?,
            resource_servers: parse_json(T, "resource_servers", &r.resource_servers)?,
            owners: parse_json(T, "owners", &r.owners)?,
            created_at: UnixTime(r.created_at),
            name: r.name,
        })
    }
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;
    fn try_from(r: ClientRow) -> Result<Self, StoreError> {
        const T: &str = "clients";
        Ok(Client {
            id: parse(T, "id", &r.id)?,
            auth_method: parse(T, "auth_method", &r.auth_method)?,
            jwks: r
                .jwks
                .as_deref()
                .map(|j| parse_json(T, "jwks", j))
                .transpose()?,
            metadata: parse_json(T, "metadata", &r.metadata)?,
            claims: parse_json(T, "claims", &r.claims)?,
            tokens_not_before: r.tokens_not_before.map(UnixTime),
            tls: parse_json(T, "tls_auth", &r.tls_auth)?,
            dns_names: parse_json(T, "dns_names", &r.dns_names)?,
            created_at: UnixTime(r.created_at),
            name: r.name,
            jwks_uri: r.jwks_uri,
        })
    }
}

impl From<CaRow> for CaRecord {
    fn from(r: CaRow) -> Self {
        CaRecord {
            chain_pem: r.chain_pem,
            private_key_enc: r.private_key_enc,
            created_at: UnixTime(r.created_at),
        }
    }
}

impl TryFrom<CertificateRow> for CertificateRecord {
    type Error = StoreError;
    fn try_from(r: CertificateRow) -> Result<Self, StoreError> {
        const T: &str = "issued_certificates";
        Ok(CertificateRecord {
            client_id: parse(T, "client_id", &r.client_id)?,
            dns_names: parse_json(T, "dns_names", &r.dns_names)?,
            not_before: UnixTime(r.not_before),
            not_after: UnixTime(r.not_after),
            issued_at: UnixTime(r.issued_at),
            revoked_at: r.revoked_at.map(UnixTime),
            serial: r.serial,
            spiffe_id: r.spiffe_id,
        })
    }
}

impl TryFrom<SecretRow> for ClientSecret {
    type Error = StoreError;
    fn try_from(r: SecretRow) -> Result<Self, StoreError> {
        const T: &str = "client_secrets";
        Ok(ClientSecret {
            id: parse(T, "id", &r.id)?,
            client_id: parse(T, "client_id", &r.client_id)?,
            digest: digest(T, &r.digest)?,
            created_at: UnixTime(r.created_at),
            expires_at: r.expires_at.map(UnixTime),
        })
    }
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> Result<Self, StoreError> {
        const T: &str = "api_keys";
        Ok(ApiKey {
            id: parse(T, "id", &r.id)?,
            client_id: parse(T, "client_id", &r.client_id)?,
            digest: digest(T, &r.digest)?,
            created_at: UnixTime(r.created_at),
            expires_at: r.expires_at.map(UnixTime),
            revoked_at: r.revoked_at.map(UnixTime),
            prefix: r.prefix,
        })
    }
}

impl TryFrom<SubscriptionRow> for Subscription {
    type Error = StoreError;
    fn try_from(r: SubscriptionRow) -> Result<Self, StoreError> {
        const T: &str = "subscriptions";
        Ok(Subscription {
            id: parse(T, "id", &r.id)?,
            client_id: parse(T, "client_id", &r.client_id)?,
            api_id: parse(T, "api_id", &r.api_id)?,
            scopes: scopes(T, &r.scopes)?,
            status: parse(T, "status", &r.status)?,
            created_at: UnixTime(r.created_at),
            updated_at: UnixTime(r.updated_at),
            plan: r.plan,
        })
    }
}

impl TryFrom<KeyRow> for KeyRecord {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        const T: &str = "signing_keys";
        Ok(KeyRecord {
            kid: parse(T, "kid", &r.kid)?,
            alg: parse(T, "alg", &r.alg)?,
            state: parse(T, "state", &r.state)?,
            public_jwk: parse_json(T, "public_jwk", &r.public_jwk)?,
            created_at: UnixTime(r.created_at),
            activated_at: r.activated_at.map(UnixTime),
            retired_at: r.retired_at.map(UnixTime),
            publish_until: r.publish_until.map(UnixTime),
            private_key_enc: r.private_key_enc,
        })
    }
}

impl TryFrom<RevokedRow> for RevokedToken {
    type Error = StoreError;
    fn try_from(r: RevokedRow) -> Result<Self, StoreError> {
        Ok(RevokedToken {
            client_id: parse("revoked_tokens", "client_id", &r.client_id)?,
            expires_at: UnixTime(r.expires_at),
            revoked_at: UnixTime(r.revoked_at),
            jti: r.jti,
        })
    }
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        Ok(AuditEvent {
            id: r.id,
            at: UnixTime(r.at),
            detail: parse_json("audit_events", "detail", &r.detail)?,
            actor: r.actor,
            action: r.action,
            target: r.target,
        })
    }
}

impl TryFrom<AdminTokenRow> for [u8; 32] {
    type Error = StoreError;
    fn try_from(r: AdminTokenRow) -> Result<Self, StoreError> {
        digest("admin_tokens", &r.digest)
    }
}

/// Decodes every row, stopping at the first corrupt one.
pub(crate) fn decode_all<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

#[cfg(test)]
mod tests;
