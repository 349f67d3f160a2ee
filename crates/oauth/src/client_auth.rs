//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post` and `private_key_jwt` (RFC 6749 §2.3, RFC 7523).
//!
//! A client may use only its registered method, exactly one method per request. Every failure is
//! `invalid_client` (401) and is counted per client id and per source address for the lockout.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, header};
use base64::Engine;
use gatehouse_core::{AuthMethod, ClientId, UnixTime};
use gatehouse_keys::secret;
use gatehouse_store::{Catalog, ClientEntry};

use crate::lockout::LockoutKey;
use crate::{Form, OAuthError, OAuthState, assertion};

/// The `client_assertion_type` of RFC 7523 §2.2.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client that proved its identity.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The client with its secrets and subscriptions.
    pub entry: Arc<ClientEntry>,
    /// How it authenticated.
    pub method: AuthMethod,
}

/// What we learnt about an attempt, for metrics, even when it failed.
#[derive(Debug, Default, Clone)]
pub struct AttemptInfo {
    /// The method presented, if any.
    pub method: Option<AuthMethod>,
    /// The client id, if it names a registered client.
    pub client: Option<ClientId>,
}

enum Credential {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    Assertion { assertion: String },
}

/// Authenticates the caller of an OAuth endpoint.
pub async fn authenticate(
    state: &OAuthState,
    catalog: &Catalog,
    headers: &HeaderMap,
    form: &Form,
    peer: Option<IpAddr>,
    info: &mut AttemptInfo,
) -> Result<Authenticated, OAuthError> {
    let now = state.now();
    let basic_used = headers.contains_key(header::AUTHORIZATION);
    let fail = |d: &'static str| OAuthError::InvalidClient {
        basic: basic_used,
        description: d,
    };

    if let Some(ip) = peer
        && let Some(retry_after) = state.lockout.locked_for(&LockoutKey::Peer(ip), now)
    {
        return Err(OAuthError::TooManyAttempts { retry_after });
    }
    let credential = presented_credential(headers, form, basic_used)?;
    info.method = Some(match &credential {
        Credential::Basic { .. } => AuthMethod::ClientSecretBasic,
        Credential::Post { .. } => AuthMethod::ClientSecretPost,
        Credential::Assertion { .. } => AuthMethod::PrivateKeyJwt,
    });
    let claimed_id = match &credential {
        Credential::Basic { id, .. } | Credential::Post { id, .. } => id.clone(),
        Credential::Assertion { assertion } => assertion::claimed_client_id(assertion).ok_or(
            fail("client assertion must carry iss and sub equal to the client id"),
        )?,
    };
    if form.get("client_id").is_some_and(|id| id != claimed_id) {
        return Err(fail("client_id does not match the client credentials"));
    }
    let record_peer = |state: &OAuthState| {
        if let Some(ip) = peer {
            state.lockout.record_failure(LockoutKey::Peer(ip), now);
        }
    };
    let Some(entry) = catalog.client(&claimed_id).cloned() else {
        record_peer(state);
        return Err(fail("unknown client or bad credentials"));
    };
    info.client = Some(entry.client.id.clone());
    let client_key = LockoutKey::Client(claimed_id);
    if let Some(retry_after) = state.lockout.locked_for(&client_key, now) {
        return Err(OAuthError::TooManyAttempts { retry_after });
    }
    let method = info.method.unwrap_or_default();
    let verdict = if entry.client.auth_method != method {
        Err(fail(
            "client is not registered for this authentication method",
        ))
    } else {
        match &credential {
            Credential::Basic { secret, .. } | Credential::Post { secret, .. } => {
                if secret_matches(&entry, secret, now) {
                    Ok(())
                } else {
                    Err(fail("unknown client or bad credentials"))
                }
            }
            Credential::Assertion { assertion } => assertion::verify(state, &entry, assertion, now)
                .await
                .map_err(|e| {
                    tracing::debug!(client = %entry.client.id, error = %e, "client assertion rejected");
                    fail(e.public_message())
                }),
        }
    };
    match verdict {
        Ok(()) => Ok(Authenticated { entry, method }),
        Err(e) => {
            record_peer(state);
            state.lockout.record_failure(client_key, now);
            Err(e)
        }
    }
}

fn presented_credential(
    headers: &HeaderMap,
    form: &Form,
    basic_used: bool,
) -> Result<Credential, OAuthError> {
    let post = form.get("client_secret");
    let assertion = form.get("client_assertion");
    let assertion_type = form.get("client_assertion_type");
    let count = usize::from(basic_used)
        + usize::from(post.is_some())
        + usize::from(assertion.is_some() || assertion_type.is_some());
    if count > 1 {
        return Err(OAuthError::invalid_request(
            "use exactly one client authentication method",
        ));
    }
    if basic_used {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (id, secret) = parse_basic(value).ok_or(OAuthError::InvalidClient {
            basic: true,
            description: "malformed or unsupported Authorization header (expected Basic)",
        })?;
        return Ok(Credential::Basic { id, secret });
    }
    if let Some(secret) = post {
        let id = form.get("client_id").ok_or(OAuthError::InvalidClient {
            basic: false,
            description: "client_secret requires client_id",
        })?;
        return Ok(Credential::Post {
            id: id.to_owned(),
            secret: secret.to_owned(),
        });
    }
    if assertion.is_some() || assertion_type.is_some() {
        if assertion_type != Some(JWT_BEARER_ASSERTION) {
            return Err(OAuthError::InvalidClient {
                basic: false,
                description: "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            });
        }
        let assertion = assertion.ok_or(OAuthError::InvalidClient {
            basic: false,
            description: "client_assertion is missing",
        })?;
        return Ok(Credential::Assertion {
            assertion: assertion.to_owned(),
        });
    }
    Err(OAuthError::InvalidClient {
        basic: false,
        description: "client authentication required",
    })
}

/// Parses `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
pub fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let id = crate::form::decode(id.as_bytes()).ok()?;
    let secret = crate::form::decode(secret.as_bytes()).ok()?;
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

/// Whether `presented` matches one of the client's secrets valid at `now` (constant time).
pub fn secret_matches(entry: &ClientEntry, presented: &str, now: UnixTime) -> bool {
    let d = secret::digest(presented);
    entry
        .secrets
        .iter()
        .filter(|s| s.is_valid_at(now))
        .fold(false, |ok, s| secret::digest_eq(&d, &s.digest) | ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("app%3A1:s%2Bx+y")
        );
        assert_eq!(parse_basic(&v), Some(("app:1".into(), "s+x y".into())));
    }

    #[test]
    fn malformed_basic_is_rejected() {
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Bearer abc"), None);
        let no_colon = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("abc")
        );
        assert_eq!(parse_basic(&no_colon), None);
    }
}
