//! Certificate signing requests (PKCS#10) from untrusted callers: size-limited, PEM or DER,
//! self-signature verified, key type and size checked. Only the public key and the requested
//! DNS names are used; the requested subject, URIs and other extensions are ignored, because
//! the CA alone decides what a certificate says.

use rustls::pki_types::CertificateSigningRequestDer;
use rustls::pki_types::pem::PemObject;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

use crate::CaError;

/// Largest CSR accepted, PEM or DER (an RSA-8192 CSR with a few names is under 3 KiB).
pub const MAX_CSR_BYTES: usize = 16 * 1024;
/// Most DNS names a CSR may ask for.
pub const MAX_DNS_NAMES: usize = 32;

/// A CSR that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCsr {
    /// The DER SubjectPublicKeyInfo to certify.
    pub(crate) spki_der: Vec<u8>,
    /// The key, for logs and errors (`ECDSA P-256`, `RSA 3072`, `Ed25519`).
    pub key: String,
    /// DNS names requested in the extensionRequest attribute, lowercased.
    pub dns_names: Vec<String>,
}

/// Parses and verifies a CSR given as PEM (`CERTIFICATE REQUEST`) or DER.
pub fn parse(input: &[u8]) -> Result<VerifiedCsr, CaError> {
    if input.len() > MAX_CSR_BYTES {
        return Err(CaError::malformed(
            "CSR",
            format!("larger than {MAX_CSR_BYTES} bytes"),
        ));
    }
    let der = if looks_like_pem(input) {
        CertificateSigningRequestDer::from_pem_slice(input)
            .map_err(|e| CaError::malformed("CSR", format!("not a PEM CERTIFICATE REQUEST: {e}")))?
    } else {
        CertificateSigningRequestDer::from(input.to_vec())
    };
    let (rest, csr) = X509CertificationRequest::from_der(der.as_ref())
        .map_err(|e| CaError::malformed("CSR", format!("not PKCS#10 DER: {e}")))?;
    if !rest.is_empty() {
        return Err(CaError::malformed(
            "CSR",
            "trailing bytes after the request",
        ));
    }
    let key = key_description(&csr)?;
    csr.verify_signature().map_err(|_| CaError::BadSignature)?;
    let dns_names = requested_dns_names(&csr)?;
    Ok(VerifiedCsr {
        spki_der: csr.certification_request_info.subject_pki.raw.to_vec(),
        key,
        dns_names,
    })
}

fn looks_like_pem(input: &[u8]) -> bool {
    input.trim_ascii_start().starts_with(b"-----BEGIN")
}

/// `ECDSA P-256`, `ECDSA P-384`, `Ed25519` or `RSA <bits>` (2048..=8192); anything else fails.
fn key_description(csr: &X509CertificationRequest<'_>) -> Result<String, CaError> {
    use x509_parser::oid_registry::{OID_EC_P256, OID_NIST_EC_P384, OID_SIG_ED25519};
    let spki = &csr.certification_request_info.subject_pki;
    let parsed = spki
        .parsed()
        .map_err(|e| CaError::UnsupportedKey(format!("unreadable public key: {e}")))?;
    match parsed {
        PublicKey::EC(_) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            match curve {
                Some(c) if c == OID_EC_P256 => Ok("ECDSA P-256".into()),
                Some(c) if c == OID_NIST_EC_P384 => Ok("ECDSA P-384".into()),
                _ => Err(CaError::UnsupportedKey(
                    "an elliptic curve other than P-256 or P-384".into(),
                )),
            }
        }
        PublicKey::RSA(rsa) => {
            let bits = rsa.key_size();
            if (2048..=8192).contains(&bits) {
                Ok(format!("RSA {bits}"))
            } else {
                Err(CaError::UnsupportedKey(format!("RSA {bits} bits")))
            }
        }
        PublicKey::Unknown(_) if spki.algorithm.algorithm == OID_SIG_ED25519 => {
            Ok("Ed25519".into())
        }
        _ => Err(CaError::UnsupportedKey(format!(
            "algorithm {}",
            spki.algorithm.algorithm
        ))),
    }
}

fn requested_dns_names(csr: &X509CertificationRequest<'_>) -> Result<Vec<String>, CaError> {
    let mut names = Vec::new();
    let Some(extensions) = csr.requested_extensions() else {
        return Ok(names);
    };
    for ext in extensions {
        if let ParsedExtension::SubjectAlternativeName(san) = ext {
            for name in &san.general_names {
                match name {
                    GeneralName::DNSName(d) => {
                        let d = d.to_ascii_lowercase();
                        if !names.contains(&d) {
                            names.push(d);
                        }
                    }
                    // The CA writes the one URI (the SPIFFE ID) itself; asking for another
                    // identity is refused outright rather than silently dropped.
                    GeneralName::URI(u) => {
                        return Err(CaError::ForbiddenName(format!(
                            "URI {u} (the CA sets the SPIFFE ID)"
                        )));
                    }
                    other => {
                        return Err(CaError::ForbiddenName(format!("{other:?}")));
                    }
                }
            }
        }
    }
    if names.len() > MAX_DNS_NAMES {
        return Err(CaError::Invalid(format!(
            "a CSR may ask for at most {MAX_DNS_NAMES} DNS names"
        )));
    }
    Ok(names)
}

/// A fresh ECDSA P-256 key and a CSR for it asking for `dns_names` (what a workload sends
/// to the CA; the key never leaves the caller). Returns (CSR PEM, PKCS#8 key PEM).
pub fn generate_request(
    dns_names: &[String],
) -> Result<(String, zeroize::Zeroizing<String>), CaError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for d in dns_names {
        params.subject_alt_names.push(rcgen::SanType::DnsName(
            d.as_str().try_into().map_err(CaError::from)?,
        ));
    }
    let csr = params.serialize_request(&key)?.pem()?;
    Ok((csr, zeroize::Zeroizing::new(key.serialize_pem())))
}
