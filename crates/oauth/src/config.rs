//! Validated settings of the authorization server.

use std::time::Duration;

/// Settings of the authorization server (validated by the CLI's config layer).
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// Issuer identifier (no trailing slash), e.g. `http://127.0.0.1:7070`.
    pub issuer: String,
    /// Token lifetime for APIs that set none.
    pub default_token_ttl: Duration,
    /// Upper bound on any API's token lifetime.
    pub max_token_ttl: Duration,
    /// Longest accepted `private_key_jwt` assertion lifetime (`exp - iat`).
    pub assertion_max_lifetime: Duration,
    /// Clock skew tolerated on `nbf`/`iat` of client assertions.
    pub leeway: Duration,
    /// `Cache-Control: max-age` of the JWKS document.
    pub jwks_max_age: Duration,
    /// Failed-authentication lockout.
    pub lockout: LockoutConfig,
}

/// Failed client authentications: after `max_failures` within `window`, the client id (and,
/// separately, the source address) is locked out for `duration`.
#[derive(Debug, Clone, Copy)]
pub struct LockoutConfig {
    /// Failures tolerated per window.
    pub max_failures: u32,
    /// Counting window.
    pub window: Duration,
    /// Lockout length.
    pub duration: Duration,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: Duration::from_secs(300),
            duration: Duration::from_secs(300),
        }
    }
}

impl OAuthConfig {
    /// Defaults for an issuer.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            default_token_ttl: Duration::from_secs(15 * 60),
            max_token_ttl: Duration::from_secs(24 * 3600),
            assertion_max_lifetime: Duration::from_secs(3600 + 60),
            leeway: Duration::from_secs(60),
            jwks_max_age: Duration::from_secs(300),
            lockout: LockoutConfig::default(),
        }
    }

    /// The token endpoint URL.
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth2/token", self.issuer)
    }

    /// Every URL a client assertion's `aud` may name: the issuer and each endpoint (aliases too).
    pub fn assertion_audiences(&self) -> Vec<String> {
        let i = &self.issuer;
        vec![
            i.clone(),
            format!("{i}/"),
            format!("{i}/oauth2/token"),
            format!("{i}/oauth/token"),
            format!("{i}/oauth2/introspect"),
            format!("{i}/oauth/check_token"),
            format!("{i}/oauth2/revoke"),
        ]
    }
}
