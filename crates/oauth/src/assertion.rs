//! `private_key_jwt` client assertions (RFC 7523 §3) and the cache of clients' `jwks_uri`s.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::UnixTime;
use gatehouse_keys::jwt::{self, VerifyError};
use gatehouse_store::ClientEntry;
use parking_lot::Mutex;
use serde_json::Value;

use crate::OAuthState;

/// Largest assertion accepted.
const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// Largest `jti` accepted.
const MAX_JTI_BYTES: usize = 256;
/// Largest JWKS document fetched.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Why an assertion was refused (logged at debug; the client sees only `public_message`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// Bigger than 8 KiB.
    #[error("assertion too large")]
    TooLarge,
    /// Signature or structure.
    #[error("signature: {0}")]
    Signature(#[from] VerifyError),
    /// A required claim is missing or has the wrong type.
    #[error("claim {0} missing or malformed")]
    Claim(&'static str),
    /// `aud` does not name this server.
    #[error("audience does not name this authorization server")]
    Audience,
    /// Expired.
    #[error("assertion expired")]
    Expired,
    /// `nbf`/`iat` in the future.
    #[error("assertion not yet valid")]
    NotYetValid,
    /// `exp - iat` over the configured maximum.
    #[error("assertion lifetime exceeds the maximum")]
    LifetimeTooLong,
    /// Seen before.
    #[error("assertion replayed")]
    Replayed,
    /// The client has no usable keys.
    #[error("client has no registered keys: {0}")]
    NoKeys(String),
}

impl AssertionError {
    /// What the client is told.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::Expired => "client assertion expired",
            Self::Replayed => "client assertion was already used",
            Self::LifetimeTooLong => "client assertion lifetime is too long",
            Self::Audience => "client assertion audience must be the issuer or token endpoint",
            Self::Claim("jti") => "client assertion must carry a jti",
            Self::Claim("exp") => "client assertion must carry exp",
            _ => "client assertion is invalid",
        }
    }
}

/// The client id an assertion claims (`iss` = `sub`), read before verification to find its keys.
pub fn claimed_client_id(assertion: &str) -> Option<String> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return None;
    }
    let claims = jwt::peek_claims(assertion).ok()?;
    let iss = claims.get("iss")?.as_str()?;
    let sub = claims.get("sub")?.as_str()?;
    (iss == sub).then(|| iss.to_owned())
}

/// Verifies a client's assertion: signature with its registered keys, then claims, then replay.
pub async fn verify(
    state: &OAuthState,
    entry: &ClientEntry,
    assertion: &str,
    now: UnixTime,
) -> Result<(), AssertionError> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(AssertionError::TooLarge);
    }
    let verified = match (&entry.client.jwks, &entry.client.jwks_uri) {
        (Some(jwks), _) => jwt::verify_with_jwks(assertion, jwks)?,
        (None, Some(uri)) => {
            let jwks = state.jwks_fetcher.get(uri, false, now).await?;
            match jwt::verify_with_jwks(assertion, &jwks) {
                Err(VerifyError::UnknownKey) => {
                    let fresh = state.jwks_fetcher.get(uri, true, now).await?;
                    jwt::verify_with_jwks(assertion, &fresh)?
                }
                other => other?,
            }
        }
        (None, None) => return Err(AssertionError::NoKeys("none registered".into())),
    };
    let c = &verified.claims;
    let cfg = &state.config;
    let leeway = i64::try_from(cfg.leeway.as_secs()).unwrap_or(60);
    let id = entry.client.id.as_str();
    if c.get("iss").and_then(Value::as_str) != Some(id)
        || c.get("sub").and_then(Value::as_str) != Some(id)
    {
        return Err(AssertionError::Claim("iss/sub"));
    }
    let audiences = cfg.assertion_audiences();
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => audiences.contains(a),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audiences.iter().any(|x| x == a)),
        _ => false,
    };
    if !aud_ok {
        return Err(AssertionError::Audience);
    }
    let exp = c
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(AssertionError::Claim("exp"))?;
    if exp <= now.0 {
        return Err(AssertionError::Expired);
    }
    if let Some(nbf) = c.get("nbf") {
        let nbf = nbf.as_i64().ok_or(AssertionError::Claim("nbf"))?;
        if nbf > now.0 + leeway {
            return Err(AssertionError::NotYetValid);
        }
    }
    let iat = match c.get("iat") {
        Some(v) => Some(v.as_i64().ok_or(AssertionError::Claim("iat"))?),
        None => None,
    };
    if iat.is_some_and(|iat| iat > now.0 + leeway) {
        return Err(AssertionError::NotYetValid);
    }
    let max_life = i64::try_from(cfg.assertion_max_lifetime.as_secs()).unwrap_or(i64::MAX);
    if exp - iat.unwrap_or(now.0) > max_life {
        return Err(AssertionError::LifetimeTooLong);
    }
    let jti = c
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_BYTES);
    let jti = jti.ok_or(AssertionError::Claim("jti"))?;
    if !state.replay.check_and_insert(id, jti, UnixTime(exp), now) {
        return Err(AssertionError::Replayed);
    }
    Ok(())
}

/// Fetches and caches clients' `jwks_uri` documents.
#[derive(Debug)]
pub struct JwksFetcher {
    http: reqwest::Client,
    ttl: Duration,
    min_refresh: Duration,
    cache: Mutex<HashMap<String, (Arc<Value>, UnixTime)>>,
}

impl Default for JwksFetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl JwksFetcher {
    /// A fetcher with a 5-minute cache and at most one forced refresh per 30 s per URI.
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            http,
            ttl: Duration::from_secs(300),
            min_refresh: Duration::from_secs(30),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The JWKS at `uri`, from cache unless stale (or `refresh` and the copy is old enough).
    pub async fn get(
        &self,
        uri: &str,
        refresh: bool,
        now: UnixTime,
    ) -> Result<Arc<Value>, AssertionError> {
        let cached = self.cache.lock().get(uri).cloned();
        if let Some((jwks, at)) = &cached {
            let age = now.since(*at);
            let limit = if refresh { self.min_refresh } else { self.ttl };
            if age < i64::try_from(limit.as_secs()).unwrap_or(i64::MAX) {
                return Ok(Arc::clone(jwks));
            }
        }
        match self.fetch(uri).await {
            Ok(jwks) => {
                let jwks = Arc::new(jwks);
                self.cache
                    .lock()
                    .insert(uri.to_owned(), (Arc::clone(&jwks), now));
                Ok(jwks)
            }
            // Keep using a cached copy while the client's JWKS host is unreachable.
            Err(e) => cached.map(|(j, _)| j).ok_or(e),
        }
    }

    async fn fetch(&self, uri: &str) -> Result<Value, AssertionError> {
        let resp = self
            .http
            .get(uri)
            .send()
            .await
            .map_err(|e| AssertionError::NoKeys(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(AssertionError::NoKeys(format!(
                "jwks_uri answered {}",
                resp.status()
            )));
        }
        if resp
            .content_length()
            .is_some_and(|l| l > MAX_JWKS_BYTES as u64)
        {
            return Err(AssertionError::NoKeys("jwks_uri document too large".into()));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| AssertionError::NoKeys(e.to_string()))?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(AssertionError::NoKeys("jwks_uri document too large".into()));
        }
        let jwks: Value =
            serde_json::from_slice(&body).map_err(|e| AssertionError::NoKeys(e.to_string()))?;
        gatehouse_keys::check_public_jwks(&jwks)
            .map_err(|e| AssertionError::NoKeys(e.to_string()))?;
        Ok(jwks)
    }
}
