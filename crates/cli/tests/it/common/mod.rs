//! Shared helpers for the in-process integration tests: the real server on `127.0.0.1:0` with
//! a [`FakeClock`], shortcuts for the admin API, and token, introspection and revocation
//! requests made with `reqwest`, a real HTTP client.
#![allow(
    dead_code,
    reason = "not every helper is used by every configuration of the tests"
)]

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse::config::{Flags, parse_str, resolve_with};
use gatehouse::server::RunningServer;
use gatehouse_core::{Clock, FakeClock, MapEnv, UnixTime};
use gatehouse_oauth::OAuthState;
use gatehouse_testkit::{TempDir, temp_dir};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{Method, RequestBuilder, Response, StatusCode, header};
use serde_json::{Value, json};

/// Where every fake clock starts (2027-01-15): far from the real time, so nothing can pass by
/// accidentally reading the wall clock.
pub(crate) const START: i64 = 1_800_000_000;

/// The default test configuration: a lockout threshold high enough that negative tests in one
/// server never lock each other out (lockout tests set their own).
pub(crate) const DEFAULT_CONFIG: &str = "[client_auth]\nlockout_max_failures = 1000\n";

/// The audience of the API most tests use.
pub(crate) const ORDERS: &str = "https://orders.example";

/// `grant_type=client_credentials`.
pub(crate) const CLIENT_CREDENTIALS: (&str, &str) = ("grant_type", "client_credentials");

/// A registered client as the tests know it.
#[derive(Debug, Clone)]
pub(crate) struct TestClient {
    /// `client_id`.
    pub(crate) id: String,
    /// The secret (secret methods only).
    pub(crate) secret: Option<String>,
    /// The registered authentication method.
    pub(crate) method: String,
}

impl TestClient {
    /// The secret; panics for `private_key_jwt` clients.
    pub(crate) fn secret(&self) -> &str {
        self.secret.as_deref().expect("client has a secret")
    }
}

/// A running server with its fake clock and admin token.
pub(crate) struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// The issuer the server advertises.
    pub(crate) issuer: String,
    /// The bootstrap admin token.
    pub(crate) admin_token: String,
    /// The server's clock.
    pub(crate) clock: Arc<FakeClock>,
    /// The HTTP client.
    pub(crate) http: reqwest::Client,
    /// The server's shared state.
    pub(crate) state: Arc<OAuthState>,
    /// `http://127.0.0.1:PORT` of the gateway, when the config has a `[gateway]` section.
    pub(crate) gateway: Option<String>,
    /// The HTTPS listener's base URL, when the config has a `[tls]` section.
    pub(crate) tls_url: Option<String>,
    /// The HTTPS listener's bound address.
    pub(crate) tls_addr: Option<std::net::SocketAddr>,
    server: RunningServer,
    _dir: TempDir,
}

impl TestServer {
    /// Starts a server with [`DEFAULT_CONFIG`].
    pub(crate) async fn start() -> Self {
        Self::start_with_config(DEFAULT_CONFIG).await
    }

    /// Starts a server with `toml` as its config file.
    pub(crate) async fn start_with_config(toml: &str) -> Self {
        Self::start_with_config_at(toml, START).await
    }

    /// Starts a server whose fake clock starts at `now` (external tools such as curl check
    /// certificates against the real time: give them `now` = the real time).
    pub(crate) async fn start_with_config_at(toml: &str, now: i64) -> Self {
        let dir = temp_dir();
        let flags = Flags {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().join("data")),
            ..Flags::default()
        };
        let raw = parse_str(toml).expect("test config parses");
        let cfg = resolve_with(&flags, &MapEnv::default(), raw).expect("test config is valid");
        let clock = Arc::new(FakeClock::new(UnixTime(now)));
        let server = gatehouse::server::start(&cfg, Arc::clone(&clock) as Arc<dyn Clock>)
            .await
            .expect("server starts");
        let admin_token = std::fs::read_to_string(&server.admin_token_file)
            .expect("admin token file written")
            .trim()
            .to_owned();
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http client");
        Self {
            url: format!("http://{}", server.addr),
            issuer: server.issuer.clone(),
            admin_token,
            clock,
            http,
            state: Arc::clone(&server.state),
            gateway: server.gateway_addr.map(|a| format!("http://{a}")),
            tls_url: server.tls_url.clone(),
            tls_addr: server.tls_addr,
            server,
            _dir: dir,
        }
    }

    /// An absolute URL on the HTTPS listener.
    pub(crate) fn tls(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.tls_url.as_deref().expect("server started with [tls]")
        )
    }

    /// A client for the HTTPS listener: trusts our CA's certificates as valid at the
    /// server's fake clock (see [`FakeClockServerVerifier`]), resolves the listener's host
    /// name to its loopback address, and presents `identity` (chain + key, PEM) if given.
    pub(crate) fn https_client(&self, identity: Option<&str>) -> reqwest::Client {
        let ca = self.state.ca.as_ref().expect("CA enabled");
        let url = url::Url::parse(self.tls_url.as_deref().expect("[tls]")).expect("url");
        let verifier = Arc::new(FakeClockServerVerifier {
            roots: ca.verifier().clone(),
            clock: Arc::clone(&self.clock),
        });
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier);
        let config = match identity {
            Some(pem) => {
                use rustls::pki_types::pem::PemObject;
                let chain = rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .expect("identity certificates");
                let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(pem.as_bytes())
                    .expect("identity key");
                builder.with_client_auth_cert(chain, key).expect("identity")
            }
            None => builder.with_no_client_auth(),
        };
        reqwest::Client::builder()
            .no_proxy()
            .use_preconfigured_tls(config)
            .resolve(url.host_str().expect("host"), self.tls_addr.expect("bound"))
            .build()
            .expect("https client")
    }

    /// An absolute URL on the gateway.
    pub(crate) fn gw(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.gateway
                .as_deref()
                .expect("server started with a [gateway]")
        )
    }

    /// Writes the gateway's usage counts to the store now.
    pub(crate) async fn flush_usage(&self) {
        self.server.flush_usage().await;
    }

    /// Graceful shutdown.
    pub(crate) async fn stop(self) {
        self.server.shutdown().await.expect("clean shutdown");
    }

    /// The current time of the fake clock.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now().0
    }

    /// Moves the fake clock forward.
    pub(crate) fn advance(&self, secs: i64) {
        self.clock.advance(secs);
    }

    /// An absolute URL on this server.
    pub(crate) fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The token endpoint URL (as clients put it in `aud` of assertions).
    pub(crate) fn token_endpoint(&self) -> String {
        format!("{}/oauth2/token", self.issuer)
    }

    // === admin API ===

    /// An admin API request carrying the admin token.
    pub(crate) fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.at(path))
            .bearer_auth(&self.admin_token)
    }

    /// Sends a JSON admin request and returns status and body (`Null` when empty).
    pub(crate) async fn admin_json(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.admin(method, path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("admin request");
        let status = resp.status();
        let text = resp.text().await.expect("admin body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("admin body is JSON")
        };
        (status, value)
    }

    /// Registers an API (asserting 201).
    pub(crate) async fn create_api(&self, name: &str, audience: &str, scopes: &[&str]) -> Value {
        self.create_api_json(json!({ "name": name, "audience": audience, "scopes": scopes }))
            .await
    }

    /// Registers an API from a full body (asserting 201).
    pub(crate) async fn create_api_json(&self, body: Value) -> Value {
        let (status, v) = self
            .admin_json(Method::POST, "/admin/v1/apis", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "create api: {v}");
        v
    }

    /// Registers a secret-based client (asserting 201).
    pub(crate) async fn create_client(&self, name: &str, method: &str) -> TestClient {
        self.create_client_json(json!({ "name": name, "auth_method": method }))
            .await
    }

    /// Registers a client from a full body (asserting 201).
    pub(crate) async fn create_client_json(&self, body: Value) -> TestClient {
        let (status, v) = self
            .admin_json(Method::POST, "/admin/v1/clients", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "create client: {v}");
        TestClient {
            id: v["client_id"].as_str().expect("client_id").to_owned(),
            secret: v["client_secret"].as_str().map(str::to_owned),
            method: v["client"]["auth_method"]
                .as_str()
                .expect("auth_method")
                .to_owned(),
        }
    }

    /// Grants `client` exactly `scopes` on `api` (asserting 200).
    pub(crate) async fn grant(&self, client: &str, api: &str, scopes: &[&str]) -> Value {
        let body = json!({ "client_id": client, "api": api, "scopes": scopes });
        let (status, v) = self
            .admin_json(Method::PUT, "/admin/v1/grants", Some(body))
            .await;
        assert_eq!(status, StatusCode::OK, "grant: {v}");
        v
    }

    /// The usual fixture: API `orders` (`orders:read orders:write`) and a `client_secret_basic`
    /// client granted `orders:read` on it.
    pub(crate) async fn orders_with_client(&self) -> TestClient {
        self.create_api("orders", ORDERS, &["orders:read", "orders:write"])
            .await;
        let client = self.create_client("billing", "client_secret_basic").await;
        self.grant(&client.id, "orders", &["orders:read"]).await;
        client
    }

    // === OAuth endpoints ===

    /// A form POST to `path` authenticated the way `client` is registered (Basic or post).
    pub(crate) fn authed_form(
        &self,
        path: &str,
        client: &TestClient,
        params: &[(&str, &str)],
    ) -> RequestBuilder {
        let req = self.http.post(self.at(path));
        match client.method.as_str() {
            "client_secret_post" => {
                let mut all = vec![
                    ("client_id", client.id.as_str()),
                    ("client_secret", client.secret()),
                ];
                all.extend_from_slice(params);
                req.form(&all)
            }
            _ => req
                .basic_auth(&client.id, client.secret.as_deref())
                .form(params),
        }
    }

    /// A client credentials request with `params` (besides `grant_type`) via Basic.
    pub(crate) async fn token_basic(
        &self,
        id: &str,
        secret: &str,
        params: &[(&str, &str)],
    ) -> Response {
        let mut all = vec![CLIENT_CREDENTIALS];
        all.extend_from_slice(params);
        self.http
            .post(self.at("/oauth2/token"))
            .basic_auth(id, Some(secret))
            .form(&all)
            .send()
            .await
            .expect("token request")
    }

    /// A client credentials request with `params` with the secret in the body.
    pub(crate) async fn token_post(
        &self,
        id: &str,
        secret: &str,
        params: &[(&str, &str)],
    ) -> Response {
        let mut all = vec![
            CLIENT_CREDENTIALS,
            ("client_id", id),
            ("client_secret", secret),
        ];
        all.extend_from_slice(params);
        self.http
            .post(self.at("/oauth2/token"))
            .form(&all)
            .send()
            .await
            .expect("token request")
    }

    /// A client credentials request authenticated the way `client` is registered.
    pub(crate) async fn token(&self, client: &TestClient, params: &[(&str, &str)]) -> Response {
        let mut all = vec![CLIENT_CREDENTIALS];
        all.extend_from_slice(params);
        self.authed_form("/oauth2/token", client, &all)
            .send()
            .await
            .expect("token request")
    }

    /// An access token for `client` (asserting 200).
    pub(crate) async fn access_token(
        &self,
        client: &TestClient,
        params: &[(&str, &str)],
    ) -> String {
        let resp = self.token(client, params).await;
        let status = resp.status();
        let body = json_body(resp).await;
        assert_eq!(status, StatusCode::OK, "token request failed: {body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Introspects `token` as `client` (asserting 200).
    pub(crate) async fn introspect_as(&self, client: &TestClient, token: &str) -> Value {
        let resp = self
            .authed_form("/oauth2/introspect", client, &[("token", token)])
            .send()
            .await
            .expect("introspect");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header_str(&resp, header::CACHE_CONTROL), Some("no-store"));
        json_body(resp).await
    }

    /// Introspects `token` with the admin token (asserting 200).
    pub(crate) async fn introspect_admin(&self, token: &str) -> Value {
        let resp = self
            .http
            .post(self.at("/oauth2/introspect"))
            .bearer_auth(&self.admin_token)
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspect");
        assert_eq!(resp.status(), StatusCode::OK);
        json_body(resp).await
    }

    /// Revokes `token` as `client`.
    pub(crate) async fn revoke_as(&self, client: &TestClient, params: &[(&str, &str)]) -> Response {
        self.authed_form("/oauth2/revoke", client, params)
            .send()
            .await
            .expect("revoke")
    }

    /// The published JWK Set.
    pub(crate) async fn jwks(&self) -> Value {
        let resp = self
            .http
            .get(self.at("/.well-known/jwks.json"))
            .send()
            .await
            .expect("jwks");
        assert_eq!(resp.status(), StatusCode::OK);
        json_body(resp).await
    }

    /// The `kid`s in the published JWK Set.
    pub(crate) async fn jwks_kids(&self) -> Vec<String> {
        let jwks = self.jwks().await;
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_owned())
            .collect()
    }
}

/// The body parsed as JSON.
pub(crate) async fn json_body(resp: Response) -> Value {
    let text = resp.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text:?}"))
}

/// A header as a string.
pub(crate) fn header_str(resp: &Response, name: header::HeaderName) -> Option<&str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Asserts an RFC 6749 §5.2 error: status, JSON body with `error`, `Cache-Control: no-store`.
/// Returns the body.
pub(crate) async fn expect_oauth_error(resp: Response, status: StatusCode, code: &str) -> Value {
    let got = resp.status();
    let cache = header_str(&resp, header::CACHE_CONTROL).map(str::to_owned);
    let content_type = header_str(&resp, header::CONTENT_TYPE).map(str::to_owned);
    let body = json_body(resp).await;
    assert_eq!(got, status, "status for {body}");
    assert_eq!(body["error"], code, "error code in {body}");
    assert_eq!(
        cache.as_deref(),
        Some("no-store"),
        "error responses must not be cached"
    );
    assert!(
        content_type.is_some_and(|c| c.starts_with("application/json")),
        "error body must be JSON"
    );
    body
}

/// The decoded header and claims of a compact JWT (no verification).
pub(crate) fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode = |what: &str| -> Value {
        let b64 = parts.next().unwrap_or_else(|| panic!("JWT has no {what}"));
        let bytes = URL_SAFE_NO_PAD
            .decode(b64)
            .unwrap_or_else(|e| panic!("JWT {what} is not base64url: {e}"));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWT {what} is not JSON: {e}"))
    };
    let header = decode("header");
    let claims = decode("claims");
    (header, claims)
}

/// The `kid` in a JWT's header.
pub(crate) fn kid_of(token: &str) -> String {
    jwt_parts(token).0["kid"]
        .as_str()
        .expect("kid in header")
        .to_owned()
}

/// Verifies `token` with the `jsonwebtoken` crate against the published JWKS. The library's
/// own `exp` check reads the wall clock, so it is off; `exp` is checked against the fake clock.
pub(crate) async fn verify_with_jsonwebtoken(
    server: &TestServer,
    token: &str,
    alg: Algorithm,
    audience: &str,
) -> Value {
    let jwks: JwkSet =
        serde_json::from_value(server.jwks().await).expect("JWKS parses as a standard JwkSet");
    let header = jsonwebtoken::decode_header(token).expect("header");
    let kid = header.kid.expect("kid in header");
    let jwk = jwks.find(&kid).expect("kid is published in the JWKS");
    let key = DecodingKey::from_jwk(jwk).expect("JWK usable by jsonwebtoken");
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[&server.issuer]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("standard verifier accepts the token");
    let exp = data.claims["exp"].as_i64().expect("exp");
    assert!(
        exp > server.now(),
        "token is not expired on the server's clock"
    );
    data.claims
}

/// Verifies the server's certificate chain against our CA at the server's fake clock (the
/// certificates it issues are valid from the fake "now", which the system clock has not
/// reached), then the name, then the handshake signature as rustls would.
#[derive(Debug)]
pub(crate) struct FakeClockServerVerifier {
    roots: gatehouse_ca::ChainVerifier,
    clock: Arc<FakeClock>,
}

impl rustls::client::danger::ServerCertVerifier for FakeClockServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone()];
        chain.extend(intermediates.iter().cloned());
        let id = self
            .roots
            .verify(&chain, self.clock.now(), gatehouse_ca::Usage::Server)
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        let name = match server_name {
            rustls::pki_types::ServerName::DnsName(d) => d.as_ref().to_owned(),
            other => other.to_str().into_owned(),
        };
        if !id.san_dns.iter().any(|d| d.eq_ignore_ascii_case(&name)) {
            return Err(rustls::Error::General(format!(
                "certificate is not for {name}"
            )));
        }
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
