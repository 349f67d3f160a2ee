//! The developer portal's records: people (users and their sessions), what the catalog says
//! about an API (its listing and plans), and who owns an application.
//!
//! An application *is* an OAuth client ([`crate::Client`]); its [`AppProfile`] adds the owner
//! and contact details. An API *is* the resource server ([`crate::Api`]); its [`ApiListing`]
//! adds the catalog entry and the users who own it.

use serde::{Deserialize, Serialize};

use crate::{ApiId, ClientId, PlanId, ScopeSet, UnixTime, UserId};

/// What a user may do everywhere. Owning an API is per API ([`ApiListing::owners`]), not a
/// role: any developer can own APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UserRole {
    /// Everything, including users, APIs and the audit log.
    Admin,
    /// Their own applications, and the APIs they own.
    Developer,
}

impl UserRole {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Developer => "developer",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "developer" => Some(Self::Developer),
            _ => None,
        }
    }
}

/// A person who signs in to the portal or the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Server-generated id.
    pub id: UserId,
    /// Sign-in name, unique, stored as [`normalize_email`] returns it.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: UserRole,
    /// argon2id PHC string; never serialized to any API answer.
    pub password_hash: String,
    /// A disabled user cannot sign in; their sessions end.
    #[serde(default)]
    pub disabled: bool,
    /// Creation time.
    pub created_at: UnixTime,
}

/// The canonical form of an email address used as a sign-in name (trimmed, lower case).
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A signed-in session. Only the digest of the session secret is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the session secret (the cookie value).
    pub digest: [u8; 32],
    /// Whose session.
    pub user_id: UserId,
    /// When it started.
    pub created_at: UnixTime,
    /// When it ends (absolute).
    pub expires_at: UnixTime,
}

/// Which credential a subscriber uses at the gateway, as the catalog advertises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CredentialType {
    /// Access tokens from client credentials (a client secret, key or certificate).
    Bearer,
    /// An API key.
    ApiKey,
    /// A client certificate from the built-in CA.
    Mtls,
    /// Legacy HTTP Basic with the client id and a client secret.
    Basic,
}

impl CredentialType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::ApiKey => "api_key",
            Self::Mtls => "mtls",
            Self::Basic => "basic",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bearer" => Some(Self::Bearer),
            "api_key" => Some(Self::ApiKey),
            "mtls" => Some(Self::Mtls),
            "basic" => Some(Self::Basic),
            _ => None,
        }
    }
}

/// What the portal's catalog says about an API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiListing {
    /// The API.
    pub api_id: ApiId,
    /// Markdown-free description, shown as text.
    #[serde(default)]
    pub description: String,
    /// Link to the API's documentation.
    #[serde(default)]
    pub docs_url: Option<String>,
    /// The credentials its gateway accepts; decides what a subscriber is offered.
    #[serde(default)]
    pub credentials: Vec<CredentialType>,
    /// Users who own the API: they see its subscribers and usage and decide approvals.
    #[serde(default)]
    pub owners: Vec<UserId>,
    /// Shown in the catalog to every developer (otherwise only to admins and owners).
    #[serde(default = "yes")]
    pub visible: bool,
    /// Last change.
    pub updated_at: UnixTime,
}

fn yes() -> bool {
    true
}

impl ApiListing {
    /// The listing an API has before anyone writes one: visible, bearer tokens, no owners.
    pub fn default_for(api_id: ApiId, at: UnixTime) -> Self {
        Self {
            api_id,
            description: String::new(),
            docs_url: None,
            credentials: vec![CredentialType::Bearer],
            owners: Vec::new(),
            visible: true,
            updated_at: at,
        }
    }
}

/// A rate limit a plan grants each subscribed application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanRate {
    /// Sustained requests per second.
    pub per_second: u32,
    /// Burst size.
    pub burst: u32,
}

/// A plan of an API: what a subscriber gets and whether an owner must approve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    /// Server-generated id.
    pub id: PlanId,
    /// The API.
    pub api_id: ApiId,
    /// Name, unique per API (`free`, `gold`); subscriptions refer to it.
    pub name: String,
    /// Shown in the catalog.
    #[serde(default)]
    pub description: String,
    /// Rate limit per application (the gateway's API default when absent).
    #[serde(default)]
    pub rate_limit: Option<PlanRate>,
    /// Requests per application per UTC day (the API's default when absent).
    #[serde(default)]
    pub daily_quota: Option<u64>,
    /// A subscription stays pending until an owner approves it.
    #[serde(default)]
    pub requires_approval: bool,
    /// The scopes a subscriber receives.
    pub scopes: ScopeSet,
    /// Creation time.
    pub created_at: UnixTime,
}

/// Who owns an application and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppProfile {
    /// The application (OAuth client).
    pub client_id: ClientId,
    /// The developer who owns it (none for applications created by admins or `apply`).
    #[serde(default)]
    pub owner: Option<UserId>,
    /// What it is.
    #[serde(default)]
    pub description: String,
    /// Whom an API owner writes to about it.
    #[serde(default)]
    pub contact_email: Option<String>,
    /// Last change.
    pub updated_at: UnixTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in [UserRole::Admin, UserRole::Developer] {
            assert_eq!(UserRole::parse(r.as_str()), Some(r));
        }
        for c in [
            CredentialType::Bearer,
            CredentialType::ApiKey,
            CredentialType::Mtls,
            CredentialType::Basic,
        ] {
            assert_eq!(CredentialType::parse(c.as_str()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert_eq!(UserRole::parse("owner"), None);
        assert_eq!(CredentialType::parse("API_KEY"), None);
    }

    #[test]
    fn emails_are_compared_trimmed_and_lower_case() {
        assert_eq!(normalize_email("  Ana@Example.COM "), "ana@example.com");
    }

    #[test]
    fn a_listing_written_without_visibility_is_visible() {
        let l: ApiListing = serde_json::from_str(r#"{"api_id":"a","updated_at":1}"#).unwrap();
        assert!(l.visible);
        assert!(l.credentials.is_empty());
    }
}
