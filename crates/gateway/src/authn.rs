//! Bearer token authentication with a verification cache.
//!
//! The signature, `typ`, issuer and claim parsing of a token never change, so their result is
//! cached by the token's SHA-256 until it expires: a reused machine token costs a hash lookup.
//! A cached result holds only for the key ring that verified it: after a rotation or a key
//! revocation swaps the ring, the signature is checked again (a revoked key's tokens fail).
//! Expiry, revocation (`jti` and client cut-off) and the audience are checked on every request.

use std::collections::HashMap;
use std::sync::Arc;

use gatehouse_core::UnixTime;
use gatehouse_keys::JwsVerify;
use gatehouse_oauth::verify::{AccessToken, TokenError, check_live, verify_signed};
use gatehouse_store::Catalog;
use parking_lot::RwLock;

use crate::source::{ControlPlane, View};

/// Most cached tokens; past this, expired entries are dropped (or all, if none expired).
const MAX_CACHED: usize = 100_000;

/// Verified tokens by digest, each with the key ring that verified it.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: RwLock<HashMap<[u8; 32], Verified>>,
}

/// A verified token and the keys that verified it.
type Verified = (Arc<dyn JwsVerify>, Arc<AccessToken>);

impl TokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of cached tokens.
    pub fn len(&self) -> usize {
        self.entries.read().len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Authenticates `token` for an API with `audience` at `now`, against `view`. A token
    /// naming a key `view` does not know is reported to `control` (which may refresh its keys).
    pub fn authenticate(
        &self,
        token: &str,
        audience: &str,
        view: &View,
        control: &dyn ControlPlane,
        now: UnixTime,
    ) -> Result<Arc<AccessToken>, Rejected> {
        let digest = gatehouse_keys::secret::digest(token);
        let keys = &view.keys;
        let cached = self
            .entries
            .read()
            .get(&digest)
            .filter(|(verified_by, _)| {
                std::ptr::addr_eq(Arc::as_ptr(verified_by), Arc::as_ptr(keys))
            })
            .map(|(_, t)| Arc::clone(t));
        let t = match cached {
            Some(t) => t,
            None => {
                let t = match verify_signed(token, keys.as_ref(), &view.issuer) {
                    Ok(t) => Arc::new(t),
                    Err(TokenError::Signature) => {
                        if kid_of(token).is_some_and(|kid| !keys.knows_kid(&kid)) {
                            control.unknown_key();
                        }
                        return Err(Rejected);
                    }
                    Err(_) => return Err(Rejected),
                };
                self.insert(digest, Arc::clone(keys), Arc::clone(&t), now);
                t
            }
        };
        check_live(&t, &view.catalog, now).map_err(|_| Rejected)?;
        if !t.has_audience(audience) {
            return Err(Rejected);
        }
        Ok(t)
    }

    fn insert(
        &self,
        digest: [u8; 32],
        keys: Arc<dyn JwsVerify>,
        t: Arc<AccessToken>,
        now: UnixTime,
    ) {
        let mut entries = self.entries.write();
        if entries.len() >= MAX_CACHED {
            entries.retain(|_, (_, t)| t.exp > now.0);
            if entries.len() >= MAX_CACHED {
                entries.clear();
            }
        }
        entries.insert(digest, (keys, t));
    }
}

/// Whether a token's confirmation (`cnf`, RFC 7800) holds on this connection. A token without
/// `cnf` is a plain bearer token. The only binding the gateway can enforce is RFC 8705's
/// `x5t#S256`: the SHA-256 (base64url) of the client certificate presented on this connection
/// must equal it. Any other confirmation method (e.g. DPoP's `jkt`), or a `cnf` the gateway
/// cannot check, means reject: a bound token must never be usable as a bearer token.
pub fn binding_holds(
    t: &AccessToken,
    client_cert: Option<&[rustls::pki_types::CertificateDer<'static>]>,
) -> bool {
    let Some(cnf) = t.claims.get("cnf") else {
        return true;
    };
    let Some(members) = cnf.as_object() else {
        return false;
    };
    let (Some(want), 1) = (
        members.get("x5t#S256").and_then(serde_json::Value::as_str),
        members.len(),
    ) else {
        return false;
    };
    let Some(end_entity) = client_cert.and_then(<[_]>::first) else {
        return false;
    };
    gatehouse_ca::x5t_s256(end_entity) == want
}

/// The `kid` in a compact JWS header, if it has one (the header is not trusted: this only
/// decides whether to refresh keys).
fn kid_of(token: &str) -> Option<String> {
    use base64::Engine as _;
    let header = token.split('.').next()?;
    if header.len() > 2048 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("kid")?.as_str().map(str::to_owned)
}

/// A credential that does not authenticate (the reason is not told to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected;

/// The token of an `Authorization: Bearer` header; `Err` when another scheme or a malformed
/// value was sent (that is an invalid credential, not a missing one).
pub fn bearer(headers: &http::HeaderMap) -> Result<Option<&str>, Rejected> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| Rejected)?;
    gatehouse_oauth::admin_auth::bearer_token(value)
        .map(Some)
        .ok_or(Rejected)
}

/// Authenticates an API key: found by digest, not revoked, not expired. Returns the key's
/// application.
pub fn api_key<'c>(
    key: &str,
    catalog: &'c Catalog,
    now: UnixTime,
) -> Result<&'c Arc<gatehouse_store::ClientEntry>, Rejected> {
    let digest = gatehouse_keys::secret::digest(key);
    let (record, entry) = catalog.api_key(&digest).ok_or(Rejected)?;
    if record.is_valid_at(now) {
        Ok(entry)
    } else {
        Err(Rejected)
    }
}
