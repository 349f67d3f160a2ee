//! TLS listener tests over real sockets on `127.0.0.1:0`, with a test CA made by rcgen.
//!
//! Certificate validity is the rcgen default (years around now); the handshake does not check
//! it, and nothing here tests expiry.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::response::IntoResponse;
use http::{StatusCode, Version};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::client::ResolvesClientCert;
use rustls::pki_types::{PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, SignatureScheme};
use tokio::io::AsyncReadExt;
use tokio_rustls::TlsConnector;

use super::*;

/// A test CA, two server certificates and a client certificate, as PEM files in a temp dir.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertificateDer<'static>,
    server_a: CertificateDer<'static>,
    server_b: CertificateDer<'static>,
    client: CertificateDer<'static>,
    client_key: Vec<u8>,
}

/// A running TLS listener.
struct Server {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// What the test client saw.
struct Exchange {
    status: StatusCode,
    headers: http::HeaderMap,
    /// The end-entity DER the handler saw in `PeerCertificates`, empty when there was none.
    body: Bytes,
    /// The server's end-entity certificate as presented at the handshake.
    server_cert: CertificateDer<'static>,
}

/// Presents `cert` but signs with a different key: a client that does not hold the key.
#[derive(Debug)]
struct StolenCertificate(Arc<CertifiedKey>);

fn leaf(cn: &str, issuer: &Issuer<'_, KeyPair>) -> (CertificateDer<'static>, KeyPair, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.der().clone(), key, cert.pem())
}

async fn start(config: Arc<ServerConfig>, options: ServeOptions) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route("/whoami", axum::routing::get(whoami));
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_tls_with(
        listener,
        config,
        router,
        async move {
            let _ = rx.await;
        },
        options,
    ));
    Server { addr, stop, task }
}

/// Reports what the request carried: the version, peer address, TLS facts in headers, and the
/// client's end-entity certificate as the body.
async fn whoami(req: Request) -> impl IntoResponse {
    let ext = req.extensions();
    let peer = ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let tls = ext.get::<TlsInfo>().cloned().unwrap_or_default();
    let body = ext
        .get::<PeerCertificates>()
        .map(|c| c.end_entity().to_vec())
        .unwrap_or_default();
    let headers = [
        ("x-version", format!("{:?}", req.version())),
        ("x-peer", format!("{peer:?}")),
        ("x-tls", ext.get::<TlsInfo>().is_some().to_string()),
        ("x-sni", tls.sni.unwrap_or_default()),
        (
            "x-alpn",
            String::from_utf8_lossy(&tls.alpn.unwrap_or_default()).into_owned(),
        ),
    ];
    (headers, body)
}

fn client_config(pki: &Pki, alpn: &[&[u8]], cert: Option<&Pki>) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match cert {
        Some(p) => builder
            .with_client_auth_cert(
                vec![p.client.clone()],
                PrivatePkcs8KeyDer::from(p.client_key.clone()).into(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

/// Connects to `addr` with `config`, sends `GET /whoami` over the protocol ALPN chose.
async fn get(addr: SocketAddr, config: ClientConfig) -> Result<Exchange, String> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (_, session) = tls.get_ref();
    let server_cert = session.peer_certificates().unwrap()[0].clone();
    let h2 = session.alpn_protocol() == Some(b"h2");
    let io = TokioIo::new(tls);
    let req = http::Request::get("https://localhost/whoami")
        .header(http::header::HOST, "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = if h2 {
        let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| format!("h2 handshake: {e}"))?;
        tokio::spawn(conn);
        send.send_request(req).await
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| format!("http1 handshake: {e}"))?;
        tokio::spawn(conn);
        send.send_request(req).await
    }
    .map_err(|e| format!("request: {e}"))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Ok(Exchange {
        status,
        headers,
        body,
        server_cert,
    })
}

fn header<'a>(exchange: &'a Exchange, name: &str) -> &'a str {
    exchange.headers[name].to_str().unwrap()
}

async fn request_mode_server(pki: &Pki) -> (Server, Arc<CertResolver>) {
    let certs = Arc::new(CertResolver::load(&pki.settings("a")).unwrap());
    let config = server_config(Arc::clone(&certs), ClientCerts::Request).unwrap();
    (start(config, ServeOptions::default()).await, certs)
}

// === impl Pki ===

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Gatehouse net test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap().der().clone();
        let issuer = Issuer::new(ca_params, ca_key);
        let write = |name: &str, pem: &str| std::fs::write(dir.path().join(name), pem).unwrap();
        let (server_a, key_a, pem_a) = leaf("server a", &issuer);
        write("a.pem", &pem_a);
        write("a.key", &key_a.serialize_pem());
        let (server_b, key_b, pem_b) = leaf("server b", &issuer);
        write("b.pem", &pem_b);
        write("b.key", &key_b.serialize_pem());
        let (client, client_key, _) = leaf("client", &issuer);
        Self {
            dir,
            ca,
            server_a,
            server_b,
            client,
            client_key: client_key.serialize_der(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `a` or `b`: that server certificate and its key.
    fn settings(&self, which: &str) -> TlsSettings {
        TlsSettings::new(
            self.path(&format!("{which}.pem")),
            self.path(&format!("{which}.key")),
        )
    }
}

// === impl StolenCertificate ===

impl ResolvesClientCert for StolenCertificate {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn client_without_a_certificate_is_served_and_handler_sees_none() {
    let pki = Pki::new();
    let (server, _) = request_mode_server(&pki).await;
    let got = get(server.addr, client_config(&pki, &[b"http/1.1"], None))
        .await
        .unwrap();
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.body.is_empty(), "no PeerCertificates expected");
    assert_eq!(header(&got, "x-tls"), "true");
    assert_eq!(header(&got, "x-sni"), "localhost");
    assert_eq!(header(&got, "x-peer"), "Some(127.0.0.1)");
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn handler_sees_the_exact_client_certificate_presented() {
    let pki = Pki::new();
    let (server, _) = request_mode_server(&pki).await;
    let got = get(server.addr, client_config(&pki, &[b"h2"], Some(&pki)))
        .await
        .unwrap();
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(&got.body[..], pki.client.as_ref());
}

#[tokio::test]
async fn client_certificate_is_not_asked_for_when_off() {
    let pki = Pki::new();
    let certs = Arc::new(CertResolver::load(&pki.settings("a")).unwrap());
    let config = server_config(certs, ClientCerts::Off).unwrap();
    let server = start(config, ServeOptions::default()).await;
    let got = get(server.addr, client_config(&pki, &[b"h2"], Some(&pki)))
        .await
        .unwrap();
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.body.is_empty(), "no PeerCertificates expected");
}

#[tokio::test]
async fn http2_is_negotiated_by_alpn_and_http1_still_works() {
    let pki = Pki::new();
    let (server, _) = request_mode_server(&pki).await;
    let h2 = get(
        server.addr,
        client_config(&pki, &[b"h2", b"http/1.1"], None),
    )
    .await
    .unwrap();
    assert_eq!(header(&h2, "x-version"), format!("{:?}", Version::HTTP_2));
    assert_eq!(header(&h2, "x-alpn"), "h2");
    let h1 = get(server.addr, client_config(&pki, &[b"http/1.1"], None))
        .await
        .unwrap();
    assert_eq!(header(&h1, "x-version"), format!("{:?}", Version::HTTP_11));
    assert_eq!(header(&h1, "x-alpn"), "http/1.1");
    let no_alpn = get(server.addr, client_config(&pki, &[], None))
        .await
        .unwrap();
    assert_eq!(
        header(&no_alpn, "x-version"),
        format!("{:?}", Version::HTTP_11)
    );
    assert_eq!(header(&no_alpn, "x-alpn"), "");
}

/// A client showing someone else's certificate, signing the handshake with its own key.
async fn stolen_certificate_exchange(versions: &[&'static rustls::SupportedProtocolVersion]) {
    let pki = Pki::new();
    let (server, _) = request_mode_server(&pki).await;
    let own_key = KeyPair::generate().unwrap();
    let signing_key = provider()
        .key_provider
        .load_private_key(PrivatePkcs8KeyDer::from(own_key.serialize_der()).into())
        .unwrap();
    let stolen = CertifiedKey::new(vec![pki.client.clone()], signing_key);
    assert!(stolen.keys_match().is_err(), "the test key must not match");
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(StolenCertificate(Arc::new(stolen))));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // In TLS 1.3 the client finishes its side first, so the refusal may surface as the
    // server's alert on the request rather than as a failed connect.
    let outcome = tokio::time::timeout(Duration::from_secs(5), get(server.addr, config))
        .await
        .expect("the server must answer or close");
    assert!(
        outcome.is_err(),
        "a client without the key was served: {:?}",
        outcome.map(|e| e.status)
    );
}

#[tokio::test]
async fn tls13_client_without_the_certificate_key_cannot_complete_the_handshake() {
    stolen_certificate_exchange(&[&rustls::version::TLS13]).await;
}

#[tokio::test]
async fn tls12_client_without_the_certificate_key_cannot_complete_the_handshake() {
    stolen_certificate_exchange(&[&rustls::version::TLS12]).await;
}

#[tokio::test]
async fn client_that_never_says_hello_is_dropped_after_the_timeout() {
    let pki = Pki::new();
    let certs = Arc::new(CertResolver::load(&pki.settings("a")).unwrap());
    let config = server_config(certs, ClientCerts::Request).unwrap();
    let options = ServeOptions {
        header_read_timeout: Duration::from_millis(200),
        ..ServeOptions::default()
    };
    let server = start(config, options).await;
    let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "the server must close a connection that never starts a handshake"
    );
    assert!(out.is_empty(), "nothing is sent before a ClientHello");
}

#[tokio::test]
async fn swapped_certificate_is_presented_to_new_handshakes() {
    let pki = Pki::new();
    let (server, certs) = request_mode_server(&pki).await;
    let before = get(server.addr, client_config(&pki, &[b"h2"], None))
        .await
        .unwrap();
    assert_eq!(before.server_cert, pki.server_a);
    certs.reload(&pki.settings("b")).unwrap();
    let after = get(server.addr, client_config(&pki, &[b"h2"], None))
        .await
        .unwrap();
    assert_eq!(after.server_cert, pki.server_b);
    certs.set(pki.settings("a").load().unwrap());
    let back = get(server.addr, client_config(&pki, &[b"h2"], None))
        .await
        .unwrap();
    assert_eq!(back.server_cert, pki.server_a);
}

#[test]
fn failed_reload_keeps_the_current_certificate() {
    let pki = Pki::new();
    let certs = CertResolver::load(&pki.settings("a")).unwrap();
    let broken = TlsSettings::new(pki.path("a.pem"), pki.path("b.key"));
    assert!(certs.reload(&broken).is_err());
    assert_eq!(certs.current().cert[0], pki.server_a);
}

#[test]
fn missing_file_is_a_read_error_naming_it() {
    let pki = Pki::new();
    let settings = TlsSettings::new(pki.path("nope.pem"), pki.path("a.key"));
    let err = settings.load().unwrap_err();
    assert!(matches!(err, TlsConfigError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.pem"), "{err}");
}

#[test]
fn file_without_a_certificate_is_refused_naming_it() {
    let pki = Pki::new();
    let settings = TlsSettings::new(pki.path("a.key"), pki.path("a.key"));
    let err = settings.load().unwrap_err();
    assert!(
        matches!(err, TlsConfigError::NoCertificate { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("a.key"), "{err}");
}

#[test]
fn file_without_a_private_key_is_refused_naming_it() {
    let pki = Pki::new();
    let settings = TlsSettings::new(pki.path("a.pem"), pki.path("b.pem"));
    let err = settings.load().unwrap_err();
    assert!(
        matches!(err, TlsConfigError::NoPrivateKey { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("b.pem"), "{err}");
}

#[test]
fn key_not_matching_the_certificate_is_refused_naming_both_files() {
    let pki = Pki::new();
    let settings = TlsSettings::new(pki.path("a.pem"), pki.path("b.key"));
    let err = settings.load().unwrap_err();
    assert!(matches!(err, TlsConfigError::KeyMismatch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("b.key") && msg.contains("a.pem"), "{msg}");
}

#[test]
fn peer_certificates_refuse_an_empty_chain() {
    assert!(PeerCertificates::new(Vec::new()).is_none());
    let pki = Pki::new();
    let certs = PeerCertificates::new(vec![pki.client.clone(), pki.ca.clone()]).unwrap();
    assert_eq!(certs.end_entity(), &pki.client);
    assert_eq!(certs.intermediates(), std::slice::from_ref(&pki.ca));
}
