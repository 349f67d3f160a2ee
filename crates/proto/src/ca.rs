//! The certificate authority's wire types: `POST /ca/v1/sign` and the admin API's certificate
//! endpoints share them, as do the CLI, the token agent and standalone gateways.

use serde::{Deserialize, Serialize};

/// Body of `POST /ca/v1/sign` and `POST /admin/v1/clients/{id}/certificates`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignRequest {
    /// A PKCS#10 certificate signing request, PEM (`CERTIFICATE REQUEST`).
    pub csr: String,
    /// Requested lifetime (`24h`, `90m`); the CA's default when absent, capped at its maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

/// A certificate the CA just issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedCertificate {
    /// Serial number, lowercase hex.
    pub serial: String,
    /// The SPIFFE ID in the URI SAN (`spiffe://<trust-domain>/app/<client_id>`).
    pub spiffe_id: String,
    /// DNS SANs.
    pub dns_names: Vec<String>,
    /// Start of validity, seconds since the epoch.
    pub not_before: i64,
    /// End of validity, seconds since the epoch.
    pub not_after: i64,
    /// The certificate, PEM.
    pub certificate: String,
    /// The certificate then any intermediate CA, PEM: what a TLS peer presents.
    pub chain: String,
    /// The trust bundle (root CA), PEM: what a TLS peer trusts.
    pub bundle: String,
}

/// An issued certificate as listed by the admin API (never the certificate itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateView {
    /// Serial number, lowercase hex.
    pub serial: String,
    /// The application.
    pub client_id: String,
    /// The SPIFFE ID.
    pub spiffe_id: String,
    /// DNS SANs.
    pub dns_names: Vec<String>,
    /// Start of validity, seconds since the epoch.
    pub not_before: i64,
    /// End of validity, seconds since the epoch.
    pub not_after: i64,
    /// When it was issued.
    pub issued_at: i64,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

impl From<&gatehouse_core::CertificateRecord> for CertificateView {
    fn from(c: &gatehouse_core::CertificateRecord) -> Self {
        Self {
            serial: c.serial.clone(),
            client_id: c.client_id.to_string(),
            spiffe_id: c.spiffe_id.clone(),
            dns_names: c.dns_names.clone(),
            not_before: c.not_before.0,
            not_after: c.not_after.0,
            issued_at: c.issued_at.0,
            revoked_at: c.revoked_at.map(|t| t.0),
        }
    }
}
