//! OAuth 2.0 protocol bodies.

use serde::{Deserialize, Serialize};

/// Error codes of RFC 6749 §5.2, RFC 8707 §2 and RFC 7009 §2.2.1, plus the 429 we add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// RFC 6749 §5.2.
    InvalidRequest,
    /// RFC 6749 §5.2.
    InvalidClient,
    /// RFC 6749 §5.2.
    InvalidGrant,
    /// RFC 6749 §5.2.
    UnauthorizedClient,
    /// RFC 6749 §5.2.
    UnsupportedGrantType,
    /// RFC 6749 §5.2.
    InvalidScope,
    /// RFC 8707 §2.
    InvalidTarget,
    /// RFC 7009 §2.2.1.
    UnsupportedTokenType,
    /// RFC 6749 §4.1.2.1, used for internal faults (detail only in logs, with a request id).
    ServerError,
    /// RFC 6749 §4.1.2.1, used with 429 for lockouts and rate limits.
    TemporarilyUnavailable,
}

impl OAuthErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// The JSON error body of RFC 6749 §5.2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthErrorBody {
    /// Error code.
    pub error: OAuthErrorCode,
    /// Human-readable detail (never internal state).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// Successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The JWT access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Granted scopes, space-separated.
    pub scope: String,
}

/// Introspection response (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IntrospectionResponse {
    /// Whether the token is active.
    pub active: bool,
    /// Client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Granted scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Subject (the client id for client credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience (string or array, as in the token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Expiry (seconds since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issued at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Always `Bearer` when active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Custom claims of the token, flattened.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Authorization server metadata (RFC 8414 §2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// Issuer identifier.
    pub issuer: String,
    /// Token endpoint.
    pub token_endpoint: String,
    /// JWK Set document.
    pub jwks_uri: String,
    /// Supported grant types.
    pub grant_types_supported: Vec<String>,
    /// Empty: no authorization endpoint.
    pub response_types_supported: Vec<String>,
    /// Token endpoint client authentication methods.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Algorithms accepted for `private_key_jwt` assertions.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// Introspection endpoint (RFC 7662).
    pub introspection_endpoint: String,
    /// Introspection client authentication methods.
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// Introspection assertion algorithms.
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// Revocation endpoint (RFC 7009).
    pub revocation_endpoint: String,
    /// Revocation client authentication methods.
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// Revocation assertion algorithms.
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// Every scope of every API.
    pub scopes_supported: Vec<String>,
    /// Signing algorithms of access tokens.
    pub access_token_signing_alg_values_supported: Vec<String>,
    /// RFC 8705 §3.3: tokens can be bound to the client's certificate.
    #[serde(default)]
    pub tls_client_certificate_bound_access_tokens: bool,
    /// RFC 8705 §5: the endpoints on the mTLS listener, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls_endpoint_aliases: Option<MtlsEndpointAliases>,
}

/// RFC 8705 §5 `mtls_endpoint_aliases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MtlsEndpointAliases {
    /// Token endpoint on the mTLS listener.
    pub token_endpoint: String,
    /// Introspection endpoint on the mTLS listener.
    pub introspection_endpoint: String,
    /// Revocation endpoint on the mTLS listener.
    pub revocation_endpoint: String,
}
