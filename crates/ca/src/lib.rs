//! Gatehouse certificate authority: a root (optionally with an intermediate) that issues
//! short-lived SPIFFE X.509-SVIDs (`spiffe://<trust-domain>/app/<client-id>`) from CSRs or
//! with a fresh key, the trust bundle (PEM and SPIFFE JWKS), and the chain verification every
//! mTLS listener uses, always against an injected clock.
//!
//! This crate holds no state of its own and never stores anything: the caller persists
//! [`StoredAuthority`] (encrypting its key) and the issued serials, and decides who may ask
//! for which certificate.
#![forbid(unsafe_code)]

mod authority;
mod bundle;
pub mod csr;
mod error;
mod spiffe;
mod verify;

pub use authority::{
    Authority, IssuedCertificate, LeafRequest, LifetimePolicy, MIN_LIFETIME, StoredAuthority,
    parse_pem_certificates, pem_certificates, renewal_due, validate_dns_name,
};
pub use bundle::spiffe_bundle;
pub use error::CaError;
pub use spiffe::TrustDomain;
pub use verify::{
    CertIdentity, CertMatch, ChainVerifier, Untrusted, Usage, chain_digest, identity_of,
    parse_thumbprint, sha256, x5t_s256,
};
