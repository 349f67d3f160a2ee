//! The control plane's certificate authority service: loads (or creates, or imports) the CA
//! whose key is stored encrypted under the master key, signs CSRs for applications, records
//! every serial, and decides who may ask for which certificate.
//!
//! ```text
//! POST /ca/v1/sign ──► bearer token (aud urn:gatehouse:ca, scope ca:sign) ─┐
//!                  └─► or mTLS: our own, still-valid, unrevoked cert ──────┴► client id
//!                                                                             │
//!   CSR (PEM, ≤16 KiB, signature + key checked) ─► DNS names ⊆ client's ─► sign ─► record
//! ```
//!
//! The signing path reads the client from the in-memory catalog; it writes one row (the
//! serial) and one audit event per certificate.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_ca::{
    Authority, CaError, CertIdentity, ChainVerifier, IssuedCertificate, LifetimePolicy,
    StoredAuthority, TrustDomain, Usage,
};
use gatehouse_core::{AuditEvent, CaRecord, CertificateRecord, ClientId, UnixTime};
use gatehouse_keys::{MasterKey, MasterKeyError};
use gatehouse_proto::ca::SignedCertificate;
use gatehouse_store::{Catalog, Store, StoreError};
use rustls::pki_types::CertificateDer;
use zeroize::Zeroizing;

pub mod routes;

/// The audience of tokens that may ask the CA for a certificate.
pub const CA_AUDIENCE: &str = "urn:gatehouse:ca";
/// The scope such a token must carry.
pub const CA_SCOPE: &str = "ca:sign";
/// Associated data binding the encrypted key to its purpose.
const KEY_AAD: &[u8] = b"gatehouse certificate authority key v1";

/// How the CA is set up (validated config).
#[derive(Debug, Clone)]
pub struct CaSettings {
    /// Trust domain of the SPIFFE IDs.
    pub trust_domain: TrustDomain,
    /// Leaf lifetimes.
    pub policy: LifetimePolicy,
    /// Generate a root plus an intermediate rather than a root alone (first start only).
    pub intermediate: bool,
    /// An existing CA to use instead: (chain PEM, key PEM). Replaces a stored one that differs.
    pub import: Option<(String, Zeroizing<String>)>,
}

/// Why the CA cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaSetupError {
    /// Reading or writing the CA record failed.
    #[error("certificate authority storage: {0}")]
    Store(#[from] StoreError),
    /// The stored key cannot be decrypted (another master key?) or encrypted.
    #[error("certificate authority key: {0}")]
    Key(#[from] MasterKeyError),
    /// The CA material is unusable.
    #[error("certificate authority: {0}")]
    Ca(#[from] CaError),
}

/// Why a certificate is not issued. The message is safe to send to the caller.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// No usable credential (token or certificate) was presented.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The caller is known but may not have this certificate.
    #[error("{0}")]
    Forbidden(String),
    /// The bearer token lacks the `ca:sign` scope.
    #[error("the token lacks the ca:sign scope")]
    InsufficientScope,
    /// The CSR or a parameter is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// The application does not exist.
    #[error("application not found")]
    NotFound,
    /// Storage failed (logged, not sent).
    #[error("internal error")]
    Internal,
}

impl From<CaError> for SignError {
    fn from(e: CaError) -> Self {
        match e {
            CaError::ForbiddenName(_) => Self::Forbidden(e.to_string()),
            CaError::Signing(_) | CaError::BadAuthority(_) => {
                tracing::error!(error = %e, "certificate signing failed");
                Self::Internal
            }
            other => Self::BadRequest(other.to_string()),
        }
    }
}

/// What to sign for whom.
#[derive(Debug, Clone, Copy)]
pub struct SignOrder<'a> {
    /// The application.
    pub client_id: &'a str,
    /// Its CSR (PEM or DER).
    pub csr: &'a [u8],
    /// Requested lifetime (`24h`).
    pub ttl: Option<&'a str>,
    /// Who asked, for the audit log (`client:<id>`, `admin-token`).
    pub actor: &'a str,
}

/// Where the CA came from at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaOrigin {
    /// Loaded from the store.
    Stored,
    /// Generated now.
    Generated,
    /// Imported from the configured files now.
    Imported,
}

/// The loaded CA plus what its endpoints serve.
pub struct CertificateService {
    authority: Authority,
    verifier: ChainVerifier,
    bundle_pem: String,
    spiffe_bundle: Vec<u8>,
}

impl std::fmt::Debug for CertificateService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateService")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

// === impl CertificateService ===

impl CertificateService {
    /// Loads the stored CA, or imports the configured one, or generates one. Two replicas
    /// starting at once on one database end up with the same CA (the store keeps the first).
    pub async fn load_or_create(
        store: &dyn Store,
        master: &MasterKey,
        settings: CaSettings,
        now: UnixTime,
    ) -> Result<(Self, CaOrigin), CaSetupError> {
        let CaSettings {
            trust_domain: td,
            policy,
            intermediate,
            import,
        } = settings;
        let stored = store
            .load_ca()
            .await?
            .map(|rec| unseal(master, rec))
            .transpose()?;
        if let Some((chain_pem, key_pem)) = import {
            let (authority, fresh) = Authority::import(td, &chain_pem, &key_pem, policy)?;
            let same = stored.as_ref().is_some_and(|s| {
                s.chain_pem == fresh.chain_pem && *s.key_pkcs8 == *fresh.key_pkcs8
            });
            if same {
                return Ok((Self::new(authority)?, CaOrigin::Stored));
            }
            if stored.is_some() {
                tracing::warn!(
                    "replacing the stored certificate authority with the configured one"
                );
            }
            store.replace_ca(&record(master, &fresh, now)?).await?;
            return Ok((Self::new(authority)?, CaOrigin::Imported));
        }
        if let Some(s) = stored {
            let authority = Authority::from_stored(td, &s, policy)?;
            return Ok((Self::new(authority)?, CaOrigin::Stored));
        }
        let (authority, fresh) = Authority::generate(td.clone(), intermediate, policy, now)?;
        if store
            .insert_ca_if_absent(&record(master, &fresh, now)?)
            .await?
        {
            return Ok((Self::new(authority)?, CaOrigin::Generated));
        }
        // Another replica created one first: use that.
        let rec = store
            .load_ca()
            .await?
            .ok_or(CaSetupError::Store(StoreError::NotFound))?;
        let s = unseal(master, rec)?;
        Ok((
            Self::new(Authority::from_stored(td, &s, policy)?)?,
            CaOrigin::Stored,
        ))
    }

    /// Wraps a loaded authority.
    pub fn new(authority: Authority) -> Result<Self, CaError> {
        let verifier = authority.verifier()?;
        let bundle_pem = authority.bundle_pem();
        let spiffe = gatehouse_ca::spiffe_bundle(std::slice::from_ref(authority.root()), 1, 300)?;
        let spiffe_bundle = serde_json::to_vec(&spiffe)
            .map_err(|e| CaError::BadAuthority(format!("bundle: {e}")))?;
        Ok(Self {
            authority,
            verifier,
            bundle_pem,
            spiffe_bundle,
        })
    }

    /// The authority.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// A verifier trusting this CA.
    pub fn verifier(&self) -> &ChainVerifier {
        &self.verifier
    }

    /// The trust bundle, PEM.
    pub fn bundle_pem(&self) -> &str {
        &self.bundle_pem
    }

    /// The SPIFFE trust bundle, JSON.
    pub fn spiffe_bundle(&self) -> &[u8] {
        &self.spiffe_bundle
    }

    /// The application a client certificate of ours belongs to, for renewal: the chain
    /// verifies to this CA at `now`, its serial is not deny-listed, its SPIFFE ID names an
    /// application that exists, and it was issued after the application's revocation cutoff.
    pub fn certificate_owner(
        &self,
        catalog: &Catalog,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(ClientId, CertIdentity), SignError> {
        let id = self
            .verifier
            .verify(chain, now, Usage::Client)
            .map_err(|e| {
                tracing::debug!(error = %e, "renewal certificate refused");
                SignError::Unauthenticated("client certificate not trusted")
            })?;
        let td = self.authority.trust_domain();
        let client = match id.san_uris.as_slice() {
            [uri] => td.client_of(uri),
            _ => None,
        }
        .ok_or(SignError::Unauthenticated(
            "client certificate does not name an application",
        ))?;
        if catalog.certificate_revoked(&id.serial) {
            return Err(SignError::Unauthenticated("client certificate revoked"));
        }
        let entry = catalog
            .client(client)
            .ok_or(SignError::Unauthenticated("application no longer exists"))?;
        if entry
            .client
            .tokens_not_before
            .is_some_and(|cutoff| id.not_before < cutoff.0)
        {
            return Err(SignError::Unauthenticated(
                "client certificate issued before the application was revoked",
            ));
        }
        Ok((entry.client.id.clone(), id))
    }

    /// Signs the order's CSR for its client (which must exist in `catalog`), records the
    /// serial and an audit event by its actor.
    pub async fn sign(
        &self,
        store: &dyn Store,
        catalog: &Catalog,
        order: SignOrder<'_>,
        now: UnixTime,
    ) -> Result<SignedCertificate, SignError> {
        let SignOrder {
            client_id,
            csr,
            ttl,
            actor,
        } = order;
        let entry = catalog.client(client_id).ok_or(SignError::NotFound)?;
        let lifetime = ttl
            .map(|t| {
                gatehouse_core::parse_duration(t)
                    .map_err(|e| SignError::BadRequest(format!("ttl: {e}")))
            })
            .transpose()?;
        let csr = gatehouse_ca::csr::parse(csr)?;
        let issued =
            self.authority
                .sign_csr(&csr, client_id, &entry.client.dns_names, lifetime, now)?;
        self.record(store, &entry.client.id, &issued, actor, now)
            .await?;
        tracing::info!(client = %client_id, serial = %issued.serial, not_after = issued.not_after.0, key = %csr.key, "certificate issued");
        Ok(self.signed(issued))
    }

    async fn record(
        &self,
        store: &dyn Store,
        client: &ClientId,
        issued: &IssuedCertificate,
        actor: &str,
        now: UnixTime,
    ) -> Result<(), SignError> {
        let rec = CertificateRecord {
            serial: issued.serial.clone(),
            client_id: client.clone(),
            spiffe_id: issued.spiffe_id.clone(),
            dns_names: issued.dns_names.clone(),
            not_before: issued.not_before,
            not_after: issued.not_after,
            issued_at: now,
            revoked_at: None,
        };
        let internal = |e: StoreError| {
            tracing::error!(error = %e, "recording an issued certificate failed");
            SignError::Internal
        };
        store.record_certificate(&rec).await.map_err(|e| match e {
            StoreError::NotFound => SignError::NotFound,
            e => internal(e),
        })?;
        let event = AuditEvent {
            id: 0,
            at: now,
            actor: actor.to_owned(),
            action: "certificate.issue".into(),
            target: client.to_string(),
            detail: serde_json::json!({
                "serial": issued.serial,
                "spiffe_id": issued.spiffe_id,
                "dns_names": issued.dns_names,
                "not_after": issued.not_after.0,
            }),
        };
        store.append_audit(&event).await.map_err(internal)
    }

    /// The wire form of an issued certificate.
    pub fn signed(&self, issued: IssuedCertificate) -> SignedCertificate {
        SignedCertificate {
            serial: issued.serial,
            spiffe_id: issued.spiffe_id,
            dns_names: issued.dns_names,
            not_before: issued.not_before.0,
            not_after: issued.not_after.0,
            certificate: issued.cert_pem,
            chain: issued.chain_pem,
            bundle: self.bundle_pem.clone(),
        }
    }

    /// A certificate for one of Gatehouse's own listeners or clients, with a fresh key:
    /// (chain PEM, key PEM, not_after). Not recorded (it names no application).
    pub fn issue_service(
        &self,
        service: &str,
        dns_names: &[String],
        lifetime: Option<Duration>,
        now: UnixTime,
    ) -> Result<(IssuedCertificate, Zeroizing<String>), CaError> {
        self.authority
            .issue_service_with_new_key(service, dns_names, lifetime, now)
    }
}

/// The stored CA with its key decrypted.
fn unseal(master: &MasterKey, rec: CaRecord) -> Result<StoredAuthority, MasterKeyError> {
    Ok(StoredAuthority {
        key_pkcs8: master.decrypt(&rec.private_key_enc, KEY_AAD)?,
        chain_pem: rec.chain_pem,
    })
}

fn record(
    master: &MasterKey,
    stored: &StoredAuthority,
    now: UnixTime,
) -> Result<CaRecord, MasterKeyError> {
    Ok(CaRecord {
        chain_pem: stored.chain_pem.clone(),
        private_key_enc: master.encrypt(&stored.key_pkcs8, KEY_AAD)?,
        created_at: now,
    })
}

/// Shared handle.
pub type SharedCertificates = Arc<CertificateService>;

#[cfg(test)]
mod tests;
