//! The signed identity assertion: a short-lived JWT for the backend that it can verify with the
//! JWKS, and that can never be used as an access token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code fails loudly"
)]

use crate::common;

use common::{ORDERS, TestServer};
use gatehouse_testkit::echo::Echo;
use serde_json::{Value, json};

#[tokio::test]
async fn backend_gets_a_verifiable_assertion_that_is_not_an_access_token() {
    let echo = Echo::start().await;
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
    let s = TestServer::start_with_config(&toml).await;
    let c = s.orders_with_client().await;
    let token = s.access_token(&c, &[("resource", ORDERS)]).await;
    let seen: Value = s
        .http
        .get(s.gw("/orders/1"))
        .bearer_auth(&token)
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
    let jwks: Value = s
        .http
        .get(s.at("/.well-known/jwks.json"))
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
    assert_eq!(verified.claims["client_id"], c.id.as_str());
    assert_eq!(verified.claims["operation"], "get");
    assert_eq!(
        verified.claims["exp"].as_i64().unwrap() - verified.claims["iat"].as_i64().unwrap(),
        60
    );

    // It is not an access token: the gateway and introspection refuse it.
    let r = s
        .http
        .get(s.gw("/orders/1"))
        .bearer_auth(&assertion)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        s.introspect_admin(&assertion).await,
        json!({"active": false})
    );

    // A client cannot smuggle its own assertion to the backend.
    let seen: Value = s
        .http
        .get(s.gw("/orders/1"))
        .bearer_auth(&token)
        .header("x-gatehouse-identity", "forged")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(seen["headers"]["x-gatehouse-identity"], "forged");
    s.stop().await;
}
