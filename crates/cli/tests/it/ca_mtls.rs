//! The certificate authority and mTLS at the authorization server, over real TLS: the HTTPS
//! listener with a CA-issued server certificate, trust bundles, issuance from CSRs (admin and
//! bearer token), renewal by mTLS, the serial deny-list, RFC 8705 `tls_client_auth` and
//! `self_signed_tls_client_auth`, and certificate-bound tokens. Validity is judged by the
//! server's fake clock, never the system time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code fails loudly"
)]

use crate::common;

use base64::Engine as _;
use common::{ORDERS, TestServer};
use gatehouse_proto::ca::SignedCertificate;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

const CONFIG: &str = r#"
[client_auth]
lockout_max_failures = 1000
[tls]
listen = "127.0.0.1:0"
hosts = ["localhost"]
"#;

async fn start() -> TestServer {
    TestServer::start_with_config(CONFIG).await
}

/// A fresh key and CSR asking for `dns`.
fn csr(dns: &[&str]) -> (String, String) {
    let names: Vec<String> = dns.iter().map(|d| (*d).to_owned()).collect();
    let (csr, key) = gatehouse_ca::csr::generate_request(&names).unwrap();
    (csr, key.to_string())
}

/// Issues a certificate for `client` through the admin API; returns it and its key.
async fn issue(s: &TestServer, client: &str, dns: &[&str]) -> (SignedCertificate, String) {
    let (csr, key) = csr(dns);
    let (status, v) = s
        .admin_json(
            Method::POST,
            &format!("/admin/v1/clients/{client}/certificates"),
            Some(json!({ "csr": csr })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    (serde_json::from_value(v).unwrap(), key)
}

fn identity(cert: &SignedCertificate, key: &str) -> String {
    format!("{}{key}", cert.chain)
}

fn x5t(cert_pem: &str) -> String {
    let der = gatehouse_ca::parse_pem_certificates(cert_pem).unwrap();
    gatehouse_ca::x5t_s256(&der[0])
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// A self-signed certificate + key (rcgen's default validity spans the fake clock).
fn self_signed(cn: &str, sans: Vec<rcgen::SanType>) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.subject_alt_names = sans;
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

async fn sign_over_mtls(s: &TestServer, identity: &str) -> (StatusCode, Value) {
    let (csr, _) = csr(&[]);
    let resp = s
        .https_client(Some(identity))
        .post(s.tls("/ca/v1/sign"))
        .json(&json!({ "csr": csr }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn mtls_token(
    s: &TestServer,
    identity: Option<&str>,
    client_id: &str,
) -> (StatusCode, Value) {
    let resp = s
        .https_client(identity)
        .post(s.tls("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("audience", ORDERS),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

/// API `orders` and a `tls_client_auth` client matching SAN DNS `billing.internal` (registered
/// for its certificates too).
async fn tls_client_auth_app(s: &TestServer) -> common::TestClient {
    s.create_api("orders", ORDERS, &["orders:read"]).await;
    s.create_client_json(json!({
        "name": "billing",
        "auth_method": "tls_client_auth",
        "tls": { "san_dns": "billing.internal" },
        "dns_names": ["billing.internal"],
    }))
    .await
}

#[tokio::test]
async fn bundles_and_metadata_describe_the_ca_and_the_mtls_listener() {
    let s = start().await;
    let ca = s.state.ca.as_ref().unwrap();
    // Plain HTTP and the HTTPS listener (whose own certificate our CA issued) serve the same.
    for client_url in [s.at("/ca/v1/bundle.pem"), s.tls("/ca/v1/bundle.pem")] {
        let resp = s.https_client(None).get(&client_url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/pem-certificate-chain"
        );
        assert_eq!(resp.text().await.unwrap(), ca.bundle_pem());
    }
    let spiffe: Value = s
        .http
        .get(s.at("/ca/v1/bundle"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spiffe["keys"][0]["use"], "x509-svid");
    assert!(spiffe["keys"][0]["x5c"][0].is_string());

    let meta: Value = s
        .http
        .get(s.at("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let methods = meta["token_endpoint_auth_methods_supported"].to_string();
    assert!(methods.contains("\"tls_client_auth\""), "{methods}");
    assert!(
        methods.contains("\"self_signed_tls_client_auth\""),
        "{methods}"
    );
    assert_eq!(meta["tls_client_certificate_bound_access_tokens"], true);
    assert_eq!(
        meta["mtls_endpoint_aliases"]["token_endpoint"],
        s.tls("/oauth2/token")
    );
    assert!(
        s.tls_url
            .as_deref()
            .unwrap()
            .starts_with("https://localhost:")
    );
    s.stop().await;
}

#[tokio::test]
async fn without_a_tls_listener_the_mtls_methods_are_not_advertised() {
    let s = TestServer::start().await;
    let meta: Value = s
        .http
        .get(s.at("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !meta["token_endpoint_auth_methods_supported"]
            .to_string()
            .contains("tls_client_auth")
    );
    assert!(meta.get("mtls_endpoint_aliases").is_none());
    // The CA itself runs anyway (tokens can ask it for certificates over plain HTTP).
    let resp = s.http.get(s.at("/ca/v1/bundle.pem")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    s.stop().await;
}

#[tokio::test]
async fn admins_issue_from_a_csr_within_the_registered_dns_names() {
    let s = start().await;
    let app = s.create_client("billing", "client_secret_basic").await;
    let (cert, _) = issue(&s, &app.id, &[]).await;
    assert_eq!(
        cert.spiffe_id,
        format!("spiffe://gatehouse.local/app/{}", app.id)
    );
    assert_eq!(
        cert.not_after - cert.not_before,
        86_400 + 60,
        "24h, backdated 1m"
    );
    assert_eq!(cert.not_after, s.now() + 86_400);
    let chain = gatehouse_ca::parse_pem_certificates(&cert.chain).unwrap();
    let id = s
        .state
        .ca
        .as_ref()
        .unwrap()
        .verifier()
        .verify(
            &chain,
            gatehouse_core::UnixTime(s.now()),
            gatehouse_ca::Usage::Client,
        )
        .unwrap();
    assert_eq!(id.serial, cert.serial);

    // A DNS name the application has not registered is refused; once registered, granted.
    let path = format!("/admin/v1/clients/{}/certificates", app.id);
    let (dns_csr, _) = csr(&["billing.internal"]);
    let (status, v) = s
        .admin_json(Method::POST, &path, Some(json!({ "csr": dns_csr })))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("not registered"),
        "{v}"
    );
    let (status, v) = s
        .admin_json(
            Method::PUT,
            &format!("/admin/v1/clients/{}/dns-names", app.id),
            Some(json!({ "dns_names": ["Billing.Internal"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["dns_names"], json!(["billing.internal"]));
    let (status, v) = s
        .admin_json(
            Method::POST,
            &path,
            Some(json!({ "csr": dns_csr, "ttl": "30d" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["dns_names"], json!(["billing.internal"]));
    assert_eq!(
        v["not_after"].as_i64().unwrap(),
        s.now() + 7 * 86_400,
        "capped at ca.max_ttl"
    );

    // Bad input: a clear problem, never a 500.
    for (body, needle) in [
        (json!({ "csr": "garbage" }), "malformed CSR"),
        (json!({ "csr": "" }), "malformed CSR"),
        (json!({ "csr": dns_csr, "ttl": "10s" }), "at least 1m"),
        (json!({ "csr": dns_csr, "ttl": "soon" }), "ttl"),
    ] {
        let (status, v) = s.admin_json(Method::POST, &path, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert!(v["detail"].as_str().unwrap().contains(needle), "{v}");
    }
    let (status, _) = s
        .admin_json(
            Method::POST,
            "/admin/v1/clients/app_nope/certificates",
            Some(json!({ "csr": dns_csr })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v) = s
        .admin_json(
            Method::PUT,
            &format!("/admin/v1/clients/{}/dns-names", app.id),
            Some(json!({ "dns_names": ["bad name"] })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");

    let (_, list) = s
        .admin_json(Method::GET, "/admin/v1/certificates", None)
        .await;
    let serials: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["serial"].as_str().unwrap())
        .collect();
    assert_eq!(serials.len(), 2);
    assert!(serials.contains(&cert.serial.as_str()));
    let (_, audit) = s.admin_json(Method::GET, "/admin/v1/audit", None).await;
    assert!(audit.to_string().contains("certificate.issue"));
    s.stop().await;
}

#[tokio::test]
async fn a_token_for_the_ca_audience_buys_a_certificate() {
    let s = start().await;
    s.create_api("orders", ORDERS, &["orders:read"]).await;
    let app = s.create_client("billing", "client_secret_basic").await;
    s.grant(&app.id, "gatehouse-ca", &["ca:sign"]).await;
    s.grant(&app.id, "orders", &["orders:read"]).await;
    let ca_token = s
        .token_basic(&app.id, app.secret(), &[("audience", "urn:gatehouse:ca")])
        .await
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (csr, _) = csr(&[]);
    let sign = |token: Option<String>, body: Value| {
        let mut req = s.http.post(s.at("/ca/v1/sign")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let resp = sign(Some(ca_token.clone()), json!({ "csr": csr }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
    let signed: SignedCertificate = resp.json().await.unwrap();
    assert!(signed.spiffe_id.ends_with(&format!("/app/{}", app.id)));
    assert_eq!(signed.bundle, s.state.ca.as_ref().unwrap().bundle_pem());

    // No credential, a bad token, or a token for another API: 401 with a Bearer challenge.
    let resp = sign(None, json!({ "csr": csr })).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"gatehouse-ca\""
    );
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let orders_token = s
        .token_basic(&app.id, app.secret(), &[("audience", ORDERS)])
        .await
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for token in ["not-a-jwt".to_owned(), orders_token] {
        let resp = sign(Some(token), json!({ "csr": csr })).await.unwrap();
        assert_eq!(resp.status(), 401);
        assert!(
            resp.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_token\"")
        );
    }
    // Hostile bodies: wrong type, unknown fields, oversized, a forbidden identity request.
    let resp = s
        .http
        .post(s.at("/ca/v1/sign"))
        .bearer_auth(&ca_token)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(csr.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = sign(Some(ca_token.clone()), json!({ "csr": csr, "admin": true }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = sign(Some(ca_token.clone()), json!({ "csr": "A".repeat(40_000) }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = vec![rcgen::SanType::URI(
        "spiffe://gatehouse.local/app/admin".try_into().unwrap(),
    )];
    let uri_csr = params.serialize_request(&key).unwrap().pem().unwrap();
    let resp = sign(Some(ca_token), json!({ "csr": uri_csr }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    s.stop().await;
}

#[tokio::test]
async fn renewal_over_mtls_needs_a_valid_unrevoked_certificate_of_ours() {
    let s = start().await;
    let app = s.create_client("billing", "client_secret_basic").await;
    let (first, key) = issue(&s, &app.id, &[]).await;
    let (status, v) = sign_over_mtls(&s, &identity(&first, &key)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["spiffe_id"], first.spiffe_id);
    assert_ne!(v["serial"], first.serial.as_str());

    // Without a certificate there is nothing to renew with.
    let resp = s
        .https_client(None)
        .post(s.tls("/ca/v1/sign"))
        .json(&json!({ "csr": csr(&[]).0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // A certificate of another CA naming the same application.
    let (foreign, foreign_key) = self_signed(
        &app.id,
        vec![rcgen::SanType::URI(
            first.spiffe_id.as_str().try_into().unwrap(),
        )],
    );
    let (status, _) = sign_over_mtls(&s, &format!("{foreign}{foreign_key}")).await;
    assert_eq!(status, 401);

    // A revoked serial.
    let (status, _) = s
        .admin_json(
            Method::POST,
            &format!("/admin/v1/certificates/{}/revoke", first.serial),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, v) = sign_over_mtls(&s, &identity(&first, &key)).await;
    assert_eq!(status, 401, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("revoked"), "{v}");

    // An expired one (the fake clock moves past not_after).
    let (second, key2) = issue(&s, &app.id, &[]).await;
    s.advance(86_400 + 1);
    let (status, _) = sign_over_mtls(&s, &identity(&second, &key2)).await;
    assert_eq!(status, 401);

    // One issued before the application's revocation cutoff.
    let (third, key3) = issue(&s, &app.id, &[]).await;
    s.advance(120);
    let (status, _) = s
        .admin_json(
            Method::POST,
            &format!("/admin/v1/clients/{}/revoke-tokens", app.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = sign_over_mtls(&s, &identity(&third, &key3)).await;
    assert_eq!(status, 401, "{v}");
    s.stop().await;
}

#[tokio::test]
async fn tls_client_auth_issues_certificate_bound_tokens() {
    let s = start().await;
    let app = tls_client_auth_app(&s).await;
    assert!(app.secret.is_none(), "no secret for an mTLS client");
    s.grant(&app.id, "orders", &["orders:read"]).await;
    let (cert, key) = issue(&s, &app.id, &["billing.internal"]).await;
    let id = identity(&cert, &key);

    let (status, v) = mtls_token(&s, Some(&id), &app.id).await;
    assert_eq!(status, 200, "{v}");
    let token = v["access_token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["cnf"]["x5t#S256"], x5t(&cert.certificate));
    assert_eq!(c["client_id"], app.id.as_str());

    // Introspection shows the binding.
    let resp = s
        .http
        .post(s.at("/oauth2/introspect"))
        .bearer_auth(&s.admin_token)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let intro: Value = resp.json().await.unwrap();
    assert_eq!(intro["active"], true);
    assert_eq!(intro["cnf"]["x5t#S256"], x5t(&cert.certificate));

    // No certificate, over plain HTTP, or over TLS without one: invalid_client.
    let (status, v) = mtls_token(&s, None, &app.id).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"], "invalid_client");
    let resp = s
        .http
        .post(s.at("/oauth2/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", &app.id)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // A valid certificate of ours without the registered SAN.
    let other = s.create_client("other", "client_secret_basic").await;
    let (wrong, wrong_key) = issue(&s, &other.id, &[]).await;
    let (status, v) = mtls_token(&s, Some(&identity(&wrong, &wrong_key)), &app.id).await;
    assert_eq!(status, 401, "{v}");

    // The right SAN from a CA we do not trust.
    let (foreign, foreign_key) = self_signed(
        "billing",
        vec![rcgen::SanType::DnsName(
            "billing.internal".try_into().unwrap(),
        )],
    );
    let (status, _) = mtls_token(&s, Some(&format!("{foreign}{foreign_key}")), &app.id).await;
    assert_eq!(status, 401);

    // A revoked serial, then an expired certificate.
    let (status, _) = s
        .admin_json(
            Method::POST,
            &format!("/admin/v1/certificates/{}/revoke", cert.serial),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = mtls_token(&s, Some(&id), &app.id).await;
    assert_eq!(status, 401);
    s.advance(300);
    let (fresh, fresh_key) = issue(&s, &app.id, &["billing.internal"]).await;
    let fresh_id = identity(&fresh, &fresh_key);
    let (status, _) = mtls_token(&s, Some(&fresh_id), &app.id).await;
    assert_eq!(status, 200);
    s.advance(-100);
    let (status, _) = mtls_token(&s, Some(&fresh_id), &app.id).await;
    assert_eq!(status, 401, "not yet valid by the server's clock");
    s.advance(100);
    s.advance(86_400 + 1);
    let (status, _) = mtls_token(&s, Some(&fresh_id), &app.id).await;
    assert_eq!(status, 401, "expired by the server's clock");
    s.stop().await;
}

#[tokio::test]
async fn self_signed_tls_client_auth_matches_the_registered_certificate() {
    let s = start().await;
    s.create_api("orders", ORDERS, &["orders:read"]).await;
    let (cert, key) = self_signed("edge-device", vec![]);
    let app = s
        .create_client_json(json!({
            "name": "edge",
            "auth_method": "self_signed_tls_client_auth",
            "certificates": [cert],
        }))
        .await;
    s.grant(&app.id, "orders", &["orders:read"]).await;
    let (status, v) = mtls_token(&s, Some(&format!("{cert}{key}")), &app.id).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        claims(v["access_token"].as_str().unwrap())["cnf"]["x5t#S256"],
        x5t(&cert)
    );
    let (other, other_key) = self_signed("edge-device", vec![]);
    let (status, v) = mtls_token(&s, Some(&format!("{other}{other_key}")), &app.id).await;
    assert_eq!(status, 401, "{v}");
    s.stop().await;
}

#[tokio::test]
async fn bound_token_clients_must_present_a_certificate() {
    let s = start().await;
    s.create_api("orders", ORDERS, &["orders:read"]).await;
    let app = s
        .create_client_json(json!({
            "name": "bound",
            "auth_method": "client_secret_basic",
            "tls": { "bound_tokens": true },
        }))
        .await;
    s.grant(&app.id, "orders", &["orders:read"]).await;
    let resp = s
        .token_basic(&app.id, app.secret(), &[("audience", ORDERS)])
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    let (cert, key) = self_signed("any", vec![]);
    let resp = s
        .https_client(Some(&format!("{cert}{key}")))
        .post(s.tls("/oauth2/token"))
        .basic_auth(&app.id, Some(app.secret()))
        .form(&[("grant_type", "client_credentials"), ("audience", ORDERS)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        claims(v["access_token"].as_str().unwrap())["cnf"]["x5t#S256"],
        x5t(&cert)
    );
    s.stop().await;
}

#[tokio::test]
async fn mtls_registrations_are_validated() {
    let s = start().await;
    for (body, needle) in [
        (
            json!({"name": "a", "auth_method": "tls_client_auth"}),
            "needs tls.subject_dn",
        ),
        (
            json!({"name": "a", "auth_method": "self_signed_tls_client_auth"}),
            "at least one registered certificate",
        ),
        (
            json!({"name": "a", "auth_method": "self_signed_tls_client_auth", "certificates": ["nope"]}),
            "certificates",
        ),
        (
            json!({"name": "a", "auth_method": "client_secret_basic", "tls": {"san_dns": "x"}}),
            "only to the mTLS auth methods",
        ),
        (
            json!({"name": "a", "auth_method": "tls_client_auth", "tls": {"san_uri": "spiffe://x/y", "nope": 1}}),
            "unknown field",
        ),
        (
            json!({"name": "a", "dns_names": ["-bad-"]}),
            "not a valid DNS name",
        ),
    ] {
        let (status, v) = s
            .admin_json(Method::POST, "/admin/v1/clients", Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert!(
            v["detail"].as_str().unwrap().contains(needle),
            "{needle}: {v}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn curl_authenticates_with_a_certificate_from_the_ca() {
    // curl checks the server's certificate against the real time: start the clock there.
    #[expect(clippy::disallowed_methods, reason = "curl reads the system clock")]
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let s = TestServer::start_with_config_at(CONFIG, i64::try_from(real_now).unwrap()).await;
    let app = tls_client_auth_app(&s).await;
    s.grant(&app.id, "orders", &["orders:read"]).await;
    let (cert, key) = issue(&s, &app.id, &["billing.internal"]).await;
    let dir = gatehouse_testkit::temp_dir();
    let file = |name: &str, data: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p.display().to_string()
    };
    let (cert_file, key_file) = (file("cert.pem", &cert.chain), file("key.pem", &key));
    let bundle = file("bundle.pem", &cert.bundle);
    let port = s.tls_addr.unwrap().port();
    // tokio's Command: a blocking wait would stall the server on this test's runtime.
    let out = tokio::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "--fail-with-body",
            "--cacert",
            &bundle,
        ])
        .args(["--cert", &cert_file, "--key", &key_file])
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(["-d", "grant_type=client_credentials"])
        .args(["-d", &format!("client_id={}", app.id)])
        .args(["-d", &format!("audience={ORDERS}")])
        .arg(s.tls("/oauth2/token"))
        .output()
        .await
        .expect("curl is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "curl: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        claims(v["access_token"].as_str().unwrap())["cnf"]["x5t#S256"],
        x5t(&cert.certificate)
    );
    // Without the client certificate curl gets invalid_client.
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert", &bundle])
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(["-d", "grant_type=client_credentials"])
        .args(["-d", &format!("client_id={}", app.id)])
        .arg(s.tls("/oauth2/token"))
        .output()
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"], "invalid_client");
    s.stop().await;
}
