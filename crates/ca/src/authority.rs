//! The certificate authority: a root (optionally with an intermediate) that signs short-lived
//! SPIFFE X.509-SVIDs for applications.
//!
//! ```text
//! generate(td) ─► root CA (P-256, 10 y) [─► intermediate (5 y), root key discarded]
//! import(chain PEM, key PEM) ─► any CA: signing certificate first, root last
//!                │
//!                ▼ Authority::sign_csr / issue_with_new_key
//! leaf: URI SAN spiffe://<td>/app/<client_id>, DNS SANs the app registered, cA=false,
//!       critical keyUsage digitalSignature, EKU clientAuth + serverAuth, ≤ max lifetime,
//!       never past the signing CA's own expiry
//! ```
//!
//! The CA's private key only leaves this type as PKCS#8 inside [`StoredAuthority`], which the
//! caller encrypts before it is written anywhere.

use std::time::Duration;

use gatehouse_core::UnixTime;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use crate::csr::VerifiedCsr;
use crate::verify::ChainVerifier;
use crate::{CaError, TrustDomain};

/// Root validity when generated.
const ROOT_LIFETIME: Duration = Duration::from_secs(10 * 365 * 86_400);
/// Intermediate validity when generated.
const INTERMEDIATE_LIFETIME: Duration = Duration::from_secs(5 * 365 * 86_400);
/// Leaves start this long before issuance, for clocks slightly behind ours.
const BACKDATE: Duration = Duration::from_secs(60);
/// Shortest leaf lifetime we issue.
pub const MIN_LIFETIME: Duration = Duration::from_secs(60);
/// Longest DNS name (RFC 1035).
const MAX_DNS_NAME: usize = 253;

/// How long leaves live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifetimePolicy {
    /// When the request names none.
    pub default: Duration,
    /// Requests above this are capped to it.
    pub max: Duration,
}

impl Default for LifetimePolicy {
    fn default() -> Self {
        Self {
            default: Duration::from_secs(24 * 3600),
            max: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// What a store keeps of an authority: the chain in PEM (signing certificate first, root
/// last) and the signing key as PKCS#8 DER, to be encrypted by the caller.
pub struct StoredAuthority {
    /// PEM certificates, signing CA first.
    pub chain_pem: String,
    /// PKCS#8 DER of the signing key (zeroized on drop).
    pub key_pkcs8: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for StoredAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredAuthority")
            .field("chain_pem", &self.chain_pem)
            .field("key_pkcs8", &"<redacted>")
            .finish()
    }
}

/// What to put in a leaf.
#[derive(Debug, Clone, Copy)]
pub struct LeafRequest<'a> {
    /// The application (OAuth client id); becomes the SPIFFE ID's last segment and the CN.
    pub client_id: &'a str,
    /// DNS names to include; each must be in `allowed_dns`.
    pub dns_names: &'a [String],
    /// DNS names the application has registered (exact, case-insensitive; `*.x` only as is).
    pub allowed_dns: &'a [String],
    /// Requested lifetime (`None`: the policy default).
    pub lifetime: Option<Duration>,
}

/// A freshly issued leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// Serial number, lowercase hex (32 digits).
    pub serial: String,
    /// The SPIFFE ID in the URI SAN.
    pub spiffe_id: String,
    /// DNS SANs, lowercased.
    pub dns_names: Vec<String>,
    /// Start of validity.
    pub not_before: UnixTime,
    /// End of validity.
    pub not_after: UnixTime,
    /// The leaf, DER.
    pub der: CertificateDer<'static>,
    /// The leaf, PEM.
    pub cert_pem: String,
    /// Leaf then intermediates, PEM (what a TLS peer presents).
    pub chain_pem: String,
}

/// A loaded certificate authority.
pub struct Authority {
    trust_domain: TrustDomain,
    issuer: Issuer<'static, KeyPair>,
    /// Certificates a leaf's chain carries after the leaf: the signing CA when it is not the
    /// root, and any CA between it and the root.
    intermediates: Vec<CertificateDer<'static>>,
    /// The trust anchor: the last certificate of the chain.
    root: CertificateDer<'static>,
    signing_not_after: i64,
    policy: LifetimePolicy,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("trust_domain", &self.trust_domain)
            .field("intermediates", &self.intermediates.len())
            .field("signing_not_after", &self.signing_not_after)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

// === impl Authority ===

impl Authority {
    /// Creates a new root CA for `trust_domain` (ECDSA P-256), or a root that signs an
    /// intermediate whose key then signs leaves (the root key is discarded: it never touches
    /// disk).
    pub fn generate(
        trust_domain: TrustDomain,
        intermediate: bool,
        policy: LifetimePolicy,
        now: UnixTime,
    ) -> Result<(Self, StoredAuthority), CaError> {
        let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let path_len = if intermediate { 1 } else { 0 };
        let root_params = ca_params(
            &trust_domain,
            "Gatehouse Root CA",
            path_len,
            now,
            ROOT_LIFETIME,
        )?;
        let root_cert = root_params.self_signed(&root_key)?;
        let (chain, signing_key) = if intermediate {
            let int_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
            let int_params = ca_params(
                &trust_domain,
                "Gatehouse Intermediate CA",
                0,
                now,
                INTERMEDIATE_LIFETIME,
            )?;
            let root_issuer = Issuer::new(root_params, root_key);
            let int_cert = int_params.signed_by(&int_key, &root_issuer)?;
            (
                vec![int_cert.der().clone(), root_cert.der().clone()],
                int_key,
            )
        } else {
            (vec![root_cert.der().clone()], root_key)
        };
        let stored = StoredAuthority {
            chain_pem: pem_certificates(&chain),
            key_pkcs8: Zeroizing::new(signing_key.serialize_der()),
        };
        let authority = Self::assemble(trust_domain, chain, signing_key, policy)?;
        Ok((authority, stored))
    }

    /// Loads an authority from PEM: the chain (signing CA first, then up to its root; a
    /// chain of one is fine) and the signing CA's private key (PKCS#8, PKCS#1 or SEC1).
    pub fn import(
        trust_domain: TrustDomain,
        chain_pem: &str,
        key_pem: &str,
        policy: LifetimePolicy,
    ) -> Result<(Self, StoredAuthority), CaError> {
        let key_der = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| CaError::malformed("private key", e))?;
        let key = KeyPair::try_from(&key_der)
            .map_err(|e| CaError::BadAuthority(format!("unusable private key: {e}")))?;
        let chain = parse_pem_certificates(chain_pem)?;
        let stored = StoredAuthority {
            chain_pem: pem_certificates(&chain),
            key_pkcs8: Zeroizing::new(key.serialize_der()),
        };
        Ok((Self::assemble(trust_domain, chain, key, policy)?, stored))
    }

    /// Loads what [`generate`](Self::generate) or [`import`](Self::import) stored.
    pub fn from_stored(
        trust_domain: TrustDomain,
        stored: &StoredAuthority,
        policy: LifetimePolicy,
    ) -> Result<Self, CaError> {
        let key = KeyPair::try_from(stored.key_pkcs8.as_slice())
            .map_err(|e| CaError::BadAuthority(format!("unusable stored key: {e}")))?;
        let chain = parse_pem_certificates(&stored.chain_pem)?;
        Self::assemble(trust_domain, chain, key, policy)
    }

    fn assemble(
        trust_domain: TrustDomain,
        chain: Vec<CertificateDer<'static>>,
        key: KeyPair,
        policy: LifetimePolicy,
    ) -> Result<Self, CaError> {
        let (Some(signing), Some(root)) = (chain.first(), chain.last()) else {
            return Err(CaError::BadAuthority("no CA certificate".into()));
        };
        let (_, cert) = x509_parser::parse_x509_certificate(signing.as_ref())
            .map_err(|e| CaError::malformed("certificate", e))?;
        if !cert.is_ca() {
            return Err(CaError::BadAuthority(
                "the first certificate is not a CA (basicConstraints cA=false or missing)".into(),
            ));
        }
        if let Ok(Some(ku)) = cert.key_usage()
            && !ku.value.key_cert_sign()
        {
            return Err(CaError::BadAuthority(
                "the CA certificate's key usage does not allow keyCertSign".into(),
            ));
        }
        if cert.public_key().raw != key.subject_public_key_info().as_slice() {
            return Err(CaError::BadAuthority(
                "the private key does not belong to the first certificate".into(),
            ));
        }
        let signing_not_after = cert.validity().not_after.timestamp();
        let issuer = Issuer::from_ca_cert_der(signing, key)
            .map_err(|e| CaError::BadAuthority(format!("cannot sign with this CA: {e}")))?;
        if policy.default > policy.max || policy.max < MIN_LIFETIME {
            return Err(CaError::Invalid(
                "certificate lifetime: default must not exceed max, and max must be at least 1m"
                    .into(),
            ));
        }
        let root = root.clone();
        let mut intermediates = chain;
        intermediates.pop();
        Ok(Self {
            trust_domain,
            issuer,
            intermediates,
            root,
            signing_not_after,
            policy,
        })
    }

    /// The trust domain of the SPIFFE IDs this CA issues.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// The lifetime policy.
    pub fn policy(&self) -> LifetimePolicy {
        self.policy
    }

    /// The trust anchor (the last certificate of the chain: the root).
    pub fn root(&self) -> &CertificateDer<'static> {
        &self.root
    }

    /// The signing CA's expiry (leaves never outlive it).
    pub fn not_after(&self) -> UnixTime {
        UnixTime(self.signing_not_after)
    }

    /// The trust bundle as PEM (the root).
    pub fn bundle_pem(&self) -> String {
        pem_certificates(std::slice::from_ref(self.root()))
    }

    /// A verifier trusting this CA's root.
    pub fn verifier(&self) -> Result<ChainVerifier, CaError> {
        ChainVerifier::new(std::slice::from_ref(self.root()))
    }

    /// Signs `csr` for an application after checking its DNS names against the registered
    /// ones.
    pub fn sign_csr(
        &self,
        csr: &VerifiedCsr,
        client_id: &str,
        allowed_dns: &[String],
        lifetime: Option<Duration>,
        now: UnixTime,
    ) -> Result<IssuedCertificate, CaError> {
        let key = rcgen::SubjectPublicKeyInfo::from_der(&csr.spki_der)
            .map_err(|e| CaError::UnsupportedKey(e.to_string()))?;
        self.issue_for_key(
            &key,
            LeafRequest {
                client_id,
                dns_names: &csr.dns_names,
                allowed_dns,
                lifetime,
            },
            now,
        )
    }

    /// Generates a P-256 key and issues a leaf for it (the admin CLI path). Returns the leaf
    /// and the key as PKCS#8 PEM.
    pub fn issue_with_new_key(
        &self,
        request: LeafRequest<'_>,
        now: UnixTime,
    ) -> Result<(IssuedCertificate, Zeroizing<String>), CaError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let issued = self.issue_for_key(&key, request, now)?;
        Ok((issued, Zeroizing::new(key.serialize_pem())))
    }

    /// Generates a P-256 key and issues a certificate for one of Gatehouse's own services
    /// (`spiffe://<td>/gatehouse/<service>`, e.g. the control plane's TLS listener or a
    /// gateway's upstream identity), with DNS names from the operator's configuration.
    pub fn issue_service_with_new_key(
        &self,
        service: &str,
        dns_names: &[String],
        lifetime: Option<Duration>,
        now: UnixTime,
    ) -> Result<(IssuedCertificate, Zeroizing<String>), CaError> {
        let spiffe_id = self.trust_domain.service_id(service)?;
        let dns = dns_names
            .iter()
            .map(|d| validate_dns_name(d))
            .collect::<Result<Vec<_>, _>>()?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let issued = self.issue(&key, spiffe_id, service, dns, lifetime, now)?;
        Ok((issued, Zeroizing::new(key.serialize_pem())))
    }

    fn issue_for_key(
        &self,
        key: &impl PublicKeyData,
        req: LeafRequest<'_>,
        now: UnixTime,
    ) -> Result<IssuedCertificate, CaError> {
        let spiffe_id = self.trust_domain.app_id(req.client_id)?;
        let dns_names = permitted_dns(req.dns_names, req.allowed_dns)?;
        self.issue(key, spiffe_id, req.client_id, dns_names, req.lifetime, now)
    }

    fn issue(
        &self,
        key: &impl PublicKeyData,
        spiffe_id: String,
        common_name: &str,
        dns_names: Vec<String>,
        lifetime: Option<Duration>,
        now: UnixTime,
    ) -> Result<IssuedCertificate, CaError> {
        let lifetime = lifetime.unwrap_or(self.policy.default);
        if lifetime < MIN_LIFETIME {
            return Err(CaError::Invalid(
                "certificate lifetime must be at least 1m".into(),
            ));
        }
        let lifetime = lifetime.min(self.policy.max);
        let not_before = now.0.saturating_sub(secs(BACKDATE));
        let not_after = now
            .0
            .saturating_add(secs(lifetime))
            .min(self.signing_not_after);
        if not_after <= now.0 {
            return Err(CaError::BadAuthority(
                "the CA certificate has expired".into(),
            ));
        }
        let mut params = CertificateParams::default();
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
        params.not_before = datetime(not_before)?;
        params.not_after = datetime(not_after)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        params.subject_alt_names.push(SanType::URI(
            spiffe_id.as_str().try_into().map_err(CaError::from)?,
        ));
        for d in &dns_names {
            params.subject_alt_names.push(SanType::DnsName(
                d.as_str().try_into().map_err(CaError::from)?,
            ));
        }
        let serial = params
            .serial_number
            .as_ref()
            .map(|s| hex(&s.to_bytes()))
            .unwrap_or_default();
        let cert = params.signed_by(key, &self.issuer)?;
        let der = cert.der().clone();
        let mut chain = vec![der.clone()];
        chain.extend(self.intermediates.iter().cloned());
        Ok(IssuedCertificate {
            serial,
            spiffe_id,
            dns_names,
            not_before: UnixTime(not_before),
            not_after: UnixTime(not_after),
            cert_pem: cert.pem(),
            chain_pem: pem_certificates(&chain),
            der,
        })
    }
}

/// Whether a certificate valid from `not_before` to `not_after` should be renewed at `now`:
/// once two thirds of its lifetime have passed (the rule every Gatehouse renewer follows).
pub fn renewal_due(not_before: UnixTime, not_after: UnixTime, now: UnixTime) -> bool {
    let lifetime = not_after.0.saturating_sub(not_before.0);
    now.0 >= not_before.0.saturating_add(lifetime / 3 * 2)
}

/// Validates and lowercases a name an application may put in its certificates: a DNS name
/// (letters, digits and hyphens in dot-separated labels, optionally a leading `*.`) or an IP
/// address (written as an IP SAN).
pub fn validate_dns_name(name: &str) -> Result<String, CaError> {
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return Ok(ip.to_string());
    }
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    let body = lower.strip_prefix("*.").unwrap_or(&lower);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if lower.len() > MAX_DNS_NAME || body.is_empty() || !body.split('.').all(label_ok) {
        return Err(CaError::Invalid(format!(
            "{name:?} is not a valid DNS name"
        )));
    }
    Ok(lower)
}

fn permitted_dns(requested: &[String], allowed: &[String]) -> Result<Vec<String>, CaError> {
    let mut out = Vec::with_capacity(requested.len());
    for name in requested {
        let name = validate_dns_name(name)?;
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(&name)) {
            return Err(CaError::ForbiddenName(format!(
                "DNS name {name} is not registered for this application"
            )));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

fn ca_params(
    td: &TrustDomain,
    common_name: &str,
    path_len: u8,
    now: UnixTime,
    lifetime: Duration,
) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::default();
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    params.not_before = datetime(now.0.saturating_sub(3600))?;
    params.not_after = datetime(now.0.saturating_add(secs(lifetime)))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Gatehouse");
    dn.push(DnType::OrganizationalUnitName, td.as_str());
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// 16 random bytes, first byte in 0x01..=0x7f so DER keeps all 16 (positive, no padding).
fn random_serial() -> [u8; 16] {
    let mut s = [0u8; 16];
    // The system RNG does not fail on supported platforms; a zero serial would still be unique
    // enough to be refused by the store's primary key rather than silently reused.
    let _ = aws_lc_rs::rand::fill(&mut s);
    s[0] = (s[0] & 0x7f).max(1);
    s
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn datetime(t: i64) -> Result<time::OffsetDateTime, CaError> {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map_err(|_| CaError::Invalid("certificate validity out of range".into()))
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Certificates as concatenated PEM blocks.
pub fn pem_certificates(certs: &[CertificateDer<'_>]) -> String {
    use base64::Engine as _;
    let mut out = String::new();
    for c in certs {
        let b64 = base64::engine::general_purpose::STANDARD.encode(c.as_ref());
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

/// Every `CERTIFICATE` block of a PEM text (at least one), each parsed as X.509.
pub fn parse_pem_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, CaError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CaError::malformed("certificate", e))?;
    if certs.is_empty() {
        return Err(CaError::malformed(
            "certificate",
            "no PEM CERTIFICATE block",
        ));
    }
    for c in &certs {
        x509_parser::parse_x509_certificate(c.as_ref())
            .map_err(|e| CaError::malformed("certificate", e))?;
    }
    Ok(certs)
}

#[cfg(test)]
mod tests;
