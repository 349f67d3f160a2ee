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
use gatehouse_keys::KeyRing;
use gatehouse_oauth::verify::{AccessToken, check_live, verify_signed};
use gatehouse_store::Catalog;
use parking_lot::RwLock;

/// Most cached tokens; past this, expired entries are dropped (or all, if none expired).
const MAX_CACHED: usize = 100_000;

/// Verified tokens by digest, each with the key ring that verified it.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: RwLock<HashMap<[u8; 32], Verified>>,
}

/// A verified token and the key ring that verified it.
type Verified = (Arc<KeyRing>, Arc<AccessToken>);

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

    /// Authenticates `token` for an API with `audience` at `now`.
    pub fn authenticate(
        &self,
        token: &str,
        audience: &str,
        ring: &Arc<KeyRing>,
        catalog: &Catalog,
        issuer: &str,
        now: UnixTime,
    ) -> Result<Arc<AccessToken>, Rejected> {
        let digest = gatehouse_keys::secret::digest(token);
        let cached = self
            .entries
            .read()
            .get(&digest)
            .filter(|(verified_by, _)| Arc::ptr_eq(verified_by, ring))
            .map(|(_, t)| Arc::clone(t));
        let t = match cached {
            Some(t) => t,
            None => {
                let t = Arc::new(verify_signed(token, ring, issuer).map_err(|_| Rejected)?);
                self.insert(digest, Arc::clone(ring), Arc::clone(&t), now);
                t
            }
        };
        check_live(&t, catalog, now).map_err(|_| Rejected)?;
        if !t.has_audience(audience) {
            return Err(Rejected);
        }
        Ok(t)
    }

    fn insert(&self, digest: [u8; 32], ring: Arc<KeyRing>, t: Arc<AccessToken>, now: UnixTime) {
        let mut entries = self.entries.write();
        if entries.len() >= MAX_CACHED {
            entries.retain(|_, (_, t)| t.exp > now.0);
            if entries.len() >= MAX_CACHED {
                entries.clear();
            }
        }
        entries.insert(digest, (ring, t));
    }
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
