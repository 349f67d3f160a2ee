//! `private_key_jwt` client authentication (RFC 7523): assertions built and signed with the
//! `jsonwebtoken` crate as a client library would, keys registered inline or served from a
//! `jwks_uri` on a tiny local server.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    reason = "integration tests and their helpers: a broken expectation must fail loudly"
)]

use crate::common;

use std::sync::{Arc, Mutex};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{CLIENT_CREDENTIALS, ORDERS, TestClient, TestServer, expect_oauth_error, json_body};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's EC P-256 signing key.
struct EcKey {
    pkcs8: Vec<u8>,
    /// The public JWK (no `kid`).
    jwk: Value,
}

impl EcKey {
    fn generate() -> Self {
        let pair =
            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("generate P-256 key");
        let pkcs8 = pair.to_pkcs8v1().expect("pkcs8").as_ref().to_vec();
        let point = pair.public_key().as_ref();
        assert_eq!(
            (point.len(), point.first()),
            (65, Some(&4)),
            "uncompressed point"
        );
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Self { pkcs8, jwk }
    }

    /// The public JWK with a `kid`.
    fn jwk_with_kid(&self, kid: &str) -> Value {
        let mut jwk = self.jwk.clone();
        jwk["kid"] = json!(kid);
        jwk
    }

    /// A compact ES256 JWS over `claims`, with `kid` in the header when given.
    fn sign(&self, claims: &Value, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8))
            .expect("sign assertion")
    }
}

/// What authlib sends: `iss` = `sub` = client id, `aud` = token endpoint, `exp` = `iat` + 3600.
fn authlib_claims(server: &TestServer, client_id: &str, jti: &str) -> Value {
    let now = server.now();
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": server.token_endpoint(),
        "iat": now,
        "exp": now + 3600,
        "jti": jti,
    })
}

/// Registers a `private_key_jwt` client with an inline JWKS and grants it `orders:read`.
async fn register(server: &TestServer, jwks: Value) -> TestClient {
    server.create_api("orders", ORDERS, &["orders:read"]).await;
    let client = server
        .create_client_json(
            json!({"name": "signer", "auth_method": "private_key_jwt", "jwks": jwks}),
        )
        .await;
    assert!(
        client.secret.is_none(),
        "no secret for private_key_jwt clients"
    );
    server.grant(&client.id, "orders", &["orders:read"]).await;
    client
}

async fn token_with_assertion(
    server: &TestServer,
    assertion: &str,
    extra: &[(&str, &str)],
) -> Response {
    let mut form = vec![
        CLIENT_CREDENTIALS,
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    server
        .http
        .post(server.at("/oauth2/token"))
        .form(&form)
        .send()
        .await
        .expect("token request")
}

/// Asserts 401 `invalid_client` whose description names the reason.
async fn expect_refused(resp: Response, reason: &str) {
    let body = expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(reason),
        "expected {reason:?} in {description:?}"
    );
}

async fn expect_ok(resp: Response) -> Value {
    let status = resp.status();
    let body = json_body(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

// === inline JWKS ===

#[tokio::test]
async fn authlib_style_assertion_without_kid_gets_a_token() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let assertion = key.sign(&authlib_claims(&server, &client.id, "jti-1"), None);
    let body =
        expect_ok(token_with_assertion(&server, &assertion, &[("resource", ORDERS)]).await).await;
    let (_, claims) = common::jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], client.id.as_str());
    assert_eq!(body["scope"], "orders:read");
    server.stop().await;
}

#[tokio::test]
async fn assertion_with_kid_client_id_field_and_issuer_audience_array_gets_a_token() {
    let server = TestServer::start().await;
    let other = EcKey::generate();
    let key = EcKey::generate();
    let client = register(
        &server,
        json!({"keys": [other.jwk_with_kid("k0"), key.jwk_with_kid("k1")]}),
    )
    .await;
    let mut claims = authlib_claims(&server, &client.id, "jti-2");
    claims["aud"] = json!(["https://someone-else.example", server.issuer]);
    let assertion = key.sign(&claims, Some("k1"));
    expect_ok(token_with_assertion(&server, &assertion, &[("client_id", &client.id)]).await).await;
    server.stop().await;
}

#[tokio::test]
async fn assertion_audience_may_name_the_issuer_or_any_token_endpoint_alias() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let i = server.issuer.clone();
    for (n, aud) in [
        i.clone(),
        format!("{i}/"),
        format!("{i}/oauth2/token"),
        format!("{i}/oauth/token"),
    ]
    .iter()
    .enumerate()
    {
        let mut claims = authlib_claims(&server, &client.id, &format!("aud-{n}"));
        claims["aud"] = json!(aud);
        expect_ok(token_with_assertion(&server, &key.sign(&claims, None), &[]).await).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn assertion_issued_in_the_future_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let mut claims = authlib_claims(&server, &client.id, "future");
    claims["iat"] = json!(server.now() + 600);
    claims["exp"] = json!(server.now() + 900);
    let resp = token_with_assertion(&server, &key.sign(&claims, None), &[]).await;
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn replayed_assertion_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let assertion = key.sign(&authlib_claims(&server, &client.id, "once"), None);
    expect_ok(token_with_assertion(&server, &assertion, &[]).await).await;
    server.advance(10);
    expect_refused(
        token_with_assertion(&server, &assertion, &[]).await,
        "already used",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn expired_assertion_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let mut claims = authlib_claims(&server, &client.id, "old");
    claims["iat"] = json!(server.now() - 600);
    claims["exp"] = json!(server.now() - 300);
    expect_refused(
        token_with_assertion(&server, &key.sign(&claims, None), &[]).await,
        "expired",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn assertion_expires_on_the_servers_clock() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let assertion = key.sign(&authlib_claims(&server, &client.id, "late"), None);
    server.advance(3600);
    expect_refused(
        token_with_assertion(&server, &assertion, &[]).await,
        "expired",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn assertion_without_jti_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let mut claims = authlib_claims(&server, &client.id, "x");
    claims.as_object_mut().unwrap().remove("jti");
    expect_refused(
        token_with_assertion(&server, &key.sign(&claims, None), &[]).await,
        "jti",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn assertion_without_exp_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let mut claims = authlib_claims(&server, &client.id, "no-exp");
    claims.as_object_mut().unwrap().remove("exp");
    expect_refused(
        token_with_assertion(&server, &key.sign(&claims, None), &[]).await,
        "exp",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn assertion_for_another_audience_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let mut claims = authlib_claims(&server, &client.id, "aud");
    claims["aud"] = json!("https://other-as.example/oauth2/token");
    expect_refused(
        token_with_assertion(&server, &key.sign(&claims, None), &[]).await,
        "audience",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn assertion_living_two_hours_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let mut claims = authlib_claims(&server, &client.id, "long");
    claims["exp"] = json!(server.now() + 7200);
    expect_refused(
        token_with_assertion(&server, &key.sign(&claims, None), &[]).await,
        "lifetime",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn assertion_signed_by_an_unregistered_key_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let stranger = EcKey::generate();
    let resp = token_with_assertion(
        &server,
        &stranger.sign(&authlib_claims(&server, &client.id, "s"), None),
        &[],
    )
    .await;
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn unsigned_alg_none_assertion_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(authlib_claims(&server, &client.id, "none").to_string());
    let resp = token_with_assertion(&server, &format!("{header}.{claims}."), &[]).await;
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn hs256_assertion_keyed_with_the_public_key_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let claims = authlib_claims(&server, &client.id, "hmac");
    for secret in [
        key.jwk.to_string(),
        key.jwk["x"].as_str().unwrap().to_owned(),
    ] {
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        let resp = token_with_assertion(&server, &forged, &[]).await;
        expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
    server.stop().await;
}

#[tokio::test]
async fn assertion_naming_another_client_in_client_id_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let other = server.create_client("other", "client_secret_basic").await;
    let assertion = key.sign(&authlib_claims(&server, &client.id, "cid"), None);
    let resp = token_with_assertion(&server, &assertion, &[("client_id", &other.id)]).await;
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn assertion_with_sub_differing_from_iss_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let mut claims = authlib_claims(&server, &client.id, "sub");
    claims["sub"] = json!("someone-else");
    let resp = token_with_assertion(&server, &key.sign(&claims, None), &[]).await;
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn secret_client_presenting_an_assertion_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    register(&server, json!({"keys": [key.jwk]})).await;
    let secret_client = server
        .create_client("secretive", "client_secret_basic")
        .await;
    let assertion = key.sign(
        &authlib_claims(&server, &secret_client.id, "wrong-method"),
        None,
    );
    let resp = token_with_assertion(&server, &assertion, &[]).await;
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn wrong_client_assertion_type_is_invalid_client() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let assertion = key.sign(&authlib_claims(&server, &client.id, "type"), None);
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .form(&[
            CLIENT_CREDENTIALS,
            ("client_assertion_type", "urn:example:saml"),
            ("client_assertion", &assertion),
        ])
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn private_key_jwt_client_can_introspect_its_token_with_a_fresh_assertion() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let client = register(&server, json!({"keys": [key.jwk]})).await;
    let first = key.sign(&authlib_claims(&server, &client.id, "t1"), None);
    let token = expect_ok(token_with_assertion(&server, &first, &[]).await).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = key.sign(&authlib_claims(&server, &client.id, "t2"), None);
    let resp = server
        .http
        .post(server.at("/oauth2/introspect"))
        .form(&[
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &second),
            ("token", &token),
        ])
        .send()
        .await
        .unwrap();
    let v = expect_ok(resp).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], client.id.as_str());
    server.stop().await;
}

// === registration ===

#[tokio::test]
async fn registering_a_jwks_with_a_private_member_is_refused() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let mut private = key.jwk.clone();
    private["d"] = json!(URL_SAFE_NO_PAD.encode([7u8; 32]));
    let body =
        json!({"name": "leaky", "auth_method": "private_key_jwt", "jwks": {"keys": [private]}});
    let (status, problem) = server
        .admin_json(Method::POST, "/admin/v1/clients", Some(body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["status"], 400);
    let (_, clients) = server
        .admin_json(Method::GET, "/admin/v1/clients", None)
        .await;
    assert_eq!(clients["items"], json!([]), "nothing was registered");
    server.stop().await;
}

#[tokio::test]
async fn registering_private_key_jwt_without_keys_is_refused() {
    let server = TestServer::start().await;
    let body = json!({"name": "keyless", "auth_method": "private_key_jwt"});
    let (status, problem) = server
        .admin_json(Method::POST, "/admin/v1/clients", Some(body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    server.stop().await;
}

#[tokio::test]
async fn registering_a_plain_http_jwks_uri_off_loopback_is_refused() {
    let server = TestServer::start().await;
    let body = json!({"name": "remote", "auth_method": "private_key_jwt", "jwks_uri": "http://keys.example/jwks.json"});
    let (status, problem) = server
        .admin_json(Method::POST, "/admin/v1/clients", Some(body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    server.stop().await;
}

// === jwks_uri ===

/// Serves whatever `jwks` holds at `/jwks.json` on a fresh loopback port; returns the URL.
async fn serve_jwks(jwks: Arc<Mutex<Value>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind jwks server");
    let addr = listener.local_addr().expect("jwks server address");
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let body = jwks.lock().expect("jwks lock").clone();
            async move { axum::Json(body) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/jwks.json")
}

async fn register_with_uri(server: &TestServer, uri: &str) -> TestClient {
    server.create_api("orders", ORDERS, &["orders:read"]).await;
    let client = server
        .create_client_json(
            json!({"name": "fetcher", "auth_method": "private_key_jwt", "jwks_uri": uri}),
        )
        .await;
    server.grant(&client.id, "orders", &["orders:read"]).await;
    client
}

#[tokio::test]
async fn jwks_uri_keys_are_fetched_from_the_clients_server() {
    let server = TestServer::start().await;
    let key = EcKey::generate();
    let uri = serve_jwks(Arc::new(Mutex::new(json!({"keys": [key.jwk]})))).await;
    let client = register_with_uri(&server, &uri).await;
    let assertion = key.sign(&authlib_claims(&server, &client.id, "u1"), None);
    let body =
        expect_ok(token_with_assertion(&server, &assertion, &[("resource", ORDERS)]).await).await;
    assert_eq!(body["token_type"], "Bearer");

    let stranger = EcKey::generate();
    let forged = stranger.sign(&authlib_claims(&server, &client.id, "u2"), None);
    let resp = token_with_assertion(&server, &forged, &[]).await;
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn jwks_uri_key_added_later_is_picked_up_by_its_kid() {
    let server = TestServer::start().await;
    let old = EcKey::generate();
    let jwks = Arc::new(Mutex::new(json!({"keys": [old.jwk_with_kid("old")]})));
    let uri = serve_jwks(Arc::clone(&jwks)).await;
    let client = register_with_uri(&server, &uri).await;
    let assertion = old.sign(&authlib_claims(&server, &client.id, "k-old"), Some("old"));
    expect_ok(token_with_assertion(&server, &assertion, &[]).await).await;

    // The client rotates: its JWKS now also holds a new key the server has not cached yet.
    let new = EcKey::generate();
    *jwks.lock().unwrap() = json!({"keys": [old.jwk_with_kid("old"), new.jwk_with_kid("new")]});
    server.advance(31);
    let assertion = new.sign(&authlib_claims(&server, &client.id, "k-new"), Some("new"));
    expect_ok(token_with_assertion(&server, &assertion, &[]).await).await;
    server.stop().await;
}

#[tokio::test]
async fn unreachable_jwks_uri_is_invalid_client() {
    let server = TestServer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    drop(listener);
    let client = register_with_uri(&server, &uri).await;
    let key = EcKey::generate();
    let resp = token_with_assertion(
        &server,
        &key.sign(&authlib_claims(&server, &client.id, "x"), None),
        &[],
    )
    .await;
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}
