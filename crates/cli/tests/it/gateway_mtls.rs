//! mTLS at the gateway: a TLS listener that asks for client certificates, per-API trusted CAs,
//! SPIFFE IDs mapped to applications, subscriptions still required, bearer tokens over the same
//! listener, HTTP/2 by ALPN, and forwarded client certificates at the forward-auth endpoint.
//! Certificates come from test CAs made with rcgen (validity: rcgen's default, years around
//! now, which contains the fake clock's 2027).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code fails loudly"
)]

use crate::common;

use common::{ORDERS, TestServer, json_body};
use gatehouse_testkit::echo::Echo;
use gatehouse_testkit::{TempDir, temp_dir};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use reqwest::StatusCode;

const TRUST_DOMAIN: &str = "gatehouse.local";

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(cn: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A leaf certificate and its key, as one PEM (what reqwest's `Identity::from_pem` reads).
fn leaf(ca: &Ca, cn: &str, sans: Vec<SanType>, eku: ExtendedKeyUsagePurpose) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.subject_alt_names = sans;
    params.extended_key_usages = vec![eku];
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn client_cert(ca: &Ca, client_id: &str) -> String {
    let uri = format!("spiffe://{TRUST_DOMAIN}/app/{client_id}");
    let (cert, key) = leaf(
        ca,
        client_id,
        vec![SanType::URI(uri.as_str().try_into().unwrap())],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    format!("{cert}{key}")
}

struct Env {
    s: TestServer,
    server_ca: Ca,
    clients_ca: Ca,
    _echo: Echo,
    _dir: TempDir,
}

async fn start() -> Env {
    let dir = temp_dir();
    let server_ca = ca("gateway server CA");
    let clients_ca = ca("service clients CA");
    let (server_cert, server_key) = leaf(
        &server_ca,
        "gateway",
        vec![
            SanType::DnsName("localhost".try_into().unwrap()),
            SanType::IpAddress("127.0.0.1".parse().unwrap()),
        ],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let path = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(path("server.pem"), server_cert).unwrap();
    std::fs::write(path("server.key"), server_key).unwrap();
    std::fs::write(path("clients-ca.pem"), &clients_ca.pem).unwrap();
    let echo = Echo::start().await;
    let toml = format!(
        r#"
[client_auth]
lockout_max_failures = 1000
[gateway]
listen = "127.0.0.1:0"
tls = {{ cert_file = "{cert}", key_file = "{key}" }}
forward_auth = {{ trusted_peers = ["127.0.0.1"], client_cert_header = "X-Forwarded-Client-Cert" }}
[[gateway.apis]]
api = "orders"
upstreams = ["{echo}"]
accept = ["mtls", "bearer"]
scopes = ["orders:read"]
mtls = {{ ca_file = "{ca}", trust_domain = "{TRUST_DOMAIN}" }}
[[gateway.apis.routes]]
operation = "any"
path = "/orders/*"
[[gateway.apis.routes]]
operation = "tokens-only"
path = "/admin/*"
accept = ["bearer"]
[[gateway.apis]]
api = "payments"
upstreams = ["{echo}"]
accept = ["mtls"]
mtls = {{}}
[[gateway.apis.routes]]
operation = "any"
path = "/payments/*"
"#,
        cert = path("server.pem"),
        key = path("server.key"),
        ca = path("clients-ca.pem"),
        echo = echo.url(),
    );
    let s = TestServer::start_with_config(&toml).await;
    s.create_api("orders", ORDERS, &["orders:read"]).await;
    s.create_api("payments", "https://payments.example", &["payments:read"])
        .await;
    Env {
        s,
        server_ca,
        clients_ca,
        _echo: echo,
        _dir: dir,
    }
}

impl Env {
    /// `https://127.0.0.1:PORT/...` on the gateway.
    fn url(&self, path: &str) -> String {
        self.s.gw(path).replace("http://", "https://")
    }

    /// An HTTPS client trusting the gateway's CA, presenting `identity` (cert + key PEM).
    fn https(&self, identity: Option<&str>) -> reqwest::Client {
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .tls_built_in_root_certs(false)
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.server_ca.pem.as_bytes()).unwrap(),
            );
        if let Some(pem) = identity {
            b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
        }
        b.build().unwrap()
    }
}

#[tokio::test]
async fn a_client_certificate_with_the_applications_spiffe_id_authenticates_it() {
    let env = start().await;
    let app = env.s.create_client("reports", "client_secret_basic").await;
    env.s.grant(&app.id, "orders", &["orders:read"]).await;
    let http = env.https(Some(&client_cert(&env.clients_ca, &app.id)));
    let resp = http
        .get(env.url("/orders/7"))
        .header("x-gatehouse-client-id", "spoofed")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.version(), reqwest::Version::HTTP_2, "h2 by ALPN");
    let echoed = json_body(resp).await;
    assert_eq!(echoed["headers"]["x-gatehouse-client-id"], app.id);
    assert_eq!(echoed["headers"]["x-gatehouse-scopes"], "orders:read");
    assert_eq!(echoed["headers"]["x-forwarded-proto"], "https");

    // The same certificate does not open an operation that accepts bearer tokens only.
    let resp = http.get(env.url("/admin/x")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

/// A certificate from the built-in CA for `client` (CSR through the admin API), as
/// certificate + key PEM, and its serial.
async fn built_in_cert(s: &TestServer, client: &str) -> (String, String) {
    let (csr, key) = gatehouse_ca::csr::generate_request(&[]).unwrap();
    let (status, v) = s
        .admin_json(
            reqwest::Method::POST,
            &format!("/admin/v1/clients/{client}/certificates"),
            Some(serde_json::json!({ "csr": csr })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    (
        format!("{}{}", v["chain"].as_str().unwrap(), *key),
        v["serial"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn an_api_without_a_ca_file_trusts_the_built_in_ca_and_its_deny_list() {
    let env = start().await;
    let app = env.s.create_client("reports", "client_secret_basic").await;
    env.s.grant(&app.id, "payments", &["payments:read"]).await;
    let (identity, serial) = built_in_cert(&env.s, &app.id).await;
    let http = env.https(Some(&identity));
    let resp = http.get(env.url("/payments/1")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let echoed = json_body(resp).await;
    assert_eq!(echoed["headers"]["x-gatehouse-client-id"], app.id);

    // The built-in CA is not trusted where an API names its own CA file.
    env.s.grant(&app.id, "orders", &["orders:read"]).await;
    let resp = http.get(env.url("/orders/1")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // The same SPIFFE ID from another CA is refused.
    let http_rogue = env.https(Some(&client_cert(&env.clients_ca, &app.id)));
    let resp = http_rogue.get(env.url("/payments/1")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // Deny-listing the serial takes effect on the next request (the gateway reads the
    // catalog the revocation reloaded), also on a connection that is already open.
    let (status, _) = env
        .s
        .admin_json(
            reqwest::Method::POST,
            &format!("/admin/v1/certificates/{serial}/revoke"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let resp = http.get(env.url("/payments/1")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // A fresh certificate for the same application works again.
    let (fresh, _) = built_in_cert(&env.s, &app.id).await;
    let resp = env
        .https(Some(&fresh))
        .get(env.url("/payments/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn certificates_that_are_untrusted_unmapped_or_unsubscribed_are_refused() {
    let env = start().await;
    let app = env.s.create_client("reports", "client_secret_basic").await;

    // Trusted and mapped, but without a subscription: 403.
    let http = env.https(Some(&client_cert(&env.clients_ca, &app.id)));
    let resp = http.get(env.url("/orders/7")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    env.s.grant(&app.id, "orders", &["orders:read"]).await;

    // The application's SPIFFE ID, but issued by a CA this API does not trust: 401.
    let rogue = ca("rogue CA");
    let http = env.https(Some(&client_cert(&rogue, &app.id)));
    let resp = http.get(env.url("/orders/7")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // Another trust domain's SPIFFE ID, or a certificate for an unknown application: 401.
    let (cert, key) = leaf(
        &env.clients_ca,
        "x",
        vec![SanType::URI(
            format!("spiffe://other.example/app/{}", app.id)
                .as_str()
                .try_into()
                .unwrap(),
        )],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let http = env.https(Some(&format!("{cert}{key}")));
    let resp = http.get(env.url("/orders/7")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let http = env.https(Some(&client_cert(&env.clients_ca, "app_doesnotexist")));
    let resp = http.get(env.url("/orders/7")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // A server certificate from the trusted CA is not a client certificate.
    let (cert, key) = leaf(
        &env.clients_ca,
        "web",
        vec![SanType::URI(
            format!("spiffe://{TRUST_DOMAIN}/app/{}", app.id)
                .as_str()
                .try_into()
                .unwrap(),
        )],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let result = env
        .https(Some(&format!("{cert}{key}")))
        .get(env.url("/orders/7"))
        .send()
        .await;
    // rustls clients refuse to present a server-only certificate for client auth, or the
    // gateway refuses it: either way no access.
    if let Ok(resp) = result {
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }

    // No certificate and no token: the bare challenge.
    let resp = env
        .https(None)
        .get(env.url("/orders/7"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"gatehouse\""
    );
}

#[tokio::test]
async fn bearer_tokens_work_on_the_tls_listener_too() {
    let env = start().await;
    let app = env.s.create_client("billing", "client_secret_basic").await;
    env.s.grant(&app.id, "orders", &["orders:read"]).await;
    let token = env.s.access_token(&app, &[("resource", ORDERS)]).await;
    let resp = env
        .https(None)
        .get(env.url("/admin/x"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Plain HTTP to the TLS listener gets no HTTP answer.
    let plain = env.s.http.get(env.s.gw("/orders/1")).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[tokio::test]
async fn forward_auth_accepts_a_client_certificate_forwarded_by_a_trusted_proxy() {
    let env = start().await;
    let app = env.s.create_client("reports", "client_secret_basic").await;
    env.s.grant(&app.id, "orders", &["orders:read"]).await;
    let pem = client_cert(&env.clients_ca, &app.id);
    let cert_pem = &pem[..pem.find("-----BEGIN PRIVATE KEY").unwrap()];
    // Percent-encoded like nginx's `$ssl_client_escaped_cert` (spaces and newlines escaped).
    let escaped: String = cert_pem
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'+' | b'/' | b'=' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    let http = env.https(None);
    // nginx: `proxy_set_header X-Forwarded-Client-Cert $ssl_client_escaped_cert;`
    let resp = http
        .get(env.url("/.gatehouse/forward-auth"))
        .header("x-original-uri", "/orders/3")
        .header("x-original-method", "GET")
        .header("x-forwarded-client-cert", &escaped)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-gatehouse-client-id"], app.id.as_str());
    // Envoy: `Hash=…;Cert="<url-encoded PEM>";Subject="…"`.
    let xfcc = format!("Hash=abc;Cert=\"{escaped}\";Subject=\"CN=x\"");
    let resp = http
        .get(env.url("/.gatehouse/forward-auth"))
        .header("x-original-uri", "/orders/3")
        .header("x-forwarded-client-cert", &xfcc)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Garbage in the header is no credential.
    let resp = http
        .get(env.url("/.gatehouse/forward-auth"))
        .header("x-original-uri", "/orders/3")
        .header("x-forwarded-client-cert", "%%%not-a-cert")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // Through the proxy path, the header is never believed: only the handshake counts.
    let resp = http
        .get(env.url("/orders/3"))
        .header("x-forwarded-client-cert", &escaped)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn mtls_configuration_errors_name_the_field() {
    let parse = |toml: &str| {
        let raw = gatehouse::config::parse_str(toml).unwrap();
        raw.gateway.validate().map(|_| ()).unwrap_err().to_string()
    };
    let api = r#"
[[gateway.apis]]
api = "orders"
upstreams = ["http://127.0.0.1:1"]
accept = ["mtls"]
[[gateway.apis.routes]]
operation = "any"
path = "/*"
"#;
    let err = parse(&format!("[gateway]\nlisten = \"127.0.0.1:0\"\n{api}"));
    assert!(err.starts_with("gateway.apis[0].mtls"), "{err}");
    let err = parse(&format!(
        "[gateway]\nlisten = \"127.0.0.1:0\"\n{api}\n[gateway.apis.mtls]\nca_file = \"/nonexistent.pem\"\ntrust_domain = \"x\"\n"
    ));
    assert!(err.starts_with("gateway.apis[0].mtls.ca_file"), "{err}");
    let err = parse(
        "[gateway]\nlisten = \"127.0.0.1:0\"\ntls = { cert_file = \"a\", key_file = \"b\", client_certs = \"maybe\" }\n",
    );
    assert!(err.starts_with("gateway.tls.client_certs"), "{err}");
}

/// A token shaped like the authorization server's, with `extra` claims, signed by its key.
fn mint(s: &TestServer, client: &str, extra: serde_json::Value) -> String {
    let mut claims = serde_json::json!({
        "iss": s.issuer, "sub": client, "client_id": client, "aud": ORDERS,
        "scope": "orders:read", "iat": s.now(), "exp": s.now() + 300,
        "jti": format!("jti-{}", s.now()),
    });
    claims
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let ring = s.state.keys.ring();
    let key = ring.signer(gatehouse_core::Alg::ES256).unwrap();
    key.sign_jwt("at+jwt", &serde_json::to_vec(&claims).unwrap())
        .unwrap()
}

fn x5t_s256(cert_and_key_pem: &str) -> String {
    use base64::Engine as _;
    use rustls::pki_types::pem::PemObject as _;
    let der =
        rustls::pki_types::CertificateDer::from_pem_slice(cert_and_key_pem.as_bytes()).unwrap();
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der.as_ref());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
}

#[tokio::test]
async fn a_certificate_bound_token_needs_that_certificate_on_the_connection() {
    let env = start().await;
    let app = env.s.create_client("billing", "client_secret_basic").await;
    env.s.grant(&app.id, "orders", &["orders:read"]).await;
    let mine = client_cert(&env.clients_ca, &app.id);
    let other = client_cert(&env.clients_ca, "app_someoneelse");
    let bound = mint(
        &env.s,
        &app.id,
        serde_json::json!({"cnf": {"x5t#S256": x5t_s256(&mine)}}),
    );
    // On the operation that accepts bearer tokens only, the certificate is not a credential
    // but still the proof the bound token needs.
    let with = |id: Option<&str>| {
        env.https(id)
            .get(env.url("/admin/x"))
            .bearer_auth(&bound)
            .send()
    };
    assert_eq!(with(Some(&mine)).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        with(None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "bound token without a certificate"
    );
    assert_eq!(
        with(Some(&other)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "bound token with another certificate"
    );
    // A confirmation method the gateway cannot enforce (DPoP's jkt) is refused outright.
    let dpop = mint(&env.s, &app.id, serde_json::json!({"cnf": {"jkt": "abc"}}));
    let resp = env
        .https(Some(&mine))
        .get(env.url("/admin/x"))
        .bearer_auth(&dpop)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // The same claims without cnf are a plain bearer token.
    let plain = mint(&env.s, &app.id, serde_json::json!({}));
    let resp = env
        .https(None)
        .get(env.url("/admin/x"))
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}
