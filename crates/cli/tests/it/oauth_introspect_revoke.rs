//! Introspection (RFC 7662, plus the Spring-style `/oauth/check_token` alias), revocation
//! (RFC 7009) and the admin `revoke-tokens` cutoff.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    reason = "integration tests and their helpers: a broken expectation must fail loudly"
)]

use crate::common;

use common::{ORDERS, TestClient, TestServer, expect_oauth_error, json_body, jwt_parts};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The orders fixture plus a second client granted the same API.
async fn two_clients(server: &TestServer) -> (TestClient, TestClient) {
    let a = server.orders_with_client().await;
    let b = server
        .create_client("shipping", "client_secret_basic")
        .await;
    server.grant(&b.id, "orders", &["orders:read"]).await;
    (a, b)
}

// === introspection ===

#[tokio::test]
async fn own_token_introspects_active_with_every_rfc7662_member() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[("resource", ORDERS)]).await;
    let (_, claims) = jwt_parts(&token);
    let v = server.introspect_as(&client, &token).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], client.id.as_str());
    assert_eq!(v["sub"], client.id.as_str());
    assert_eq!(v["scope"], "orders:read");
    assert_eq!(v["aud"], ORDERS);
    assert_eq!(v["iss"], server.issuer.as_str());
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["exp"], claims["exp"]);
    assert_eq!(v["iat"], claims["iat"]);
    assert_eq!(v["jti"], claims["jti"]);
    server.stop().await;
}

#[tokio::test]
async fn client_secret_post_client_can_introspect_its_own_token() {
    let server = TestServer::start().await;
    server.create_api("orders", ORDERS, &["orders:read"]).await;
    let client = server.create_client("poster", "client_secret_post").await;
    server.grant(&client.id, "orders", &["orders:read"]).await;
    let token = server.access_token(&client, &[]).await;
    assert_eq!(server.introspect_as(&client, &token).await["active"], true);
    server.stop().await;
}

#[tokio::test]
async fn another_clients_token_introspects_as_inactive_only() {
    let server = TestServer::start().await;
    let (a, b) = two_clients(&server).await;
    let token = server.access_token(&a, &[]).await;
    assert_eq!(
        server.introspect_as(&b, &token).await,
        json!({"active": false})
    );
    server.stop().await;
}

#[tokio::test]
async fn garbage_token_introspects_as_inactive() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    for garbage in ["not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
        assert_eq!(
            server.introspect_as(&client, garbage).await,
            json!({"active": false}),
            "{garbage}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn expired_token_introspects_as_inactive() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    server.advance(899);
    assert_eq!(
        server.introspect_as(&client, &token).await["active"],
        true,
        "still valid a second before exp"
    );
    server.advance(1);
    assert_eq!(
        server.introspect_as(&client, &token).await,
        json!({"active": false})
    );
    server.stop().await;
}

#[tokio::test]
async fn token_with_a_tampered_payload_introspects_as_inactive() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let (_, mut claims) = jwt_parts(&token);
    claims["scope"] = json!("orders:read orders:write");
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        claims.to_string(),
    );
    let forged = parts.join(".");
    assert_eq!(
        server.introspect_admin(&forged).await,
        json!({"active": false})
    );
    server.stop().await;
}

#[tokio::test]
async fn admin_token_can_introspect_any_clients_token() {
    let server = TestServer::start().await;
    let (a, b) = two_clients(&server).await;
    for client in [&a, &b] {
        let token = server.access_token(client, &[]).await;
        let v = server.introspect_admin(&token).await;
        assert_eq!(v["active"], true);
        assert_eq!(v["client_id"], client.id.as_str());
    }
    server.stop().await;
}

#[tokio::test]
async fn introspection_without_the_token_parameter_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .authed_form("/oauth2/introspect", &client, &[])
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    server.stop().await;
}

#[tokio::test]
async fn introspection_without_client_authentication_is_invalid_client() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    let resp = server
        .http
        .post(server.at("/oauth2/introspect"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn introspection_with_a_wrong_secret_is_invalid_client() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    let resp = server
        .http
        .post(server.at("/oauth2/introspect"))
        .basic_auth(&client.id, Some("gatehouse_cs_wrong"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn check_token_alias_answers_like_introspection() {
    let server = TestServer::start().await;
    let (a, b) = two_clients(&server).await;
    let token = server.access_token(&a, &[]).await;
    let resp = server
        .authed_form("/oauth/check_token", &a, &[("token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v = json_body(resp).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], a.id.as_str());
    assert_eq!(v["scope"], "orders:read");

    let resp = server
        .authed_form("/oauth/check_token", &b, &[("token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(json_body(resp).await, json!({"active": false}));
    server.stop().await;
}

// === revocation ===

#[tokio::test]
async fn revoking_an_own_token_makes_it_introspect_inactive() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    let other = server.access_token(&client, &[]).await;
    let resp = server.revoke_as(&client, &[("token", &token)]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        server.introspect_as(&client, &token).await,
        json!({"active": false})
    );
    assert_eq!(
        server.introspect_admin(&token).await,
        json!({"active": false})
    );
    assert_eq!(
        server.introspect_as(&client, &other).await["active"],
        true,
        "only that token is revoked"
    );
    server.stop().await;
}

#[tokio::test]
async fn revoking_another_clients_token_is_refused_and_the_token_stays_active() {
    let server = TestServer::start().await;
    let (a, b) = two_clients(&server).await;
    let token = server.access_token(&a, &[]).await;
    let resp = server.revoke_as(&b, &[("token", &token)]).await;
    let body = expect_oauth_error(resp, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    assert!(body["error"].is_string());
    assert_eq!(server.introspect_as(&a, &token).await["active"], true);
    server.stop().await;
}

#[tokio::test]
async fn revoking_a_garbage_token_answers_200() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server.revoke_as(&client, &[("token", "not-a-token")]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn revoking_twice_answers_200_both_times() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    assert_eq!(
        server
            .revoke_as(&client, &[("token", &token)])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        server
            .revoke_as(&client, &[("token", &token)])
            .await
            .status(),
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test]
async fn revocation_accepts_the_refresh_token_hint() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    let resp = server
        .revoke_as(
            &client,
            &[("token", &token), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(server.introspect_as(&client, &token).await["active"], false);
    server.stop().await;
}

#[tokio::test]
async fn revocation_with_an_unknown_hint_is_unsupported_token_type() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    let resp = server
        .revoke_as(&client, &[("token", &token), ("token_type_hint", "bogus")])
        .await;
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "unsupported_token_type").await;
    assert_eq!(server.introspect_as(&client, &token).await["active"], true);
    server.stop().await;
}

#[tokio::test]
async fn revocation_without_client_authentication_is_invalid_client() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    let resp = server
        .http
        .post(server.at("/oauth2/revoke"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    assert_eq!(server.introspect_as(&client, &token).await["active"], true);
    server.stop().await;
}

#[tokio::test]
async fn revocation_without_the_token_parameter_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server.revoke_as(&client, &[]).await;
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    server.stop().await;
}

// === revoke-tokens (admin) ===

#[tokio::test]
async fn revoke_tokens_invalidates_every_issued_token_but_not_later_ones() {
    let server = TestServer::start().await;
    let (a, b) = two_clients(&server).await;
    let first = server.access_token(&a, &[]).await;
    server.advance(10);
    let second = server.access_token(&a, &[]).await;
    let bystander = server.access_token(&b, &[]).await;

    let (status, v) = server
        .admin_json(
            Method::POST,
            &format!("/admin/v1/clients/{}/revoke-tokens", a.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["client_id"], a.id.as_str());
    assert!(
        v["tokens_not_before"]
            .as_i64()
            .is_some_and(|nb| nb >= server.now()),
        "{v}"
    );

    assert_eq!(
        server.introspect_as(&a, &first).await,
        json!({"active": false})
    );
    assert_eq!(
        server.introspect_as(&a, &second).await,
        json!({"active": false})
    );
    assert_eq!(
        server.introspect_as(&b, &bystander).await["active"],
        true,
        "other clients are unaffected"
    );

    server.advance(2);
    let fresh = server.access_token(&a, &[]).await;
    assert_eq!(server.introspect_as(&a, &fresh).await["active"], true);
    server.stop().await;
}

#[tokio::test]
async fn token_issued_in_the_same_second_as_revoke_tokens_is_still_valid() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let (status, _) = server
        .admin_json(
            Method::POST,
            &format!("/admin/v1/clients/{}/revoke-tokens", client.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = server.access_token(&client, &[]).await;
    assert_eq!(server.introspect_as(&client, &fresh).await["active"], true);
    server.stop().await;
}

#[tokio::test]
async fn deleting_a_client_makes_its_tokens_inactive() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    let (status, _) = server
        .admin_json(
            Method::DELETE,
            &format!("/admin/v1/clients/{}", client.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.introspect_admin(&token).await,
        json!({"active": false})
    );
    server.stop().await;
}
