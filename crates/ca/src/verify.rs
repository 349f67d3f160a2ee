//! Verifying a presented certificate chain against trust anchors at the time of an injected
//! clock (never the system time, so tests can move it), and reading what a verified
//! certificate says: subject, SANs, serial, SHA-256 thumbprint, validity.
//!
//! Used by every listener that accepts client certificates: the gateway (per API), the token
//! endpoint (`tls_client_auth`) and the CA's renewal endpoint.

use std::time::Duration;

use gatehouse_core::UnixTime;
use rustls::pki_types::{CertificateDer, TrustAnchor};

use crate::CaError;
use crate::authority::hex;

/// What a certificate says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertIdentity {
    /// SHA-256 of the end-entity certificate (DER).
    pub thumbprint: [u8; 32],
    /// Serial number, lowercase hex of its DER content octets.
    pub serial: String,
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

/// One way to recognise a certificate.
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

/// What the certificate must be good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// TLS client authentication (EKU clientAuth, or no EKU).
    Client,
    /// TLS server authentication (EKU serverAuth, or no EKU).
    Server,
}

/// Why a chain is refused. Deliberately coarse: the caller learns nothing about which check
/// failed (the server logs the detail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("certificate not trusted: {0}")]
pub struct Untrusted(pub String);

/// Trust anchors plus the verification routine.
#[derive(Clone)]
pub struct ChainVerifier {
    anchors: Vec<TrustAnchor<'static>>,
}

impl std::fmt::Debug for ChainVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainVerifier")
            .field("anchors", &self.anchors.len())
            .finish()
    }
}

// === impl ChainVerifier ===

impl ChainVerifier {
    /// Trusts the CA certificates in `roots` (DER; at least one).
    pub fn new(roots: &[CertificateDer<'_>]) -> Result<Self, CaError> {
        let anchors = roots
            .iter()
            .map(|der| {
                webpki::anchor_from_trusted_cert(der)
                    .map(|a| a.to_owned())
                    .map_err(|e| {
                        CaError::BadAuthority(format!("not a usable CA certificate: {e:?}"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if anchors.is_empty() {
            return Err(CaError::BadAuthority("no CA certificate".into()));
        }
        Ok(Self { anchors })
    }

    /// Verifies `chain` (end-entity first, then intermediates) for `usage` at `now`.
    pub fn verify(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
        usage: Usage,
    ) -> Result<CertIdentity, Untrusted> {
        let (end_entity, intermediates) = chain
            .split_first()
            .ok_or_else(|| Untrusted("no certificate".into()))?;
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|e| Untrusted(format!("not X.509: {e:?}")))?;
        let secs = u64::try_from(now.0).map_err(|_| Untrusted("clock before 1970".into()))?;
        let time = rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(secs));
        let algs = rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .all;
        let usage = match usage {
            Usage::Client => webpki::KeyUsage::client_auth(),
            Usage::Server => webpki::KeyUsage::server_auth(),
        };
        cert.verify_for_usage(algs, &self.anchors, intermediates, time, usage, None, None)
            .map_err(|e| Untrusted(format!("{e:?}")))?;
        identity_of(end_entity).ok_or_else(|| Untrusted("unreadable certificate".into()))
    }
}

// === impl CertMatch ===

impl CertMatch {
    /// Whether `id` matches.
    pub fn matches(&self, id: &CertIdentity) -> bool {
        match self {
            Self::Subject(s) => id.subject == *s,
            Self::SanDns(d) => id.san_dns.iter().any(|n| n.eq_ignore_ascii_case(d)),
            Self::SanUri(u) => id.san_uris.iter().any(|n| n == u),
            Self::Thumbprint(t) => constant_time_eq(&id.thumbprint, t),
        }
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Subject, SANs, serial, thumbprint and validity of a certificate (not verified here).
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
        serial: hex(cert.raw_serial()),
        subject: cert.subject().to_string(),
        san_dns,
        san_uris,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 over a whole chain (length-prefixed), a cache key for verifications.
pub fn chain_digest(chain: &[CertificateDer<'_>]) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for c in chain {
        ctx.update(&u64::try_from(c.len()).unwrap_or(0).to_be_bytes());
        ctx.update(c.as_ref());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Parses a thumbprint written as 64 hex digits (colons allowed, any case) or as unpadded
/// base64url of 32 bytes (the `x5t#S256` form).
pub fn parse_thumbprint(s: &str) -> Option<[u8; 32]> {
    use base64::Engine as _;
    let hex: String = s.chars().filter(|c| *c != ':').collect();
    if hex.len() == 64 {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        return Some(out);
    }
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()?;
    raw.try_into().ok()
}

/// The `x5t#S256` value of a certificate: unpadded base64url of its SHA-256 (RFC 8705 §3.1).
pub fn x5t_s256(der: &CertificateDer<'_>) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256(der.as_ref()))
}
