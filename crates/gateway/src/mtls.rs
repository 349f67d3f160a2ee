//! Client certificates at the gateway (mTLS).
//!
//! The listener asks for a certificate at the handshake and only checks that the caller holds
//! its key; which CAs are trusted is an API's business, so the chain is verified here, after
//! routing: against the API's CA bundle, for client authentication, at the time of the
//! injected clock. The verified certificate must then pass the API's allow-lists (subject,
//! SAN DNS name, SAN URI, SHA-256 thumbprint) and map to an application: by its SPIFFE ID
//! (`spiffe://<trust_domain>/app/<client_id>`) or by an explicit identity rule.
//!
//! Verifications are cached by the digest of the presented chain until the end-entity
//! certificate expires, so a caller on keep-alive or TLS resumption pays one hash per request.

use std::collections::HashMap;
use std::sync::Arc;

use gatehouse_ca::{ChainVerifier, Usage, chain_digest};
use gatehouse_core::UnixTime;
use parking_lot::RwLock;
use rustls::pki_types::CertificateDer;

pub use gatehouse_ca::{CertIdentity, CertMatch, identity_of, parse_thumbprint};

/// Most cached verifications per API; past this the cache starts afresh.
const MAX_CACHED: usize = 10_000;

/// An API's client-certificate rules (validated config).
pub struct MtlsRules {
    verifier: ChainVerifier,
    /// Certificates must match one of these (when any is set).
    pub allowed: Vec<CertMatch>,
    /// Maps `spiffe://<trust_domain>/app/<client_id>` to `client_id`.
    pub trust_domain: Option<String>,
    /// Explicit mappings to applications, tried in order.
    pub identities: Vec<(CertMatch, String)>,
    cache: RwLock<HashMap<[u8; 32], Arc<CertIdentity>>>,
}

/// Why a certificate is refused (not told to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// Not X.509, not issued by a trusted CA, expired, not yet valid, or not for client auth.
    #[error("certificate chain not trusted")]
    Untrusted,
    /// Trusted, but its serial is on the CA's deny-list.
    #[error("certificate revoked")]
    Revoked,
    /// Trusted, but not on the API's allow-lists.
    #[error("certificate not allowed for this API")]
    NotAllowed,
    /// Trusted and allowed, but no application is mapped to it.
    #[error("certificate maps to no application")]
    Unmapped,
}

// === impl MtlsRules ===

impl MtlsRules {
    /// Rules trusting the CA certificates in `roots` (DER).
    pub fn new(roots: &[CertificateDer<'static>]) -> Result<Self, String> {
        let verifier = ChainVerifier::new(roots).map_err(|e| e.to_string())?;
        Ok(Self {
            verifier,
            allowed: Vec::new(),
            trust_domain: None,
            identities: Vec::new(),
            cache: RwLock::new(HashMap::new()),
        })
    }

    /// Verifies `chain` (end-entity first) at `now` and returns its identity, cached.
    pub fn verify(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<Arc<CertIdentity>, CertError> {
        let key = chain_digest(chain);
        if let Some(id) = self.cache.read().get(&key)
            && id.not_before <= now.0
            && now.0 < id.not_after
        {
            return Ok(Arc::clone(id));
        }
        let id = Arc::new(self.verify_uncached(chain, now)?);
        let mut cache = self.cache.write();
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, id| id.not_after > now.0);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, Arc::clone(&id));
        Ok(id)
    }

    fn verify_uncached(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<CertIdentity, CertError> {
        self.verifier
            .verify(chain, now, Usage::Client)
            .map_err(|_| CertError::Untrusted)
    }

    /// The application `id` maps to, after the allow-lists.
    pub fn client_for(&self, id: &CertIdentity) -> Result<String, CertError> {
        if !self.allowed.is_empty() && !self.allowed.iter().any(|m| m.matches(id)) {
            return Err(CertError::NotAllowed);
        }
        if let Some(td) = &self.trust_domain {
            let prefix = format!("spiffe://{td}/app/");
            if let Some(client) = id
                .san_uris
                .iter()
                .find_map(|u| u.strip_prefix(prefix.as_str()))
                .filter(|c| !c.is_empty() && !c.contains('/'))
            {
                return Ok(client.to_owned());
            }
        }
        self.identities
            .iter()
            .find(|(m, _)| m.matches(id))
            .map(|(_, client)| client.clone())
            .ok_or(CertError::Unmapped)
    }
}

impl std::fmt::Debug for MtlsRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MtlsRules")
            .field("verifier", &self.verifier)
            .field("allowed", &self.allowed)
            .field("trust_domain", &self.trust_domain)
            .field("identities", &self.identities)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
