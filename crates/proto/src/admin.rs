//! Admin API (`/admin/v1/...`) request and response bodies.
//!
//! Responses reuse the domain records of `gatehouse-core` where they carry nothing secret
//! (`Api`, `Client`, `Subscription`); secrets appear only in the one response that creates them.

use serde::{Deserialize, Serialize};

pub use gatehouse_core::{Api, ClaimMap, Client, Subscription};

/// `POST /admin/v1/apis`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateApi {
    /// Unique name.
    pub name: String,
    /// Unique audience URI.
    pub audience: String,
    /// Scopes the API defines.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Token lifetime, e.g. `15m` (default from server config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ttl: Option<String>,
    /// `ES256` (default), `EdDSA`, `RS256` or `PS256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<gatehouse_core::Alg>))]
    pub alg: Option<String>,
    /// Static custom claims.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub claims: ClaimMap,
    /// Application metadata keys copied into tokens.
    #[serde(default)]
    pub copy_metadata: Vec<String>,
    /// Client ids acting as the API's resource server (may introspect its tokens).
    #[serde(default)]
    pub resource_servers: Vec<String>,
}

/// `PUT /admin/v1/apis/{api}/owners`: the clients that own the API and may manage its
/// policies (with a token for `urn:gatehouse:policies` carrying `policies:write`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetOwners {
    /// Client ids (replaces the previous list).
    pub clients: Vec<String>,
}

/// `PUT .../policy`: the next version of the policy at an attachment point (the global one,
/// an API's, or an operation's). Sending what is already current changes nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PutPolicy {
    /// The Rego module (v1 syntax); it must define `allow` or `decision`.
    pub module: String,
    /// The policy's `data` document (a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// `deny` (default) or `allow`: what the gateway does when the policy fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<gatehouse_core::PolicyFailure>))]
    pub on_error: Option<String>,
    /// `none` (default) or `per_caller`: decisions cached per credential (the policy then
    /// sees no `input.request` and no `input.time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<gatehouse_core::PolicyCaching>))]
    pub caching: Option<String>,
    /// Request headers copied into `input.request.headers` (credentials never are).
    #[serde(default)]
    pub headers: Vec<String>,
    /// Share of allowed decisions logged, in permille (default 10); denials and errors are
    /// always logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 1000))]
    pub log_permille: Option<u16>,
    /// Optimistic concurrency: the version this change was based on (`0`: none may exist).
    /// A different current version is refused with 409.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_version: Option<u32>,
}

/// `PUT /admin/v1/apis/{api}/resource-servers`: the clients that act as the API's resource server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetResourceServers {
    /// Client ids (replaces the previous list).
    pub clients: Vec<String>,
}

/// `POST /admin/v1/clients`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateClient {
    /// Human name.
    pub name: String,
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt`,
    /// `tls_client_auth` or `self_signed_tls_client_auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<gatehouse_core::AuthMethod>))]
    pub auth_method: Option<String>,
    /// Client-certificate registration (RFC 8705): subject DN or SAN for `tls_client_auth`,
    /// thumbprints for `self_signed_tls_client_auth`, `bound_tokens`.
    #[serde(default, skip_serializing_if = "gatehouse_core::ClientTls::is_empty")]
    pub tls: gatehouse_core::ClientTls,
    /// Self-signed certificates (PEM) for `self_signed_tls_client_auth`; their thumbprints are
    /// added to `tls.thumbprints`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<String>,
    /// DNS names the CA may put in this application's certificates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    /// Public JWK Set for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// JWKS URI for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Metadata (e.g. `tenant`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: ClaimMap,
    /// Static custom claims.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub claims: ClaimMap,
}

/// `PUT /admin/v1/clients/{id}/dns-names`: the DNS names the CA may certify for the client.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetDnsNames {
    /// DNS names (replaces the previous list; `*.x` allowed, certified only as written).
    pub dns_names: Vec<String>,
}

/// Response to client creation: the secret appears here once and never again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedClient {
    /// The new client id.
    pub client_id: String,
    /// The client secret (secret methods only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The stored client.
    pub client: Client,
}

/// `POST /admin/v1/clients/{id}/rotate-secret`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotateSecret {
    /// How long existing secrets stay valid, e.g. `24h` (default `0s`: immediately invalid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace: Option<String>,
}

/// Response to a secret rotation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotatedSecret {
    /// The client.
    pub client_id: String,
    /// The new secret, shown once.
    pub client_secret: String,
    /// When the previous secrets stop working (seconds since the epoch).
    pub previous_valid_until: i64,
}

/// Response to `revoke-tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokensRevoked {
    /// The client.
    pub client_id: String,
    /// Tokens issued before this time are invalid.
    pub tokens_not_before: i64,
}

/// `POST /admin/v1/clients/{id}/api-keys` (an empty body means a key that never expires).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateApiKey {
    /// Lifetime of the key, e.g. `90d` (at most two years; default: no expiry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
}

/// Response to API key creation: the key appears here once and never again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    /// Id of the key record (to list or revoke it).
    pub id: String,
    /// The API key, shown once.
    pub api_key: String,
    /// The first characters of the key, as listings show them.
    pub prefix: String,
    /// When the key stops working (seconds since the epoch), if ever.
    pub expires_at: Option<i64>,
}

/// An API key as listings show it: metadata only, never the key or its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyView {
    /// Id of the key record.
    pub id: String,
    /// The first characters of the key.
    pub prefix: String,
    /// Created at (seconds since the epoch).
    pub created_at: i64,
    /// Stops working at, if ever.
    pub expires_at: Option<i64>,
    /// Revoked at, if revoked.
    pub revoked_at: Option<i64>,
    /// Whether the key authenticates now (neither revoked nor expired).
    pub valid: bool,
}

/// `PUT /admin/v1/grants`: approve a subscription with exactly these scopes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantRequest {
    /// The client (application) id.
    pub client_id: String,
    /// API id, name or audience.
    pub api: String,
    /// Scopes to grant (replaces the previous set).
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// A signing key as the admin API shows it (public part only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyView {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub alg: String,
    /// `next`, `active`, `retired` or `revoked`.
    pub state: String,
    /// Created (published) at.
    pub created_at: i64,
    /// Activated at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<i64>,
    /// Retired at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
    /// Leaves JWKS after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_until: Option<i64>,
}

/// `POST /admin/v1/keys/rotate`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotateKeys {
    /// Algorithm to rotate (default: every algorithm in use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<gatehouse_core::Alg>))]
    pub alg: Option<String>,
}

/// Response to `admin-token rotate`: the new token, shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminTokenRotated {
    /// The new admin token.
    pub admin_token: String,
}

/// `GET /admin/v1/clients/{id}`: a client with its credentials' metadata and its grants.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientDetail {
    /// The client.
    pub client: Client,
    /// Its secrets (metadata only).
    pub secrets: Vec<crate::portal::SecretView>,
    /// Its grants (subscriptions), oldest first.
    pub grants: Vec<Subscription>,
    /// Its API keys (metadata only).
    pub api_keys: Vec<ApiKeyView>,
}

/// `GET /admin/v1/revocations`: what gateways and resource servers need to honour
/// revocations.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Revocations {
    /// Revoked tokens (`jti` deny list), each until its expiry.
    pub tokens: Vec<RevokedJti>,
    /// Per-client cut-offs: tokens issued before are invalid.
    pub clients: Vec<ClientCutoff>,
}

/// One revoked token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevokedJti {
    /// The token's `jti`.
    pub jti: String,
    /// Its `exp` (seconds since the epoch).
    pub expires_at: i64,
}

/// One client's revocation cut-off.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientCutoff {
    /// The client.
    pub client_id: String,
    /// Tokens issued before this time (seconds since the epoch) are invalid.
    pub tokens_not_before: i64,
}

/// A list wrapper (`{"items": [...]}`) so lists can grow paging fields later.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct List<T> {
    /// The items.
    pub items: Vec<T>,
}

/// RFC 9457 problem details, the admin API's error body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI reference naming the problem type (`about:blank` or a gatehouse URN).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong, for a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Request id for server errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}
