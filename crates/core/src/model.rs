//! Records of the domain: APIs, applications (OAuth clients), secrets, subscriptions, keys,
//! revocations and audit events. Plain data; rules that need no I/O live beside them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{
    ApiId, ApiKeyId, Audience, ClientId, Kid, ScopeSet, SecretId, SubscriptionId, UnixTime,
};

/// Custom claims: a JSON object.
pub type ClaimMap = serde_json::Map<String, serde_json::Value>;

/// Largest serialized size of an API's or application's custom claims (and copied metadata).
pub const MAX_CUSTOM_CLAIMS_BYTES: usize = 4096;

/// Claim names Gatehouse sets itself; custom claims may not use them.
pub const REGISTERED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "client_id",
    "scope",
    "cnf",
    "auth_time",
    "acr",
    "amr",
    "azp",
    "typ",
];

/// JWS signing algorithms Gatehouse signs access tokens with.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Alg {
    /// ECDSA P-256 with SHA-256 (default: fast to sign).
    #[default]
    ES256,
    /// Ed25519.
    EdDSA,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
}

/// An algorithm name we do not sign with.
#[derive(Debug, thiserror::Error)]
#[error("unsupported algorithm {0:?}: expected ES256, EdDSA, RS256 or PS256")]
pub struct AlgParseError(String);

impl Alg {
    /// Every algorithm, in a stable order.
    pub const ALL: [Alg; 4] = [Alg::ES256, Alg::EdDSA, Alg::PS256, Alg::RS256];

    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
            Alg::PS256 => "PS256",
            Alg::RS256 => "RS256",
        }
    }
}

impl std::str::FromStr for Alg {
    type Err = AlgParseError;
    fn from_str(s: &str) -> Result<Self, AlgParseError> {
        match s {
            "ES256" => Ok(Alg::ES256),
            "EdDSA" => Ok(Alg::EdDSA),
            "PS256" => Ok(Alg::PS256),
            "RS256" => Ok(Alg::RS256),
            other => Err(AlgParseError(other.to_owned())),
        }
    }
}

impl std::fmt::Display for Alg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a client authenticates at the token endpoint (RFC 7591 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuthMethod {
    /// HTTP Basic with `client_id:client_secret`.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` form fields.
    ClientSecretPost,
    /// A JWT signed with the client's registered private key (RFC 7523).
    PrivateKeyJwt,
    /// A client certificate from a trusted CA matching the registered subject or SAN
    /// (RFC 8705 §2.1).
    TlsClientAuth,
    /// A self-signed client certificate whose thumbprint is registered (RFC 8705 §2.2).
    SelfSignedTlsClientAuth,
}

/// An auth method name we do not know.
#[derive(Debug, thiserror::Error)]
#[error(
    "unsupported auth method {0:?}: expected client_secret_basic, client_secret_post, private_key_jwt, tls_client_auth or self_signed_tls_client_auth"
)]
pub struct AuthMethodParseError(String);

impl AuthMethod {
    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::TlsClientAuth => "tls_client_auth",
            AuthMethod::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
        }
    }

    /// Whether the method authenticates with a client certificate (RFC 8705).
    pub fn uses_certificate(self) -> bool {
        matches!(
            self,
            AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth
        )
    }

    /// Every method, in the order metadata advertises them.
    pub const ALL: [AuthMethod; 5] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::TlsClientAuth,
        AuthMethod::SelfSignedTlsClientAuth,
    ];

    /// Whether the method authenticates with a shared secret.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

impl std::str::FromStr for AuthMethod {
    type Err = AuthMethodParseError;
    fn from_str(s: &str) -> Result<Self, AuthMethodParseError> {
        match s {
            "client_secret_basic" => Ok(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Ok(AuthMethod::ClientSecretPost),
            "private_key_jwt" => Ok(AuthMethod::PrivateKeyJwt),
            "tls_client_auth" => Ok(AuthMethod::TlsClientAuth),
            "self_signed_tls_client_auth" => Ok(AuthMethod::SelfSignedTlsClientAuth),
            other => Err(AuthMethodParseError(other.to_owned())),
        }
    }
}

impl std::fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protected API (OAuth resource server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Api {
    /// Server-generated id.
    pub id: ApiId,
    /// Unique human name (`orders`).
    pub name: String,
    /// Unique audience URI; the `aud` of tokens for this API.
    pub audience: Audience,
    /// Scopes the API defines.
    pub scopes: ScopeSet,
    /// Lifetime of access tokens for this API, in seconds.
    pub token_ttl_secs: u64,
    /// Algorithm tokens for this API are signed with.
    pub alg: Alg,
    /// Static custom claims added to every token for this API.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub claims: ClaimMap,
    /// Application metadata keys copied into tokens as claims (e.g. `tenant`).
    pub copy_metadata: Vec<String>,
    /// Clients acting as this API's resource server: they may introspect tokens issued for it.
    #[serde(default)]
    pub resource_servers: Vec<ClientId>,
    /// Clients (a team's deployment pipeline, say) that own this API: with a control-plane
    /// token carrying `policies:write` they manage its policies.
    #[serde(default)]
    pub owners: Vec<ClientId>,
    /// Creation time.
    pub created_at: UnixTime,
}

impl Api {
    /// Token lifetime as a [`Duration`].
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_secs)
    }
}

/// An application: a calling service. Its id is its OAuth `client_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Client {
    /// Server-generated id, also the `client_id`.
    pub id: ClientId,
    /// Human name.
    pub name: String,
    /// The one method this client may authenticate with.
    pub auth_method: AuthMethod,
    /// Registered public JWK Set (for `private_key_jwt`).
    pub jwks: Option<serde_json::Value>,
    /// Registered JWKS URI (for `private_key_jwt`), fetched and cached.
    pub jwks_uri: Option<String>,
    /// Free-form metadata (e.g. `tenant`), copyable into tokens.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: ClaimMap,
    /// Static custom claims added to every token of this client.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub claims: ClaimMap,
    /// Tokens issued before this time are invalid (per-client revocation cutoff). Certificates
    /// issued before it can no longer be renewed.
    pub tokens_not_before: Option<UnixTime>,
    /// Client-certificate registration (RFC 8705): what `tls_client_auth` matches, the
    /// thumbprints `self_signed_tls_client_auth` accepts, and whether tokens are bound.
    #[serde(default, skip_serializing_if = "ClientTls::is_empty")]
    pub tls: ClientTls,
    /// DNS names the CA may put in this application's certificates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    /// Creation time.
    pub created_at: UnixTime,
}

/// How an application authenticates with a client certificate (RFC 8705 client metadata).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientTls {
    /// `tls_client_auth_subject_dn`: the subject DN, exactly as x509-parser prints it
    /// (RDNs in certificate order, `, `-separated, e.g. `O=Example, CN=billing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_dn: Option<String>,
    /// `tls_client_auth_san_uri`: a URI SAN the certificate must carry (e.g. a SPIFFE ID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub san_uri: Option<String>,
    /// `tls_client_auth_san_dns`: a DNS SAN the certificate must carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub san_dns: Option<String>,
    /// SHA-256 thumbprints (`x5t#S256`, base64url) of registered self-signed certificates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thumbprints: Vec<String>,
    /// `tls_client_certificate_bound_access_tokens`: bind every token to the certificate the
    /// client presented (tokens are always bound when the client authenticated by mTLS).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bound_tokens: bool,
}

impl ClientTls {
    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The certificate authority's own key and certificates, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaRecord {
    /// PEM certificates: the signing CA first, the root last.
    pub chain_pem: String,
    /// The signing key, PKCS#8 encrypted under the master key.
    pub private_key_enc: Vec<u8>,
    /// Creation (or import) time.
    pub created_at: UnixTime,
}

/// A certificate the CA issued (never the certificate itself: only what revocation and
/// listings need).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRecord {
    /// Serial number, lowercase hex.
    pub serial: String,
    /// The application it was issued to.
    pub client_id: ClientId,
    /// The SPIFFE ID in its URI SAN.
    pub spiffe_id: String,
    /// DNS SANs.
    pub dns_names: Vec<String>,
    /// Start of validity.
    pub not_before: UnixTime,
    /// End of validity.
    pub not_after: UnixTime,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it was revoked (serial deny-listed), if it was.
    pub revoked_at: Option<UnixTime>,
}

/// A stored client secret: only its SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSecret {
    /// Id of this secret record.
    pub id: SecretId,
    /// Owner.
    pub client_id: ClientId,
    /// SHA-256 of the secret.
    pub digest: [u8; 32],
    /// Creation time.
    pub created_at: UnixTime,
    /// After this time the secret no longer authenticates (rotation grace).
    pub expires_at: Option<UnixTime>,
}

impl ClientSecret {
    /// Whether the secret still authenticates at `now`.
    pub fn is_valid_at(&self, now: UnixTime) -> bool {
        self.expires_at.is_none_or(|e| now < e)
    }
}

/// An API key of an application: only its SHA-256 digest is stored. The gateway finds the key
/// by digest and the application (and its subscriptions) through `client_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Id of this key record.
    pub id: ApiKeyId,
    /// Owner.
    pub client_id: ClientId,
    /// SHA-256 of the key.
    pub digest: [u8; 32],
    /// The first characters of the key (`gatehouse_ak_AbCd`), to recognise it in listings.
    pub prefix: String,
    /// Creation time.
    pub created_at: UnixTime,
    /// After this time the key no longer authenticates.
    pub expires_at: Option<UnixTime>,
    /// When it was revoked (it no longer authenticates).
    pub revoked_at: Option<UnixTime>,
}

impl ApiKey {
    /// Whether the key authenticates at `now`.
    pub fn is_valid_at(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// Lifecycle of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SubscriptionStatus {
    /// Approved: the application may get tokens for the API.
    Approved,
    /// Waiting for the API owner's approval.
    Pending,
    /// Refused by the API owner.
    Rejected,
    /// Withdrawn after approval.
    Revoked,
}

impl SubscriptionStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Approved => "approved",
            SubscriptionStatus::Pending => "pending",
            SubscriptionStatus::Rejected => "rejected",
            SubscriptionStatus::Revoked => "revoked",
        }
    }
}

impl std::str::FromStr for SubscriptionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "approved" => Ok(Self::Approved),
            "pending" => Ok(Self::Pending),
            "rejected" => Ok(Self::Rejected),
            "revoked" => Ok(Self::Revoked),
            other => Err(format!("unknown subscription status {other:?}")),
        }
    }
}

/// Application × API × plan × scopes: what lets an application call an API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subscription {
    /// Server-generated id.
    pub id: SubscriptionId,
    /// The subscribing application.
    pub client_id: ClientId,
    /// The API subscribed to.
    pub api_id: ApiId,
    /// Plan name (`default` for CLI grants).
    pub plan: String,
    /// Scopes granted on the API.
    pub scopes: ScopeSet,
    /// Lifecycle state; only `approved` grants tokens.
    pub status: SubscriptionStatus,
    /// Creation time.
    pub created_at: UnixTime,
    /// Last change.
    pub updated_at: UnixTime,
}

/// Where a signing key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum KeyState {
    /// Published in JWKS, not yet signing.
    Next,
    /// Signing new tokens (one per algorithm).
    Active,
    /// No longer signing; published until its tokens have expired.
    Retired,
    /// Emergency-revoked: unpublished at once, its tokens invalid.
    Revoked,
}

impl KeyState {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Revoked => "revoked",
        }
    }
}

impl std::str::FromStr for KeyState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "next" => Ok(Self::Next),
            "active" => Ok(Self::Active),
            "retired" => Ok(Self::Retired),
            "revoked" => Ok(Self::Revoked),
            other => Err(format!("unknown key state {other:?}")),
        }
    }
}

/// A signing key as stored: the private key is encrypted under the master key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Key id (`kid`).
    pub kid: Kid,
    /// Algorithm.
    pub alg: Alg,
    /// Lifecycle state.
    pub state: KeyState,
    /// PKCS#8 private key, AES-256-GCM encrypted (nonce ‖ ciphertext ‖ tag), AAD = kid.
    pub private_key_enc: Vec<u8>,
    /// Public JWK (JSON object with `kid`, `alg`, `use`).
    pub public_jwk: serde_json::Value,
    /// When the key was created (and published as `next`).
    pub created_at: UnixTime,
    /// When it became active.
    pub activated_at: Option<UnixTime>,
    /// When it stopped signing.
    pub retired_at: Option<UnixTime>,
    /// Unpublish after this time (retired keys), or when it was revoked.
    pub publish_until: Option<UnixTime>,
}

/// A revoked access token (`jti` deny-list entry), kept until the token would have expired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokedToken {
    /// The token's `jti`.
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The token's `exp`; the entry may be purged after it.
    pub expires_at: UnixTime,
    /// When it was revoked.
    pub revoked_at: UnixTime,
}

/// One audit record: who changed what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// Monotonic id assigned by the store (0 before insertion).
    pub id: i64,
    /// When.
    pub at: UnixTime,
    /// Who (e.g. `admin-token`, `bootstrap`, a user name).
    pub actor: String,
    /// What kind of change (`api.create`, `client.rotate_secret`, …).
    pub action: String,
    /// What it changed (an id).
    pub target: String,
    /// Non-secret details.
    pub detail: serde_json::Value,
}

/// Custom claims that may not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// A registered claim name (`iss`, `aud`, …) was used.
    #[error("claim {0:?} is set by Gatehouse and cannot be overridden")]
    Registered(String),
    /// Serialized size over [`MAX_CUSTOM_CLAIMS_BYTES`].
    #[error("custom claims exceed {MAX_CUSTOM_CLAIMS_BYTES} bytes")]
    TooLarge,
}

/// Checks a custom-claim map: no registered names, bounded size.
pub fn validate_custom_claims(claims: &ClaimMap) -> Result<(), ClaimsError> {
    if let Some(name) = claims
        .keys()
        .find(|k| REGISTERED_CLAIMS.contains(&k.as_str()))
    {
        return Err(ClaimsError::Registered(name.clone()));
    }
    let size = serde_json::to_vec(claims)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_CUSTOM_CLAIMS_BYTES {
        return Err(ClaimsError::TooLarge);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_claims_cannot_be_overridden() {
        let mut m = ClaimMap::new();
        m.insert("tenant".into(), "acme".into());
        assert!(validate_custom_claims(&m).is_ok());
        m.insert("aud".into(), "evil".into());
        assert_eq!(
            validate_custom_claims(&m),
            Err(ClaimsError::Registered("aud".into()))
        );
    }

    #[test]
    fn oversized_claims_are_rejected() {
        let mut m = ClaimMap::new();
        m.insert("blob".into(), "x".repeat(MAX_CUSTOM_CLAIMS_BYTES).into());
        assert_eq!(validate_custom_claims(&m), Err(ClaimsError::TooLarge));
    }

    #[test]
    fn secret_expiry_is_exclusive() {
        let s = ClientSecret {
            id: SecretId::parse("s1").unwrap(),
            client_id: ClientId::parse("c1").unwrap(),
            digest: [0; 32],
            created_at: UnixTime(0),
            expires_at: Some(UnixTime(10)),
        };
        assert!(s.is_valid_at(UnixTime(9)));
        assert!(!s.is_valid_at(UnixTime(10)));
    }

    #[test]
    fn alg_and_method_names_round_trip() {
        for a in Alg::ALL {
            assert_eq!(a.as_str().parse::<Alg>().unwrap(), a);
        }
        assert!("HS256".parse::<Alg>().is_err());
        assert!("none".parse::<Alg>().is_err());
        assert_eq!(
            "private_key_jwt".parse::<AuthMethod>().unwrap(),
            AuthMethod::PrivateKeyJwt
        );
    }
}
