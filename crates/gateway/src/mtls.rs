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
use std::time::Duration;

use gatehouse_core::UnixTime;
use parking_lot::RwLock;
use rustls::pki_types::{CertificateDer, TrustAnchor};

/// Most cached verifications per API; past this the cache starts afresh.
const MAX_CACHED: usize = 10_000;

/// What a verified client certificate says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertIdentity {
    /// SHA-256 of the end-entity certificate (DER).
    pub thumbprint: [u8; 32],
    /// Subject distinguished name as x509-parser prints it: RDNs in DER order, `, `-separated
    /// (e.g. `C=US, O=Example, CN=billing`).
    pub subject: String,
    /// DNS names in the subject alternative name.
    pub san_dns: Vec<String>,
    /// URIs in the subject alternative name (SPIFFE IDs).
    pub san_uris: Vec<String>,
    /// Start of validity (seconds since the epoch).
    pub not_before: i64,
    /// End of validity (seconds since the epoch).
    pub not_after: i64,
}

/// One way to recognise an application's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertMatch {
    /// The subject DN, exactly (x509-parser's form, see [`CertIdentity::subject`]).
    Subject(String),
    /// A SAN DNS name (case-insensitive).
    SanDns(String),
    /// A SAN URI, exactly.
    SanUri(String),
    /// The SHA-256 thumbprint of the end-entity certificate.
    Thumbprint([u8; 32]),
}

/// An API's client-certificate rules (validated config).
pub struct MtlsRules {
    anchors: Vec<TrustAnchor<'static>>,
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
    /// Trusted, but not on the API's allow-lists.
    #[error("certificate not allowed for this API")]
    NotAllowed,
    /// Trusted and allowed, but no application is mapped to it.
    #[error("certificate maps to no application")]
    Unmapped,
}

// === impl CertMatch ===

impl CertMatch {
    /// Whether `id` matches.
    pub fn matches(&self, id: &CertIdentity) -> bool {
        match self {
            Self::Subject(s) => id.subject == *s,
            Self::SanDns(d) => id.san_dns.iter().any(|n| n.eq_ignore_ascii_case(d)),
            Self::SanUri(u) => id.san_uris.iter().any(|n| n == u),
            Self::Thumbprint(t) => gatehouse_keys::secret::digest_eq(&id.thumbprint, t),
        }
    }
}

// === impl MtlsRules ===

impl MtlsRules {
    /// Rules trusting the CA certificates in `roots` (DER).
    pub fn new(roots: &[CertificateDer<'static>]) -> Result<Self, String> {
        let anchors = roots
            .iter()
            .map(|der| {
                webpki::anchor_from_trusted_cert(der)
                    .map(|a| a.to_owned())
                    .map_err(|e| format!("not a usable CA certificate: {e:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if anchors.is_empty() {
            return Err("no CA certificate".into());
        }
        Ok(Self {
            anchors,
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
        let (end_entity, intermediates) = chain.split_first().ok_or(CertError::Untrusted)?;
        let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| CertError::Untrusted)?;
        let secs = u64::try_from(now.0).map_err(|_| CertError::Untrusted)?;
        let time = rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(secs));
        let algs = rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .all;
        cert.verify_for_usage(
            algs,
            &self.anchors,
            intermediates,
            time,
            webpki::KeyUsage::client_auth(),
            None,
            None,
        )
        .map_err(|_| CertError::Untrusted)?;
        identity_of(end_entity).ok_or(CertError::Untrusted)
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
            .field("anchors", &self.anchors.len())
            .field("allowed", &self.allowed)
            .field("trust_domain", &self.trust_domain)
            .field("identities", &self.identities)
            .finish_non_exhaustive()
    }
}

/// Subject, SANs, thumbprint and expiry of a certificate (already verified).
pub fn identity_of(der: &CertificateDer<'_>) -> Option<CertIdentity> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let mut san_dns = Vec::new();
    let mut san_uris = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => san_dns.push((*d).to_owned()),
                GeneralName::URI(u) => san_uris.push((*u).to_owned()),
                _ => {}
            }
        }
    }
    Some(CertIdentity {
        thumbprint: sha256(der.as_ref()),
        subject: cert.subject().to_string(),
        san_dns,
        san_uris,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn chain_digest(chain: &[CertificateDer<'_>]) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for c in chain {
        ctx.update(&u64::try_from(c.len()).unwrap_or(0).to_be_bytes());
        ctx.update(c.as_ref());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Parses a thumbprint written as 64 hex digits (colons allowed, any case).
pub fn parse_thumbprint(s: &str) -> Option<[u8; 32]> {
    let hex: String = s.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests;
