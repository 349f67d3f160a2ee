//! Certificates of applications: what a client certificate must show to authenticate
//! (RFC 8705 registration), which DNS names the CA may certify, issuing from a CSR on an
//! admin's behalf, listing, and deny-listing serials.

use gatehouse_core::{AuthMethod, ClientTls};
use gatehouse_oauth::certs::{CertificateService, SignError, SignOrder};
use gatehouse_proto::ca::{CertificateView, SignedCertificate};

use super::{ManageService, invalid};
use crate::ManageError;

/// Most DNS names one application may register.
const MAX_DNS_NAMES: usize = 32;
/// Most self-signed certificates one application may register.
const MAX_THUMBPRINTS: usize = 16;

/// Validated, lowercased, deduplicated DNS names.
pub(crate) fn check_dns_names(names: &[String]) -> Result<Vec<String>, ManageError> {
    if names.len() > MAX_DNS_NAMES {
        return Err(invalid(format!("dns_names: at most {MAX_DNS_NAMES} names")));
    }
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for n in names {
        let n =
            gatehouse_ca::validate_dns_name(n).map_err(|e| invalid(format!("dns_names: {e}")))?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// Checks an RFC 8705 registration against the auth method, adding the thumbprints of
/// `certificates` (PEM); returns it normalized (thumbprints as base64url `x5t#S256`).
pub(crate) fn check_tls(
    method: AuthMethod,
    mut tls: ClientTls,
    certificates: &[String],
) -> Result<ClientTls, ManageError> {
    let mut thumbprints = Vec::new();
    for t in &tls.thumbprints {
        let raw = gatehouse_ca::parse_thumbprint(t).ok_or_else(|| {
            invalid("tls.thumbprints: expected 64 hex digits or base64url of 32 bytes")
        })?;
        thumbprints.push(raw);
    }
    for pem in certificates {
        let certs = gatehouse_ca::parse_pem_certificates(pem)
            .map_err(|e| invalid(format!("certificates: {e}")))?;
        for c in &certs {
            thumbprints.push(gatehouse_ca::sha256(c.as_ref()));
        }
    }
    thumbprints.dedup();
    if thumbprints.len() > MAX_THUMBPRINTS {
        return Err(invalid(format!(
            "at most {MAX_THUMBPRINTS} registered certificates"
        )));
    }
    tls.thumbprints = thumbprints
        .iter()
        .map(|t| {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t)
        })
        .collect();
    for (field, value) in [
        ("tls.subject_dn", &tls.subject_dn),
        ("tls.san_uri", &tls.san_uri),
        ("tls.san_dns", &tls.san_dns),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.is_empty() || v.len() > 1024 || v.chars().any(char::is_control))
        {
            return Err(invalid(format!("{field}: 1 to 1024 printable characters")));
        }
    }
    let names = tls.subject_dn.is_some() || tls.san_uri.is_some() || tls.san_dns.is_some();
    match method {
        AuthMethod::TlsClientAuth if !names => Err(invalid(
            "tls_client_auth needs tls.subject_dn, tls.san_uri or tls.san_dns",
        )),
        AuthMethod::TlsClientAuth if !tls.thumbprints.is_empty() => Err(invalid(
            "registered certificates apply only to self_signed_tls_client_auth",
        )),
        AuthMethod::SelfSignedTlsClientAuth if tls.thumbprints.is_empty() => Err(invalid(
            "self_signed_tls_client_auth needs at least one registered certificate",
        )),
        AuthMethod::SelfSignedTlsClientAuth if names => Err(invalid(
            "subject and SAN rules apply only to tls_client_auth",
        )),
        m if !m.uses_certificate() && (names || !tls.thumbprints.is_empty()) => Err(invalid(
            "tls.subject_dn, tls.san_* and certificates apply only to the mTLS auth methods",
        )),
        _ => Ok(tls),
    }
}

impl ManageService {
    fn ca(&self) -> Result<&CertificateService, ManageError> {
        self.state
            .ca
            .as_deref()
            .ok_or_else(|| invalid("the certificate authority is disabled"))
    }

    /// Replaces the DNS names the CA may certify for a client.
    pub async fn set_dns_names(
        &self,
        actor: &str,
        id: &str,
        names: &[String],
    ) -> Result<gatehouse_core::Client, ManageError> {
        let names = check_dns_names(names)?;
        let mut client = self.get_client(id)?.client.clone();
        client.dns_names = names;
        self.state.store.update_client(&client).await?;
        self.audit(
            actor,
            "client.set_dns_names",
            client.id.as_str(),
            serde_json::json!({"dns_names": client.dns_names}),
        )
        .await?;
        self.changed().await?;
        Ok(client)
    }

    /// Issues a certificate for a client from its CSR (the CLI generates the key locally and
    /// sends only the CSR).
    pub async fn issue_certificate(
        &self,
        actor: &str,
        id: &str,
        csr: &str,
        ttl: Option<&str>,
    ) -> Result<SignedCertificate, ManageError> {
        let ca = self.ca()?;
        let catalog = self.state.catalog.get();
        let order = SignOrder {
            client_id: id,
            csr: csr.as_bytes(),
            ttl,
            actor,
        };
        ca.sign(self.state.store.as_ref(), &catalog, order, self.now())
            .await
            .map_err(|e| match e {
                SignError::NotFound => ManageError::NotFound(format!("client {id}")),
                SignError::Internal => ManageError::Internal("certificate signing failed".into()),
                other => invalid(other.to_string()),
            })
    }

    /// Issued certificates, of one client or all.
    pub async fn list_certificates(
        &self,
        client: Option<&str>,
    ) -> Result<Vec<CertificateView>, ManageError> {
        let client = match client {
            Some(c) => Some(self.get_client(c)?.client.id.clone()),
            None => None,
        };
        let list = self.state.store.list_certificates(client.as_ref()).await?;
        Ok(list.iter().map(CertificateView::from).collect())
    }

    /// Deny-lists a certificate's serial: every Gatehouse listener refuses it from the next
    /// catalog snapshot on (gateways within their sync interval), and it cannot renew.
    pub async fn revoke_certificate(&self, actor: &str, serial: &str) -> Result<(), ManageError> {
        let serial = serial.trim().to_ascii_lowercase().replace(':', "");
        if serial.is_empty() || serial.len() > 64 || !serial.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(invalid("serial must be hexadecimal"));
        }
        self.state
            .store
            .revoke_certificate(&serial, self.now())
            .await
            .map_err(|e| match e {
                gatehouse_store::StoreError::NotFound => {
                    ManageError::NotFound(format!("certificate {serial}"))
                }
                other => other.into(),
            })?;
        self.audit(actor, "certificate.revoke", &serial, serde_json::json!({}))
            .await?;
        self.changed().await
    }
}
