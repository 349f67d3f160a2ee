//! Serving a router over TLS: the server certificate behind a resolver that can be swapped at
//! runtime (a renewed certificate, no restart), ALPN `h2` and `http/1.1`, and client
//! certificates optionally requested at the handshake.
//!
//! ```text
//! TCP accept ──► task: TLS handshake (≤ header_read_timeout) ──► HTTP/1.1 or HTTP/2
//!                      │                                           │ each request carries
//!                      └ CertResolver (ArcSwap, `set`/`reload`)    └ ConnectInfo, TlsInfo,
//!                                                                    PeerCertificates (if any)
//! ```
//!
//! With [`ClientCerts::Request`] the handshake only proves that the client holds the private
//! key of the certificate it shows (its CertificateVerify signature is checked). Whether the
//! chain is *trusted* is not decided here: routing happens after the handshake, and each API
//! trusts its own CAs, so the HTTP layer validates [`PeerCertificates`] against them. A handler
//! that sees `PeerCertificates` and skips that validation trusts a self-signed certificate.
//!
//! Certificate validity times are not checked at the handshake either (the HTTP layer checks
//! them against the injected clock). rustls still reads the system time for session tickets.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::serve::{ConnectionInfo, Handshake, ServeOptions, serve_connections};

mod danger;

/// Where the server certificate chain and its private key are read from (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM file with the certificate chain, end-entity certificate first.
    pub cert_chain: PathBuf,
    /// PEM file with the private key of the end-entity certificate (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
}

/// A certificate or key file that cannot be used, or a TLS configuration rustls refuses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// The end-entity certificate is not valid X.509 DER.
    #[error("{}: the first certificate is not valid X.509: {source}", path.display())]
    BadCertificate {
        /// The certificate chain file.
        path: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
    /// rustls refuses the server configuration (an inconsistent crypto provider).
    #[error("TLS server configuration refused: {0}")]
    Config(#[source] rustls::Error),
    /// The private key does not belong to the end-entity certificate.
    #[error("{}: the private key does not match the certificate in {}", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate chain file.
        cert: PathBuf,
        /// The private key file.
        key: PathBuf,
    },
    /// The file holds no PEM `CERTIFICATE` block.
    #[error("{}: no PEM certificate found", path.display())]
    NoCertificate {
        /// The certificate chain file.
        path: PathBuf,
    },
    /// The file holds no PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[error("{}: no PEM private key found (PKCS#8, PKCS#1 or SEC1)", path.display())]
    NoPrivateKey {
        /// The private key file.
        path: PathBuf,
    },
    /// The file is not valid PEM.
    #[error("{}: invalid PEM: {source}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser said.
        source: pem::Error,
    },
    /// The file cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The crypto provider cannot use the private key (unsupported algorithm, malformed DER).
    #[error("{}: unusable private key: {source}", path.display())]
    UnsupportedKey {
        /// The private key file.
        path: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
}

/// Whether the server asks clients for a certificate at the handshake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientCerts {
    /// Never ask; no request carries [`PeerCertificates`].
    #[default]
    Off,
    /// Ask, but do not require one. Any chain is accepted at the handshake once the client has
    /// proved it holds the end-entity key; trust is decided later, per API, at the HTTP layer.
    Request,
}

/// The server certificate, swappable while the listener runs: handshakes that start after
/// [`set`](Self::set) or [`reload`](Self::reload) present the new certificate; sessions already
/// established keep theirs.
pub struct CertResolver {
    current: ArcSwap<CertifiedKey>,
}

/// The certificate chain a client presented at the handshake, end-entity first (never empty).
///
/// Only proof of key possession has been checked: validate the chain against the API's trusted
/// CAs before believing anything in it.
#[derive(Clone, PartialEq, Eq)]
pub struct PeerCertificates {
    chain: Arc<[CertificateDer<'static>]>,
    /// Computed once per connection, not per request.
    digest: [u8; 32],
}

/// Marks a request that arrived over TLS (handlers set `X-Forwarded-Proto: https` from it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// The server name the client asked for (SNI), if it sent one.
    pub sni: Option<String>,
    /// The ALPN protocol agreed (`h2` or `http/1.1`), if the client offered ALPN.
    pub alpn: Option<Vec<u8>>,
}

/// The TLS handshake run in each connection's task.
struct TlsHandshake {
    acceptor: TlsAcceptor,
    timeout: std::time::Duration,
}

/// What a TLS connection adds to each of its requests.
#[derive(Clone)]
struct TlsConnection {
    info: TlsInfo,
    peer_certificates: Option<PeerCertificates>,
}

/// The rustls server configuration for a listener: certificates from `certs` (swappable),
/// client certificates per `client_certs`, TLS 1.2 and 1.3 with the aws-lc-rs provider, ALPN
/// `h2` then `http/1.1`.
pub fn server_config(
    certs: Arc<CertResolver>,
    client_certs: ClientCerts,
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsConfigError::Config)?;
    let builder = match client_certs {
        ClientCerts::Off => builder.with_no_client_auth(),
        ClientCerts::Request => builder
            .with_client_cert_verifier(Arc::new(danger::ProofOfPossessionOnly::new(provider()))),
    };
    let mut config = builder.with_cert_resolver(certs);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `router` over TLS on `listener` until `shutdown` resolves, then drains like
/// [`serve`](crate::serve). Handlers see `ConnectInfo<SocketAddr>`, [`TlsInfo`] and, when the
/// client presented a certificate, [`PeerCertificates`].
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_tls_with(listener, tls, router, shutdown, ServeOptions::default()).await
}

/// [`serve_tls`] with explicit connection limits. A client must finish the TLS handshake
/// within `options.header_read_timeout`, or it is dropped.
pub async fn serve_tls_with(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> std::io::Result<()> {
    let handshake = TlsHandshake {
        acceptor: TlsAcceptor::from(tls),
        timeout: options.header_read_timeout,
    };
    serve_connections(listener, router, shutdown, options, handshake).await
}

/// The aws-lc-rs provider, chosen explicitly so the process-wide default does not matter.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Every certificate in a PEM file (at least one).
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(TlsConfigError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The first private key in a PEM file.
fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsConfigError::NoPrivateKey {
            path: path.to_owned(),
        },
        e => pem_error(path, e),
    })
}

fn pem_error(path: &Path, e: pem::Error) -> TlsConfigError {
    match e {
        pem::Error::Io(source) => TlsConfigError::Read {
            path: path.to_owned(),
            source,
        },
        source => TlsConfigError::Pem {
            path: path.to_owned(),
            source,
        },
    }
}

// === impl TlsSettings ===

impl TlsSettings {
    /// Settings reading the chain from `cert_chain` and the key from `private_key`.
    pub fn new(cert_chain: impl Into<PathBuf>, private_key: impl Into<PathBuf>) -> Self {
        Self {
            cert_chain: cert_chain.into(),
            private_key: private_key.into(),
        }
    }

    /// Reads both files (synchronously) and checks that the key belongs to the end-entity
    /// certificate.
    pub fn load(&self) -> Result<Arc<CertifiedKey>, TlsConfigError> {
        let chain = read_certificates(&self.cert_chain)?;
        let key = read_private_key(&self.private_key)?;
        certified_key(chain, key, &self.cert_chain, &self.private_key)
    }
}

/// A certificate chain and key held in memory as PEM (e.g. just issued by our CA), checked
/// like [`TlsSettings::load`]; errors name the path `<memory>`.
pub fn certified_key_from_pem(
    chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<CertifiedKey>, TlsConfigError> {
    let here = Path::new("<memory>");
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(here, e))?;
    if chain.is_empty() {
        return Err(TlsConfigError::NoCertificate {
            path: here.to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsConfigError::NoPrivateKey {
            path: here.to_owned(),
        },
        e => pem_error(here, e),
    })?;
    certified_key(chain, key, here, here)
}

fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<CertifiedKey>, TlsConfigError> {
    let signing_key = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|source| TlsConfigError::UnsupportedKey {
            path: key_path.to_owned(),
            source,
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // `Unknown`: the key cannot tell its public half; aws-lc-rs keys always can.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(Arc::new(certified))
        }
        Err(rustls::Error::InconsistentKeys(_)) => Err(TlsConfigError::KeyMismatch {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
        }),
        Err(source) => Err(TlsConfigError::BadCertificate {
            path: cert_path.to_owned(),
            source,
        }),
    }
}

// === impl CertResolver ===

impl CertResolver {
    /// A resolver presenting `key` until it is replaced.
    pub fn new(key: Arc<CertifiedKey>) -> Self {
        Self {
            current: ArcSwap::new(key),
        }
    }

    /// A resolver presenting the certificate read from `settings`.
    pub fn load(settings: &TlsSettings) -> Result<Self, TlsConfigError> {
        settings.load().map(Self::new)
    }

    /// Presents `key` from the next handshake on.
    pub fn set(&self, key: Arc<CertifiedKey>) {
        self.current.store(key);
    }

    /// Re-reads `settings` and presents the result from the next handshake on. On error the
    /// current certificate stays in place.
    pub fn reload(&self, settings: &TlsSettings) -> Result<(), TlsConfigError> {
        self.set(settings.load()?);
        Ok(())
    }

    /// The certificate presented now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.load_full()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

impl fmt::Debug for CertResolver {
    /// Brief: the chain's DER would fill the log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertResolver")
            .field("chain_len", &self.current.load().cert.len())
            .finish_non_exhaustive()
    }
}

// === impl PeerCertificates ===

impl PeerCertificates {
    /// Wraps a presented chain, end-entity first; `None` when it is empty.
    pub fn new(chain: impl Into<Arc<[CertificateDer<'static>]>>) -> Option<Self> {
        let chain = chain.into();
        if chain.is_empty() {
            None
        } else {
            let digest = gatehouse_ca::chain_digest(&chain);
            Some(Self { chain, digest })
        }
    }

    /// The whole chain, end-entity first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// SHA-256 over the length-prefixed chain ([`gatehouse_ca::chain_digest`]): the key of
    /// cached verifications, computed once when the connection is established.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The client's own certificate.
    #[expect(
        clippy::expect_used,
        reason = "`new` refuses an empty chain, the only way to build one"
    )]
    pub fn end_entity(&self) -> &CertificateDer<'static> {
        self.chain
            .first()
            .expect("PeerCertificates::new refuses an empty chain")
    }

    /// The certificates the client sent after its own, in the order sent.
    pub fn intermediates(&self) -> &[CertificateDer<'static>] {
        self.chain.get(1..).unwrap_or_default()
    }
}

impl fmt::Debug for PeerCertificates {
    /// Brief: the DER would fill the log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerCertificates")
            .field("len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

// === impl TlsHandshake ===

impl Handshake for TlsHandshake {
    type Io = TlsStream<TcpStream>;
    type Info = TlsConnection;

    async fn handshake(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
    ) -> Option<(TlsStream<TcpStream>, TlsConnection)> {
        let stream = match tokio::time::timeout(self.timeout, self.acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return None;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return None;
            }
        };
        let (_, session) = stream.get_ref();
        let conn = TlsConnection {
            info: TlsInfo {
                sni: session.server_name().map(str::to_owned),
                alpn: session.alpn_protocol().map(<[u8]>::to_vec),
            },
            peer_certificates: session
                .peer_certificates()
                .and_then(|chain| PeerCertificates::new(chain.to_vec())),
        };
        Some((stream, conn))
    }
}

// === impl TlsConnection ===

impl ConnectionInfo for TlsConnection {
    fn insert_into(&self, extensions: &mut http::Extensions) {
        extensions.insert(self.info.clone());
        if let Some(certs) = &self.peer_certificates {
            extensions.insert(certs.clone());
        }
    }
}

#[cfg(test)]
mod tests;
