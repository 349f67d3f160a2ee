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

/// The built-in CA as a gateway sees it: its verifier and trust domain (from this process's
/// CA, or synced from the control plane).
#[derive(Debug)]
pub struct BuiltInCa {
    /// Trusts the CA's root.
    pub verifier: ChainVerifier,
    /// The trust domain of the SPIFFE IDs it issues.
    pub trust_domain: String,
}

/// An API's client-certificate rules (validated config).
pub struct MtlsRules {
    /// The API's own CAs; `None`: the built-in CA.
    verifier: Option<ChainVerifier>,
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
        Ok(Self::with(Some(verifier)))
    }

    /// Rules trusting the built-in CA (given at verification time) and mapping its SPIFFE
    /// IDs unless a `trust_domain` or identities are set.
    pub fn built_in() -> Self {
        Self::with(None)
    }

    /// Whether these rules trust the built-in CA.
    pub fn uses_built_in(&self) -> bool {
        self.verifier.is_none()
    }

    fn with(verifier: Option<ChainVerifier>) -> Self {
        Self {
            verifier,
            allowed: Vec::new(),
            trust_domain: None,
            identities: Vec::new(),
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// Verifies `chain` (end-entity first) at `now` against the API's own CAs.
    pub fn verify(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<Arc<CertIdentity>, CertError> {
        self.verify_with(chain, None, now, None)
    }

    /// Verifies `chain` (end-entity first) at `now` and returns its identity, cached by
    /// `digest` (the chain's [`chain_digest`], computed here when `None`); rules without CAs
    /// of their own use `built_in` (none: nothing is trusted).
    pub fn verify_with(
        &self,
        chain: &[CertificateDer<'_>],
        digest: Option<&[u8; 32]>,
        now: UnixTime,
        built_in: Option<&BuiltInCa>,
    ) -> Result<Arc<CertIdentity>, CertError> {
        let key = digest.copied().unwrap_or_else(|| chain_digest(chain));
        if let Some(id) = self.cache.read().get(&key)
            && id.not_before <= now.0
            && now.0 < id.not_after
        {
            return Ok(Arc::clone(id));
        }
        let verifier = match (&self.verifier, built_in) {
            (Some(v), _) => v,
            (None, Some(ca)) => &ca.verifier,
            (None, None) => return Err(CertError::Untrusted),
        };
        let id = Arc::new(
            verifier
                .verify(chain, now, Usage::Client)
                .map_err(|_| CertError::Untrusted)?,
        );
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

    /// The application `id` maps to, after the allow-lists.
    pub fn client_for(&self, id: &CertIdentity) -> Result<String, CertError> {
        self.client_for_with(id, None)
    }

    /// [`client_for`](Self::client_for); rules on the built-in CA without a trust domain or
    /// identities of their own map the built-in CA's SPIFFE IDs.
    pub fn client_for_with(
        &self,
        id: &CertIdentity,
        built_in: Option<&BuiltInCa>,
    ) -> Result<String, CertError> {
        if !self.allowed.is_empty() && !self.allowed.iter().any(|m| m.matches(id)) {
            return Err(CertError::NotAllowed);
        }
        let trust_domain = match (&self.trust_domain, built_in) {
            (Some(td), _) => Some(td.as_str()),
            (None, Some(ca)) if self.uses_built_in() && self.identities.is_empty() => {
                Some(ca.trust_domain.as_str())
            }
            (None, _) => None,
        };
        if let Some(td) = trust_domain {
            // No allocation per request: strip the three parts of the prefix in turn.
            if let Some(client) = id
                .san_uris
                .iter()
                .find_map(|u| {
                    u.strip_prefix("spiffe://")?
                        .strip_prefix(td)?
                        .strip_prefix("/app/")
                })
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
