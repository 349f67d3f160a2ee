//! The Rust SDK (`gatehouse-client`) against the real server: token sources (client
//! credentials, the agent) with caching, and a service protected by `RequireScopes` that
//! verifies tokens in process — scopes, audiences, missing tokens, and a key rotation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code fails loudly"
)]

use std::sync::Arc;

use crate::common;

use axum::Router;
use axum::routing::get;
use common::{ORDERS, TestServer};
use gatehouse_client::{Authenticated, RequireScopes, TokenSource, Verifier};
use gatehouse_core::Clock;
use reqwest::{Method, StatusCode};

/// A service on 127.0.0.1:0 that needs `orders:read` on `audience`.
async fn service(s: &TestServer, audience: &str) -> String {
    let verifier = Verifier::with(
        &s.issuer,
        audience,
        Some(s.at("/.well-known/jwks.json")),
        Arc::clone(&s.clock) as Arc<dyn Clock>,
    )
    .unwrap();
    let app = Router::new()
        .route(
            "/orders",
            get(|Authenticated(p): Authenticated| async move {
                format!("{} {}", p.client_id, p.scopes.join(","))
            }),
        )
        .layer(RequireScopes::new(verifier, ["orders:read"]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_token_source_caches_and_a_verified_service_checks_scopes_and_audience() {
    let s = TestServer::start().await;
    let reader = s.orders_with_client().await;
    s.create_api("payments", "https://payments.example", &["orders:read"])
        .await;
    let tokens =
        TokenSource::client_credentials(s.at("/oauth2/token"), &reader.id, reader.secret())
            .unwrap();
    let first = tokens.token(ORDERS).await.unwrap();
    assert_eq!(tokens.token(ORDERS).await.unwrap(), first, "cached");

    let url = service(&s, ORDERS).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let req = tokens
        .authorize(http.get(format!("{url}/orders")), ORDERS)
        .await
        .unwrap();
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.text().await.unwrap(),
        format!("{} orders:read", reader.id)
    );

    // No token, garbage, a token for another API.
    let resp = http.get(format!("{url}/orders")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    let resp = http
        .get(format!("{url}/orders"))
        .bearer_auth("a.b.c")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let payments = s.create_client("payer", "client_secret_basic").await;
    s.grant(&payments.id, "payments", &["orders:read"]).await;
    let foreign = s
        .access_token(&payments, &[("resource", "https://payments.example")])
        .await;
    let resp = http
        .get(format!("{url}/orders"))
        .bearer_auth(&foreign)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        401,
        "a token for payments is refused by orders"
    );

    // Without the scope: 403 insufficient_scope.
    let bare = s.create_client("bare", "client_secret_basic").await;
    s.grant(&bare.id, "orders", &["orders:write"]).await;
    let t = s.access_token(&bare, &[("resource", ORDERS)]).await;
    let resp = http
        .get(format!("{url}/orders"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );

    // Expired (the service's clock is the server's).
    s.advance(3 * 3600);
    let resp = http
        .get(format!("{url}/orders"))
        .bearer_auth(&*first)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    s.stop().await;
}

#[tokio::test]
async fn a_key_rotation_is_picked_up_on_the_first_token_with_the_new_kid() {
    let s = TestServer::start().await;
    let reader = s.orders_with_client().await;
    let url = service(&s, ORDERS).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let before = s.access_token(&reader, &[("resource", ORDERS)]).await;
    let get = |t: String| {
        let http = http.clone();
        let url = url.clone();
        async move {
            http.get(format!("{url}/orders"))
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(get(before.clone()).await, StatusCode::OK);
    // Rotate twice so the next token is signed by a key the service has never seen.
    for _ in 0..2 {
        let (status, v) = s
            .admin_json(Method::POST, "/admin/v1/keys/rotate", None)
            .await;
        assert!(status.is_success(), "{v}");
    }
    // Past the refetch limit (30 s on the service's clock).
    s.advance(31);
    let after = s.access_token(&reader, &[("resource", ORDERS)]).await;
    assert_ne!(common::kid_of(&before), common::kid_of(&after));
    assert_eq!(get(after).await, StatusCode::OK);
    s.stop().await;
}
