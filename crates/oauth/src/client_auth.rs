//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt` (RFC 6749 §2.3, RFC 7523),
//! `tls_client_auth` and `self_signed_tls_client_auth` (RFC 8705 §2: the client sends its
//! `client_id` and presents its certificate at the TLS handshake).
//!
//! A client may use only its registered method, exactly one method per request. Every failure is
//! `invalid_client` (401) and is counted per client id and per source address for the lockout.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, header};
use base64::Engine;
use gatehouse_core::{AuthMethod, ClientId, UnixTime};
use gatehouse_keys::secret;
use gatehouse_net::PeerCertificates;
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
    /// `x5t#S256` of the certificate the client presented at the handshake, if any (the
    /// connection proved possession of its key; only mTLS methods also verified it).
    pub certificate_thumbprint: Option<String>,
}

impl Authenticated {
    /// The thumbprint tokens must be bound to (`cnf.x5t#S256`): the presented certificate's
    /// when the client authenticated with it or registered for bound tokens.
    pub fn binding(&self) -> Option<&str> {
        let bind = self.method.uses_certificate() || self.entry.client.tls.bound_tokens;
        self.certificate_thumbprint.as_deref().filter(|_| bind)
    }
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
    Certificate { id: String },
}

/// Authenticates the caller of an OAuth endpoint.
pub async fn authenticate(
    state: &OAuthState,
    catalog: &Catalog,
    headers: &HeaderMap,
    form: &Form,
    peer: Option<IpAddr>,
    certificates: Option<&PeerCertificates>,
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
    let credential = presented_credential(headers, form, basic_used, certificates.is_some())?;
    info.method = Some(match &credential {
        Credential::Basic { .. } => AuthMethod::ClientSecretBasic,
        Credential::Post { .. } => AuthMethod::ClientSecretPost,
        Credential::Assertion { .. } => AuthMethod::PrivateKeyJwt,
        Credential::Certificate { .. } => AuthMethod::TlsClientAuth,
    });
    let claimed_id = match &credential {
        Credential::Basic { id, .. }
        | Credential::Post { id, .. }
        | Credential::Certificate { id } => id.clone(),
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
    let mut method = info.method.unwrap_or_default();
    if matches!(credential, Credential::Certificate { .. })
        && entry.client.auth_method.uses_certificate()
    {
        method = entry.client.auth_method;
        info.method = Some(method);
    }
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
            Credential::Certificate { .. } => {
                match certificates.map(|c| certificate_matches(state, catalog, &entry, method, c, now)) {
                    Some(Ok(())) => Ok(()),
                    Some(Err(why)) => {
                        tracing::debug!(client = %entry.client.id, why, "client certificate rejected");
                        Err(fail("client certificate not accepted for this client"))
                    }
                    None => Err(fail("client certificate required")),
                }
            }
        }
    };
    let certificate_thumbprint = certificates.map(|c| gatehouse_ca::x5t_s256(c.end_entity()));
    match verdict {
        Ok(()) => Ok(Authenticated {
            entry,
            method,
            certificate_thumbprint,
        }),
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
    certificate_presented: bool,
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
    if certificate_presented && let Some(id) = form.get("client_id") {
        return Ok(Credential::Certificate { id: id.to_owned() });
    }
    Err(OAuthError::InvalidClient {
        basic: false,
        description: "client authentication required",
    })
}

/// RFC 8705 checks of the presented chain for a client registered with an mTLS method.
/// `Err` carries the reason for the debug log (the client only learns `invalid_client`).
fn certificate_matches(
    state: &OAuthState,
    catalog: &Catalog,
    entry: &ClientEntry,
    method: AuthMethod,
    certs: &PeerCertificates,
    now: UnixTime,
) -> Result<(), &'static str> {
    let tls = &entry.client.tls;
    match method {
        AuthMethod::TlsClientAuth => {
            let verifier = state
                .mtls
                .trusted
                .as_ref()
                .ok_or("no trusted CA configured")?;
            let id = verifier
                .verify(certs.chain(), now, gatehouse_ca::Usage::Client)
                .map_err(|_| "chain not trusted, expired or not for client auth")?;
            if catalog.certificate_revoked(&id.serial) {
                return Err("certificate revoked");
            }
            if tls.subject_dn.is_none() && tls.san_uri.is_none() && tls.san_dns.is_none() {
                return Err("no subject or SAN registered");
            }
            let subject_ok = tls.subject_dn.as_ref().is_none_or(|s| *s == id.subject);
            let uri_ok = tls
                .san_uri
                .as_ref()
                .is_none_or(|u| id.san_uris.iter().any(|x| x == u));
            let dns_ok = tls
                .san_dns
                .as_ref()
                .is_none_or(|d| id.san_dns.iter().any(|x| x.eq_ignore_ascii_case(d)));
            (subject_ok && uri_ok && dns_ok)
                .then_some(())
                .ok_or("subject or SAN does not match the registration")
        }
        AuthMethod::SelfSignedTlsClientAuth => {
            let id = gatehouse_ca::identity_of(certs.end_entity()).ok_or("not X.509")?;
            if now.0 < id.not_before || now.0 >= id.not_after {
                return Err("certificate outside its validity period");
            }
            let registered = tls
                .thumbprints
                .iter()
                .filter_map(|t| gatehouse_ca::parse_thumbprint(t));
            registered
                .fold(false, |ok, t| secret::digest_eq(&t, &id.thumbprint) | ok)
                .then_some(())
                .ok_or("certificate thumbprint not registered")
        }
        _ => Err("not an mTLS method"),
    }
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
