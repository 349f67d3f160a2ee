//! The gateway in front of an `https://` backend that requires a client certificate: the backend's
//! certificate is checked against the API's CA, and the gateway presents its own certificate
//! (mTLS), so the backend can refuse anything that is not the gateway.
//!
//! Certificates come from a test CA made with rcgen. Their validity is the rcgen default (years
//! around now), checked by rustls against the real time on both sides; nothing here tests expiry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gatehouse::config::{Flags, parse_str, resolve_with};
use gatehouse_core::{Clock, FakeClock, MapEnv, UnixTime};
use gatehouse_testkit::temp_dir;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use serde_json::{Value, json};

/// The SAN DNS name in the gateway's client certificate.
const GATEWAY_NAME: &str = "gateway.internal";

/// A test CA and what it issued, written as PEM files into a temp dir.
struct Pki {
    dir: gatehouse_testkit::TempDir,
    ca_der: CertificateDer<'static>,
    server_der: CertificateDer<'static>,
    server_key: Vec<u8>,
}

/// A TLS backend that requires a client certificate from the test CA and answers with the
/// DNS names of the certificate it was shown.
struct Backend {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

struct Env {
    http: reqwest::Client,
    url: String,
    gateway: String,
    admin: String,
    clock: Arc<FakeClock>,
    _server: gatehouse::server::RunningServer,
    _dir: gatehouse_testkit::TempDir,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn ca(cn: &str) -> (CertificateParams, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (params, key)
}

fn leaf(names: &[&str], cn: &str, usage: ExtendedKeyUsagePurpose) -> (CertificateParams, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![usage];
    (params, key)
}

// === impl Pki ===

impl Pki {
    /// `ca.pem`, `server.pem`/`server.key` (localhost, 127.0.0.1), `gateway.pem`/`gateway.key`
    /// (a client certificate from the same CA), and `other-ca.pem` (an unrelated CA).
    fn new() -> Self {
        let dir = temp_dir();
        let (ca_params, ca_key) = ca("Gatehouse test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let (sp, sk) = leaf(
            &["localhost", "127.0.0.1"],
            "backend",
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let server = sp.signed_by(&sk, &issuer).unwrap();
        let (gp, gk) = leaf(
            &[GATEWAY_NAME],
            "gatehouse-gateway",
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let gateway = gp.signed_by(&gk, &issuer).unwrap();
        let (other_params, other_key) = ca("Unrelated CA");
        let other = other_params.self_signed(&other_key).unwrap();
        let write = |name: &str, pem: String| std::fs::write(dir.path().join(name), pem).unwrap();
        write("ca.pem", ca_cert.pem());
        write("server.pem", server.pem());
        write("server.key", sk.serialize_pem());
        write("gateway.pem", gateway.pem());
        write("gateway.key", gk.serialize_pem());
        write("other-ca.pem", other.pem());
        Self {
            ca_der: ca_cert.der().clone(),
            server_der: server.der().clone(),
            server_key: sk.serialize_der(),
            dir,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `key = "<dir>/<file>"` for an inline TOML table.
    fn entry(&self, key: &str, file: &str) -> String {
        format!("{key} = {:?}", self.path(file).display().to_string())
    }

    /// The `upstream_tls` table: the test CA, and the gateway's certificate when `mtls`.
    fn upstream_tls(&self, ca_file: &str, mtls: bool, extra: &str) -> String {
        let mut fields = vec![self.entry("ca_file", ca_file)];
        if mtls {
            fields.push(self.entry("client_cert_file", "gateway.pem"));
            fields.push(self.entry("client_key_file", "gateway.key"));
        }
        if !extra.is_empty() {
            fields.push(extra.to_owned());
        }
        format!("upstream_tls = {{ {} }}", fields.join(", "))
    }
}

// === impl Backend ===

impl Backend {
    async fn start(pki: &Pki) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(pki, listener, pki.ca_der.clone())
    }

    /// Serves on `listener`, requiring client certificates that chain to `client_ca`.
    fn serve(
        pki: &Pki,
        listener: tokio::net::TcpListener,
        client_ca: CertificateDer<'static>,
    ) -> Self {
        let mut roots = RootCertStore::empty();
        roots.add(client_ca).unwrap();
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.clone()));
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![pki.server_der.clone()], key)
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A refused handshake (no or untrusted client certificate) just ends here.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let names = client_names(tls.get_ref().1.peer_certificates());
                    let uris = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(gatehouse_ca::identity_of)
                        .map(|id| id.san_uris)
                        .unwrap_or_default();
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let body = json!({
                            "client_dns_names": names,
                            "client_uris": uris,
                            "path": req.uri().path(),
                            "client_id": req.headers().get("x-gatehouse-client-id")
                                .and_then(|v| v.to_str().ok()),
                        });
                        async move { Ok::<_, Infallible>(hyper::Response::new(body.to_string())) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Self { addr, task }
    }

    /// `https://127.0.0.1:PORT`.
    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The SAN DNS names of the client's end-entity certificate.
fn client_names(certs: Option<&[CertificateDer<'static>]>) -> Vec<String> {
    let Some(cert) = certs.and_then(|c| c.first()) else {
        return Vec::new();
    };
    let ee = webpki::EndEntityCert::try_from(cert).unwrap();
    ee.valid_dns_names().map(str::to_owned).collect()
}

fn gateway_toml(upstream: &str, tls: &str) -> String {
    format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
[[gateway.apis]]
api = "orders"
upstreams = ["{upstream}"]
scopes = ["orders:read"]
{tls}
[[gateway.apis.routes]]
operation = "list"
path = "/orders"
methods = ["GET"]
"#
    )
}

fn flags(dir: &Path) -> Flags {
    Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.to_owned()),
        ..Flags::default()
    }
}

async fn start(upstream: &str, tls: &str) -> Env {
    start_at(upstream, tls, 1_800_000_000).await
}

/// [`start`] with the server's clock at `now`.
async fn start_at(upstream: &str, tls: &str, now: i64) -> Env {
    let dir = temp_dir();
    let toml = gateway_toml(upstream, tls);
    let cfg = resolve_with(
        &flags(dir.path()),
        &MapEnv::default(),
        parse_str(&toml).unwrap(),
    )
    .unwrap();
    let fake = Arc::new(FakeClock::new(UnixTime(now)));
    let clock: Arc<dyn Clock> = Arc::clone(&fake) as Arc<dyn Clock>;
    let server = gatehouse::server::start(&cfg, clock).await.unwrap();
    let admin = std::fs::read_to_string(&server.admin_token_file)
        .unwrap()
        .trim()
        .to_owned();
    Env {
        http: reqwest::Client::new(),
        url: format!("http://{}", server.addr),
        gateway: format!("http://{}", server.gateway_addr.unwrap()),
        admin,
        clock: fake,
        _server: server,
        _dir: dir,
    }
}

fn config_error(tls: &str) -> String {
    let toml = gateway_toml("https://127.0.0.1:1", tls);
    resolve_with(
        &flags(&std::env::temp_dir()),
        &MapEnv::default(),
        parse_str(&toml).unwrap(),
    )
    .unwrap_err()
    .to_string()
}

// === impl Env ===

impl Env {
    async fn admin_post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// Registers orders and a client granted `orders:read`; returns (client id, token).
    async fn client_token(&self) -> (String, String) {
        self.admin_post(
            "/admin/v1/apis",
            json!({"name": "orders", "audience": "https://orders.example", "scopes": ["orders:read"]}),
        )
        .await;
        let c = self
            .admin_post("/admin/v1/clients", json!({"name": "billing"}))
            .await;
        let (id, secret) = (
            c["client_id"].as_str().unwrap().to_owned(),
            c["client_secret"].as_str().unwrap().to_owned(),
        );
        let r = self
            .http
            .put(format!("{}/admin/v1/grants", self.url))
            .bearer_auth(&self.admin)
            .json(&json!({"client_id": id, "api": "orders", "scopes": ["orders:read"]}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let t: Value = self
            .http
            .post(format!("{}/oauth2/token", self.url))
            .basic_auth(&id, Some(&secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", "https://orders.example"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (id, t["access_token"].as_str().unwrap().to_owned())
    }

    async fn get_orders(&self, token: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/orders", self.gateway))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn mtls_upstream_sees_the_gateway_certificate() {
    let pki = Pki::new();
    let backend = Backend::start(&pki).await;
    let env = start(&backend.url(), &pki.upstream_tls("ca.pem", true, "")).await;
    let (id, token) = env.client_token().await;
    for _ in 0..2 {
        let r = env.get_orders(&token).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["client_dns_names"], json!([GATEWAY_NAME]));
        assert_eq!(body["path"], "/orders");
        assert_eq!(body["client_id"], id.as_str());
    }
}

#[tokio::test]
async fn the_gateway_presents_its_own_certificate_from_the_built_in_ca_and_renews_it() {
    // The backend (rustls) checks the gateway's certificate against the real time, so the
    // server's clock starts there: the CA issues from "now".
    #[expect(
        clippy::disallowed_methods,
        reason = "the backend reads the system clock"
    )]
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let pki = Pki::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let tls = format!(
        "upstream_tls = {{ {}, client_certificate = \"gatehouse\" }}",
        pki.entry("ca_file", "ca.pem")
    );
    let env = start_at(&url, &tls, i64::try_from(real_now).unwrap()).await;
    // The backend trusts only Gatehouse's CA for client certificates.
    let our_ca = env
        ._server
        .state
        .ca
        .as_ref()
        .unwrap()
        .authority()
        .root()
        .clone();
    let _backend = Backend::serve(&pki, listener, our_ca);
    let (_, token) = env.client_token().await;
    let r = env.get_orders(&token).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["client_uris"],
        json!(["spiffe://gatehouse.local/gatehouse/gateway"])
    );

    // Renewal at two thirds of the lifetime (24 h), in place: no restart.
    let identity = env._server.gateway_identity.as_ref().unwrap();
    let first = identity.current_certificate().unwrap();
    assert!(!identity.renew_if_due().await.unwrap(), "fresh: not due");
    env.clock.advance(16 * 3600 + 1);
    assert!(identity.renew_if_due().await.unwrap(), "two thirds: due");
    let second = identity.current_certificate().unwrap();
    assert_ne!(first.cert[0], second.cert[0]);
    let (nb1, nb2) = (
        gatehouse_ca::identity_of(&first.cert[0])
            .unwrap()
            .not_before,
        gatehouse_ca::identity_of(&second.cert[0])
            .unwrap()
            .not_before,
    );
    assert_eq!(nb2 - nb1, 16 * 3600 + 1);
}

#[test]
fn config_error_names_a_client_certificate_of_unknown_origin() {
    let msg = config_error("upstream_tls = { client_certificate = \"vault\" }");
    assert!(msg.contains("client_certificate"), "{msg}");
    let pki = Pki::new();
    let msg = config_error(&format!(
        "upstream_tls = {{ client_certificate = \"gatehouse\", {}, {} }}",
        pki.entry("client_cert_file", "gateway.pem"),
        pki.entry("client_key_file", "gateway.key")
    ));
    assert!(msg.contains("replaces client_cert_file"), "{msg}");
}

#[tokio::test]
async fn backend_requiring_a_client_certificate_refuses_a_gateway_without_one_with_502() {
    let pki = Pki::new();
    let backend = Backend::start(&pki).await;
    let env = start(&backend.url(), &pki.upstream_tls("ca.pem", false, "")).await;
    let (_, token) = env.client_token().await;
    assert_eq!(env.get_orders(&token).await.status(), 502);
}

#[tokio::test]
async fn backend_certificate_from_an_untrusted_ca_is_refused_with_502() {
    let pki = Pki::new();
    let backend = Backend::start(&pki).await;
    let env = start(&backend.url(), &pki.upstream_tls("other-ca.pem", true, "")).await;
    let (_, token) = env.client_token().await;
    assert_eq!(env.get_orders(&token).await.status(), 502);
}

#[tokio::test]
async fn server_name_override_is_the_name_checked_in_the_backend_certificate() {
    let pki = Pki::new();
    let backend = Backend::start(&pki).await;
    let tls = pki.upstream_tls("ca.pem", true, r#"server_name = "orders.internal""#);
    let env = start(&backend.url(), &tls).await;
    let (_, token) = env.client_token().await;
    // The certificate names localhost and 127.0.0.1, not orders.internal.
    assert_eq!(env.get_orders(&token).await.status(), 502);
    drop(env);
    let tls = pki.upstream_tls("ca.pem", true, r#"server_name = "localhost""#);
    let env = start(&backend.url(), &tls).await;
    let (_, token) = env.client_token().await;
    assert_eq!(env.get_orders(&token).await.status(), 200);
}

#[test]
fn config_error_names_a_missing_ca_file() {
    let pki = Pki::new();
    let e = config_error(&pki.upstream_tls("missing.pem", false, ""));
    assert!(
        e.starts_with("gateway.apis[0].upstream_tls.ca_file:"),
        "{e}"
    );
}

#[test]
fn config_error_names_a_client_key_that_does_not_match_the_certificate() {
    let pki = Pki::new();
    let tls = format!(
        "upstream_tls = {{ {}, {} }}",
        pki.entry("client_cert_file", "gateway.pem"),
        pki.entry("client_key_file", "server.key"),
    );
    let e = config_error(&tls);
    assert!(
        e.starts_with("gateway.apis[0].upstream_tls.client_key_file:"),
        "{e}"
    );
    assert!(e.contains("does not match"), "{e}");
}

#[test]
fn config_error_names_a_client_certificate_file_that_holds_no_certificate() {
    let pki = Pki::new();
    let tls = format!(
        "upstream_tls = {{ {}, {} }}",
        pki.entry("client_cert_file", "gateway.key"),
        pki.entry("client_key_file", "gateway.key"),
    );
    let e = config_error(&tls);
    assert!(
        e.starts_with("gateway.apis[0].upstream_tls.client_cert_file:"),
        "{e}"
    );
}

#[test]
fn config_error_names_a_client_certificate_without_its_key() {
    let pki = Pki::new();
    let tls = format!(
        "upstream_tls = {{ {} }}",
        pki.entry("client_cert_file", "gateway.pem")
    );
    let e = config_error(&tls);
    assert!(
        e.starts_with("gateway.apis[0].upstream_tls.client_key_file:"),
        "{e}"
    );
}

#[test]
fn config_error_names_upstream_tls_on_plain_http_upstreams() {
    let pki = Pki::new();
    let toml = gateway_toml("http://127.0.0.1:1", &pki.upstream_tls("ca.pem", false, ""));
    let e = resolve_with(
        &flags(&std::env::temp_dir()),
        &MapEnv::default(),
        parse_str(&toml).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("gateway.apis[0].upstream_tls:"), "{e}");
}
