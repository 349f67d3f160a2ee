//! TLS to the backend: which CAs the gateway trusts for an API's upstreams, and which client
//! certificate it presents (mTLS, so the backend can refuse anything that is not the gateway).
//!
//! The client certificate comes from a [`ClientIdentitySource`], asked at every handshake. This
//! module has the file-based source ([`FileIdentity`], read once at config time); a source whose
//! certificate is issued and renewed by our own CA plugs in behind the same trait.
//!
//! Certificates are checked by rustls (aws-lc-rs provider) against the real time, like any TLS
//! client: the gateway's fake clock does not reach the handshake.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme};

/// A certificate or key file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsFileError {
    /// The file holds no PEM `CERTIFICATE` block.
    #[error("{0}: no PEM certificate found")]
    NoCertificate(String),
    /// The file holds no PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[error("{0}: no PEM private key found")]
    NoKey(String),
    /// The private key does not belong to the certificate.
    #[error("{0}: the private key does not match the certificate's public key")]
    KeyMismatch(String),
    /// The file cannot be read or is not valid PEM.
    #[error("{path}: {source}")]
    Pem {
        /// The file.
        path: String,
        /// What went wrong.
        source: rustls::pki_types::pem::Error,
    },
    /// rustls refuses the certificate or key (unsupported algorithm, malformed DER).
    #[error("{path}: {source}")]
    Rejected {
        /// The file.
        path: String,
        /// What rustls said.
        source: rustls::Error,
    },
}

/// How the gateway connects to an API's `https://` upstreams (validated at config time).
#[derive(Clone)]
pub struct UpstreamTls {
    /// Trusted roots and the client identity, shared by the API's connection pool.
    pub config: Arc<ClientConfig>,
    /// The name checked in the backend's certificate (and sent as SNI) instead of the URL host.
    pub server_name: Option<ServerName<'static>>,
}

/// Where the gateway's client certificate comes from, asked at each upstream handshake.
///
/// `None` means present no certificate (a backend that requires one will refuse the handshake).
pub trait ClientIdentitySource: Send + Sync + fmt::Debug {
    /// The certificate chain and key to present now.
    fn current(&self) -> Option<Arc<CertifiedKey>>;
}

/// A client certificate and key read once from PEM files.
#[derive(Debug, Clone)]
pub struct FileIdentity {
    key: Arc<CertifiedKey>,
}

/// A client certificate replaced while the gateway runs (the gateway's own certificate from
/// the built-in CA, renewed before expiry): handshakes after [`set`](Self::set) present the
/// new one; connections already pooled keep theirs until they close.
#[derive(Debug, Default)]
pub struct SwappableIdentity {
    current: arc_swap::ArcSwapOption<CertifiedKey>,
}

impl SwappableIdentity {
    /// Presents `key` from the next upstream handshake on.
    pub fn set(&self, key: Arc<CertifiedKey>) {
        self.current.store(Some(key));
    }

    /// Whether a certificate has been set.
    pub fn is_set(&self) -> bool {
        self.current.load().is_some()
    }
}

impl ClientIdentitySource for SwappableIdentity {
    fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current.load_full()
    }
}

/// Adapts a [`ClientIdentitySource`] to rustls.
#[derive(Debug)]
struct SourceResolver(Arc<dyn ClientIdentitySource>);

/// The crypto provider for upstream TLS: aws-lc-rs, chosen explicitly so the process-wide
/// default (which another dependency may set) does not matter.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Every certificate in a PEM file (at least one).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsFileError> {
    let shown = path.display().to_string();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsFileError::Pem {
            path: shown.clone(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsFileError::NoCertificate(shown));
    }
    Ok(certs)
}

/// The first private key in a PEM file.
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsFileError> {
    let shown = path.display().to_string();
    PrivateKeyDer::from_pem_file(path).map_err(|source| match source {
        rustls::pki_types::pem::Error::NoItemsFound => TlsFileError::NoKey(shown),
        source => TlsFileError::Pem {
            path: shown,
            source,
        },
    })
}

/// Trust anchors from a PEM CA bundle; every certificate in it must parse as an anchor.
pub fn read_roots(path: &Path) -> Result<RootCertStore, TlsFileError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certificates(path)? {
        roots.add(cert).map_err(|source| TlsFileError::Rejected {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(roots)
}

/// The Mozilla root programme's anchors (webpki-roots), used when an API names no CA file.
pub fn public_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// A client configuration trusting `roots` and presenting `identity` when the backend asks.
pub fn client_config(
    roots: RootCertStore,
    identity: Option<Arc<dyn ClientIdentitySource>>,
) -> Result<ClientConfig, rustls::Error> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    Ok(match identity {
        Some(source) => builder.with_client_cert_resolver(Arc::new(SourceResolver(source))),
        None => builder.with_no_client_auth(),
    })
}

// === impl UpstreamTls ===

impl fmt::Debug for UpstreamTls {
    /// Brief: the roots alone would print every public CA.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamTls")
            .field(
                "client_certificate",
                &self.config.client_auth_cert_resolver.has_certs(),
            )
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

// === impl FileIdentity ===

impl FileIdentity {
    /// Reads the chain from `cert_file` and its key from `key_file`; fails when the key does not
    /// match the first certificate.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Self, TlsFileError> {
        let chain = read_certificates(cert_file)?;
        let key = read_private_key(key_file)?;
        Self::new(chain, key, key_file)
    }

    /// An identity from a parsed chain and key (`key_file` names the key in errors).
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        key_file: &Path,
    ) -> Result<Self, TlsFileError> {
        let shown = key_file.display().to_string();
        match CertifiedKey::from_der(chain, key, &provider()) {
            Ok(key) => Ok(Self { key: Arc::new(key) }),
            Err(rustls::Error::InconsistentKeys(_)) => Err(TlsFileError::KeyMismatch(shown)),
            Err(source) => Err(TlsFileError::Rejected {
                path: shown,
                source,
            }),
        }
    }
}

impl ClientIdentitySource for FileIdentity {
    fn current(&self) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.key))
    }
}

// === impl SourceResolver ===

impl ResolvesClientCert for SourceResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.0.current()
    }

    fn has_certs(&self) -> bool {
        true
    }
}
