//! The signed identity assertion: a short-lived JWT for the backend that it can verify with the
//! JWKS, and that can never be used as an access token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use std::sync::Arc;

use gatehouse::config::{Flags, parse_str, resolve_with};
use gatehouse_core::{Clock, FakeClock, MapEnv, UnixTime};
use gatehouse_testkit::echo::Echo;
use gatehouse_testkit::temp_dir;
use serde_json::{Value, json};

#[tokio::test]
async fn backend_gets_a_verifiable_assertion_that_is_not_an_access_token() {
    let echo = Echo::start().await;
    let dir = temp_dir();
    let toml = format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
[[gateway.apis]]
api = "orders"
upstreams = ["{}"]
identity_audience = "https://orders-backend.internal"
[[gateway.apis.routes]]
operation = "get"
path = "/orders/{{id}}"
"#,
        echo.url()
    );
    let flags = Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        ..Flags::default()
    };
    let cfg = resolve_with(&flags, &MapEnv::default(), parse_str(&toml).unwrap()).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FakeClock::new(UnixTime(1_800_000_000)));
    let server = gatehouse::server::start(&cfg, clock).await.unwrap();
    let url = format!("http://{}", server.addr);
    let gateway = format!("http://{}", server.gateway_addr.unwrap());
    let admin = std::fs::read_to_string(&server.admin_token_file)
        .unwrap()
        .trim()
        .to_owned();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{url}{path}"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    post(
        "/admin/v1/apis",
        json!({"name": "orders", "audience": "https://orders.example"}),
    )
    .await
    .unwrap();
    let c: Value = post("/admin/v1/clients", json!({"name": "svc"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = c["client_id"].as_str().unwrap();
    http.put(format!("{url}/admin/v1/grants"))
        .bearer_auth(&admin)
        .json(&json!({"client_id": id, "api": "orders"}))
        .send()
        .await
        .unwrap();
    let t: Value = http
        .post(format!("{url}/oauth2/token"))
        .basic_auth(id, c["client_secret"].as_str())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = t["access_token"].as_str().unwrap();
    let seen: Value = http
        .get(format!("{gateway}/orders/1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let assertion = seen["headers"]["x-gatehouse-identity"]
        .as_str()
        .expect("assertion forwarded")
        .to_owned();

    // The backend verifies it with the published JWKS.
    let jwks: Value = http
        .get(format!("{url}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verified = gatehouse_keys::verify_with_jwks(&assertion, &jwks).unwrap();
    assert_eq!(
        verified.header.typ.as_deref(),
        Some("gatehouse-identity+jwt")
    );
    assert_eq!(verified.claims["aud"], "https://orders-backend.internal");
    assert_eq!(verified.claims["client_id"], id);
    assert_eq!(verified.claims["operation"], "get");
    assert_eq!(
        verified.claims["exp"].as_i64().unwrap() - verified.claims["iat"].as_i64().unwrap(),
        60
    );

    // It is not an access token: the gateway and introspection refuse it.
    let r = http
        .get(format!("{gateway}/orders/1"))
        .bearer_auth(&assertion)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let i: Value = http
        .post(format!("{url}/oauth2/introspect"))
        .bearer_auth(&admin)
        .form(&[("token", assertion.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(i, json!({"active": false}));

    // A client cannot smuggle its own assertion to the backend.
    let seen: Value = http
        .get(format!("{gateway}/orders/1"))
        .bearer_auth(token)
        .header("x-gatehouse-identity", "forged")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(seen["headers"]["x-gatehouse-identity"], "forged");
    server.shutdown().await.unwrap();
}
