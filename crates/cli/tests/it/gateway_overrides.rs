//! The auth policy from the whole API down to the operation: per-route `accept` and
//! `require_subscription` replace the API's, and `accept = ["none"]` makes a public operation
//! (no credential, no identity forwarded, spoofed identity still stripped).
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
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn start(echo: &Echo) -> TestServer {
    let toml = format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
[[gateway.apis]]
api = "orders"
upstreams = ["{}"]
accept = ["bearer", "api_key"]
scopes = ["orders:read"]
[[gateway.apis.routes]]
operation = "health"
path = "/health"
methods = ["GET"]
accept = ["none"]
[[gateway.apis.routes]]
operation = "write"
path = "/orders"
methods = ["POST"]
accept = ["bearer"]
[[gateway.apis.routes]]
operation = "catalog"
path = "/catalog/*"
require_subscription = false
[[gateway.apis.routes]]
operation = "read"
path = "/orders/*"
"#,
        echo.url()
    );
    let s = TestServer::start_with_config(&toml).await;
    s.create_api("orders", ORDERS, &["orders:read"]).await;
    s
}

async fn api_key(s: &TestServer, client: &str) -> String {
    let (status, v) = s
        .admin_json(
            Method::POST,
            &format!("/admin/v1/clients/{client}/api-keys"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["api_key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_public_operation_needs_no_credential_and_forwards_no_identity() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let resp = s
        .http
        .get(s.gw("/health"))
        .header("x-gatehouse-client-id", "spoofed")
        .header("authorization", "Bearer whatever")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let echoed = json_body(resp).await;
    let headers = echoed["headers"].as_object().unwrap();
    assert!(
        !headers.keys().any(|k| k.starts_with("x-gatehouse-")),
        "{headers:?}"
    );
    assert!(headers.get("authorization").is_none());
    // Only that operation is public: its neighbours still ask for a credential.
    let resp = s.http.get(s.gw("/orders/1")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = s.http.post(s.gw("/health")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_route_can_narrow_the_accepted_credentials() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let client = s.create_client("billing", "client_secret_basic").await;
    s.grant(&client.id, "orders", &["orders:read"]).await;
    let key = api_key(&s, &client.id).await;
    let token = s.access_token(&client, &[("resource", ORDERS)]).await;

    // The API accepts API keys, so reads work with one...
    let read = s
        .http
        .get(s.gw("/orders/1"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    // ...but the write operation accepts bearer tokens only: the key is no credential there,
    // and the challenge names only Bearer.
    let write = s
        .http
        .post(s.gw("/orders"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = write
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(challenges, ["Bearer realm=\"gatehouse\""]);
    let write = s
        .http
        .post(s.gw("/orders"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_route_can_waive_the_subscription_for_bearer_tokens() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let client = s.create_client("billing", "client_secret_basic").await;
    s.grant(&client.id, "orders", &["orders:read"]).await;
    let token = s.access_token(&client, &[("resource", ORDERS)]).await;
    // Withdraw the grant: the token stays valid until it expires.
    let (status, _) = s
        .admin_json(
            Method::DELETE,
            &format!("/admin/v1/grants/{}/orders", client.id),
            None,
        )
        .await;
    assert!(status.is_success());
    let strict = s
        .http
        .get(s.gw("/orders/1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(strict.status(), StatusCode::FORBIDDEN);
    let relaxed = s
        .http
        .get(s.gw("/catalog/items"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(relaxed.status(), StatusCode::OK);
}

#[test]
fn none_cannot_be_combined_with_other_credentials() {
    let raw = gatehouse::config::parse_str(
        r#"
[gateway]
listen = "127.0.0.1:0"
[[gateway.apis]]
api = "orders"
upstreams = ["http://127.0.0.1:1"]
[[gateway.apis.routes]]
operation = "x"
path = "/x"
accept = ["none", "bearer"]
"#,
    )
    .unwrap();
    let err = raw.gateway.validate().unwrap_err().to_string();
    assert!(err.starts_with("gateway.apis[0].routes[0].accept"), "{err}");
}
