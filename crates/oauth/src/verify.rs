//! Verification of our own access tokens (introspection, revocation; gateways reuse it).
//!
//! The JWT library's own clock checks are not used: `exp`/`nbf` are checked here against the
//! injected clock, so tests with a fake clock test what production does.

use gatehouse_core::UnixTime;
use gatehouse_keys::{JwsVerify, KeyRing};
use gatehouse_store::Catalog;
use serde_json::{Map, Value};

/// Why a token is not active.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a JWT we signed with a published key.
    #[error("signature or format invalid")]
    Signature,
    /// `typ` is not `at+jwt`.
    #[error("not an access token")]
    Type,
    /// `iss` is not this issuer.
    #[error("wrong issuer")]
    Issuer,
    /// A required claim is missing or malformed.
    #[error("claim {0} missing or malformed")]
    Claim(&'static str),
    /// `exp` has passed.
    #[error("expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("not yet valid")]
    NotYetValid,
    /// Revoked by `jti`, by the client's cutoff, or the client no longer exists.
    #[error("revoked")]
    Revoked,
}

/// A verified, active access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// All claims.
    pub claims: Map<String, Value>,
    /// `client_id`.
    pub client_id: String,
    /// `jti`.
    pub jti: String,
    /// `exp`.
    pub exp: i64,
    /// `iat`.
    pub iat: i64,
    /// `nbf`, when present.
    pub nbf: Option<i64>,
}

impl AccessToken {
    /// Whether the token's `aud` (string or array) contains `audience`.
    pub fn has_audience(&self, audience: &str) -> bool {
        match self.claims.get("aud") {
            Some(Value::String(a)) => a == audience,
            Some(Value::Array(l)) => l.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        }
    }

    /// The audiences as a list.
    pub fn audiences(&self) -> Vec<&str> {
        match self.claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(l)) => l.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// Verifies signature, type, issuer, time and revocation of an access token.
pub fn verify_access_token(
    token: &str,
    ring: &KeyRing,
    catalog: &Catalog,
    issuer: &str,
    now: UnixTime,
) -> Result<AccessToken, TokenError> {
    let t = verify_signed(token, ring, issuer)?;
    check_live(&t, catalog, now)?;
    Ok(t)
}

/// The part of verification that never changes for a given token: signature with a published
/// key, `typ: at+jwt`, issuer, and well-formed claims. Its result may be cached by token digest;
/// [`check_live`] must still run on every use.
pub fn verify_signed(
    token: &str,
    keys: &(impl JwsVerify + ?Sized),
    issuer: &str,
) -> Result<AccessToken, TokenError> {
    let verified = keys.verify_jws(token).map_err(|_| TokenError::Signature)?;
    if verified.header.typ.as_deref() != Some("at+jwt") {
        return Err(TokenError::Type);
    }
    let c = verified.claims;
    if c.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(TokenError::Issuer);
    }
    let int = |name: &'static str| {
        c.get(name)
            .and_then(Value::as_i64)
            .ok_or(TokenError::Claim(name))
    };
    let exp = int("exp")?;
    let iat = int("iat")?;
    let nbf = match c.get("nbf") {
        Some(v) => Some(v.as_i64().ok_or(TokenError::Claim("nbf"))?),
        None => None,
    };
    let text = |name: &'static str| {
        c.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(TokenError::Claim(name))
    };
    let client_id = text("client_id")?;
    let jti = text("jti")?;
    Ok(AccessToken {
        claims: c,
        client_id,
        jti,
        exp,
        iat,
        nbf,
    })
}

/// The checks that depend on time and on revocations: expiry, not-before, the `jti` deny list,
/// the client's existence and its cut-off. Cheap; run on every request.
pub fn check_live(t: &AccessToken, catalog: &Catalog, now: UnixTime) -> Result<(), TokenError> {
    if t.exp <= now.0 {
        return Err(TokenError::Expired);
    }
    if t.nbf.is_some_and(|nbf| nbf > now.0) {
        return Err(TokenError::NotYetValid);
    }
    if catalog.is_revoked(&t.jti) {
        return Err(TokenError::Revoked);
    }
    let client = catalog.client(&t.client_id).ok_or(TokenError::Revoked)?;
    if client
        .client
        .tokens_not_before
        .is_some_and(|nb| t.iat < nb.0)
    {
        return Err(TokenError::Revoked);
    }
    Ok(())
}
