//! The token endpoint's happy paths, target resolution (resources, audiences, scopes), custom
//! claims, grants and secret rotation, against the in-process server over real HTTP.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    reason = "integration tests and their helpers: a broken expectation must fail loudly"
)]

use crate::common;

use common::{ORDERS, TestServer, expect_oauth_error, header_str, json_body, jwt_parts};
use jsonwebtoken::Algorithm;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

/// Asserts a successful token response (body and headers) and returns the body.
async fn expect_token(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let cache = header_str(&resp, header::CACHE_CONTROL).map(str::to_owned);
    let pragma = header_str(&resp, header::PRAGMA).map(str::to_owned);
    let body = json_body(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(cache.as_deref(), Some("no-store"));
    assert_eq!(pragma.as_deref(), Some("no-cache"));
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3),
        "{body}"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().is_some_and(|e| e > 0), "{body}");
    assert!(body["scope"].is_string(), "{body}");
    body
}

// === client authentication happy paths ===

#[tokio::test]
async fn client_secret_basic_gets_a_bearer_token_with_no_store_headers() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .token_basic(&client.id, client.secret(), &[("resource", ORDERS)])
        .await;
    let body = expect_token(resp).await;
    assert_eq!(body["scope"], "orders:read");
    assert_eq!(
        body["expires_in"], 900,
        "default token lifetime is 15 minutes"
    );
    server.stop().await;
}

#[tokio::test]
async fn client_secret_post_gets_a_bearer_token_with_no_store_headers() {
    let server = TestServer::start().await;
    server.create_api("orders", ORDERS, &["orders:read"]).await;
    let client = server.create_client("poster", "client_secret_post").await;
    server.grant(&client.id, "orders", &["orders:read"]).await;
    let resp = server
        .token_post(&client.id, client.secret(), &[("resource", ORDERS)])
        .await;
    let body = expect_token(resp).await;
    assert_eq!(body["scope"], "orders:read");
    server.stop().await;
}

#[tokio::test]
async fn spring_style_token_alias_issues_tokens_too() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .http
        .post(server.at("/oauth/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    expect_token(resp).await;
    server.stop().await;
}

#[tokio::test]
async fn access_token_is_an_rfc9068_jwt_signed_es256_with_a_published_kid() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[("resource", ORDERS)]).await;
    let (header, claims) = jwt_parts(&token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let kid = header["kid"].as_str().expect("kid");
    assert!(
        server.jwks_kids().await.iter().any(|k| k == kid),
        "kid {kid} is in the JWKS"
    );

    assert_eq!(claims["iss"], server.issuer.as_str());
    assert_eq!(claims["sub"], client.id.as_str());
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(claims["aud"], ORDERS);
    assert_eq!(claims["scope"], "orders:read");
    assert_eq!(claims["iat"], server.now());
    assert_eq!(claims["exp"], server.now() + 900);
    assert!(
        claims["jti"].as_str().is_some_and(|j| j.len() >= 16),
        "jti: {claims}"
    );
    server.stop().await;
}

#[tokio::test]
async fn access_token_verifies_with_the_jsonwebtoken_crate_against_the_jwks() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[("resource", ORDERS)]).await;
    let claims = common::verify_with_jsonwebtoken(&server, &token, Algorithm::ES256, ORDERS).await;
    assert_eq!(claims["sub"], client.id.as_str());
    server.stop().await;
}

#[tokio::test]
async fn every_token_gets_a_fresh_jti() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let a = server.access_token(&client, &[]).await;
    let b = server.access_token(&client, &[]).await;
    assert_ne!(jwt_parts(&a).1["jti"], jwt_parts(&b).1["jti"]);
    server.stop().await;
}

// === resources, audiences and scopes ===

#[tokio::test]
async fn resource_the_client_has_no_grant_for_is_invalid_target() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    server
        .create_api("billing", "https://billing.example", &["pay"])
        .await;
    let resp = server
        .token(&client, &[("resource", "https://billing.example")])
        .await;
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_target").await;
    server.stop().await;
}

#[tokio::test]
async fn unknown_resource_is_invalid_target() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .token(&client, &[("resource", "https://nowhere.example")])
        .await;
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_target").await;
    server.stop().await;
}

#[tokio::test]
async fn relative_resource_is_invalid_target() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server.token(&client, &[("resource", "orders")]).await;
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_target").await;
    server.stop().await;
}

#[tokio::test]
async fn resource_with_a_fragment_is_invalid_target() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .token(&client, &[("resource", "https://orders.example#frag")])
        .await;
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_target").await;
    server.stop().await;
}

#[tokio::test]
async fn two_resources_sharing_an_algorithm_give_an_aud_array_and_the_union_of_scopes() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    server
        .create_api("billing", "https://billing.example", &["pay"])
        .await;
    server.grant(&client.id, "billing", &["pay"]).await;
    let token = server
        .access_token(
            &client,
            &[
                ("resource", ORDERS),
                ("resource", "https://billing.example"),
            ],
        )
        .await;
    let (_, claims) = jwt_parts(&token);
    assert_eq!(claims["aud"], json!([ORDERS, "https://billing.example"]));
    assert_eq!(claims["scope"], "orders:read pay");
    common::verify_with_jsonwebtoken(&server, &token, Algorithm::ES256, "https://billing.example")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn two_resources_with_different_algorithms_are_invalid_target() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    server
        .create_api_json(json!({"name": "audit", "audience": "https://audit.example", "scopes": ["audit:read"], "alg": "EdDSA"}))
        .await;
    server.grant(&client.id, "audit", &["audit:read"]).await;
    let resp = server
        .token(
            &client,
            &[("resource", ORDERS), ("resource", "https://audit.example")],
        )
        .await;
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_target").await;
    server.stop().await;
}

#[tokio::test]
async fn eddsa_api_gets_eddsa_tokens_that_verify_against_the_jwks() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    server
        .create_api_json(json!({"name": "audit", "audience": "https://audit.example", "scopes": ["audit:read"], "alg": "EdDSA"}))
        .await;
    server.grant(&client.id, "audit", &["audit:read"]).await;
    let token = server
        .access_token(&client, &[("resource", "https://audit.example")])
        .await;
    assert_eq!(jwt_parts(&token).0["alg"], "EdDSA");
    common::verify_with_jsonwebtoken(&server, &token, Algorithm::EdDSA, "https://audit.example")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn audience_parameter_selects_the_api_like_resource() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    server
        .create_api("billing", "https://billing.example", &["pay"])
        .await;
    server.grant(&client.id, "billing", &["pay"]).await;
    let token = server
        .access_token(&client, &[("audience", "https://billing.example")])
        .await;
    let (_, claims) = jwt_parts(&token);
    assert_eq!(claims["aud"], "https://billing.example");
    assert_eq!(claims["scope"], "pay");
    server.stop().await;
}

#[tokio::test]
async fn dot_default_scope_gives_every_scope_granted_on_that_api() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    server
        .grant(&client.id, "orders", &["orders:read", "orders:write"])
        .await;
    server
        .create_api("billing", "https://billing.example", &["pay"])
        .await;
    server.grant(&client.id, "billing", &["pay"]).await;
    let resp = server
        .token(&client, &[("scope", "https://orders.example/.default")])
        .await;
    let body = expect_token(resp).await;
    assert_eq!(body["scope"], "orders:read orders:write");
    let (_, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], ORDERS);
    server.stop().await;
}

#[tokio::test]
async fn scope_that_was_not_granted_is_invalid_scope() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .token(&client, &[("resource", ORDERS), ("scope", "orders:write")])
        .await;
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_scope").await;
    server.stop().await;
}

#[tokio::test]
async fn requested_subset_of_granted_scopes_is_what_the_token_carries() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    server
        .grant(&client.id, "orders", &["orders:read", "orders:write"])
        .await;
    let body = expect_token(
        server
            .token(&client, &[("resource", ORDERS), ("scope", "orders:write")])
            .await,
    )
    .await;
    assert_eq!(body["scope"], "orders:write");
    server.stop().await;
}

#[tokio::test]
async fn no_resource_and_no_scope_with_exactly_one_grant_uses_that_api() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    let (_, claims) = jwt_parts(&token);
    assert_eq!(claims["aud"], ORDERS);
    assert_eq!(claims["scope"], "orders:read");
    server.stop().await;
}

#[tokio::test]
async fn no_resource_and_no_scope_with_two_grants_is_invalid_request_asking_for_a_resource() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    server
        .create_api("billing", "https://billing.example", &["pay"])
        .await;
    server.grant(&client.id, "billing", &["pay"]).await;
    let body = expect_oauth_error(
        server.token(&client, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains("resource"),
        "the error says why: {description}"
    );
    server.stop().await;
}

#[tokio::test]
async fn client_without_any_grant_is_told_why() {
    let server = TestServer::start().await;
    server.create_api("orders", ORDERS, &["orders:read"]).await;
    let client = server.create_client("lonely", "client_secret_basic").await;
    let body = expect_oauth_error(
        server.token(&client, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("grant")),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn repeated_audience_parameter_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .token(&client, &[("audience", ORDERS), ("audience", ORDERS)])
        .await;
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    server.stop().await;
}

#[tokio::test]
async fn basic_with_a_matching_client_id_field_is_accepted() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .token_basic(
            &client.id,
            client.secret(),
            &[("client_id", client.id.as_str())],
        )
        .await;
    expect_token(resp).await;
    server.stop().await;
}

#[tokio::test]
async fn rsa_apis_get_tokens_that_verify_with_the_jsonwebtoken_crate() {
    let server = TestServer::start().await;
    let client = server
        .create_client("rsa-user", "client_secret_basic")
        .await;
    for (name, alg, jwt_alg) in [
        ("legacy", "RS256", Algorithm::RS256),
        ("pss", "PS256", Algorithm::PS256),
    ] {
        let audience = format!("https://{name}.example");
        server
            .create_api_json(
                json!({"name": name, "audience": audience, "scopes": ["read"], "alg": alg}),
            )
            .await;
        server.grant(&client.id, name, &["read"]).await;
        let token = server
            .access_token(&client, &[("resource", &audience)])
            .await;
        assert_eq!(jwt_parts(&token).0["alg"], alg);
        common::verify_with_jsonwebtoken(&server, &token, jwt_alg, &audience).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn custom_claims_from_the_api_and_application_metadata_appear_in_tokens_and_introspection() {
    let server = TestServer::start().await;
    server
        .create_api_json(json!({
            "name": "orders", "audience": ORDERS, "scopes": ["orders:read"],
            "claims": {"env": "prod"}, "copy_metadata": ["tenant"],
        }))
        .await;
    let client = server
        .create_client_json(json!({"name": "acme-billing", "metadata": {"tenant": "acme"}, "claims": {"team": "payments"}}))
        .await;
    server.grant(&client.id, "orders", &["orders:read"]).await;
    let token = server.access_token(&client, &[]).await;
    let (_, claims) = jwt_parts(&token);
    assert_eq!(claims["env"], "prod");
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["team"], "payments");
    let v = server.introspect_as(&client, &token).await;
    assert_eq!(v["tenant"], "acme");
    server.stop().await;
}

#[tokio::test]
async fn custom_claims_cannot_override_registered_claims_or_grow_unbounded() {
    let server = TestServer::start().await;
    let body =
        json!({"name": "orders", "audience": ORDERS, "claims": {"iss": "https://evil.example"}});
    let (status, problem) = server
        .admin_json(Method::POST, "/admin/v1/apis", Some(body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let body = json!({"name": "evil", "claims": {"sub": "admin"}});
    let (status, problem) = server
        .admin_json(Method::POST, "/admin/v1/clients", Some(body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let body = json!({"name": "orders", "audience": ORDERS, "copy_metadata": ["scope"]});
    let (status, problem) = server
        .admin_json(Method::POST, "/admin/v1/apis", Some(body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let huge =
        json!({"name": "orders", "audience": ORDERS, "claims": {"blob": "x".repeat(8 * 1024)}});
    let (status, problem) = server
        .admin_json(Method::POST, "/admin/v1/apis", Some(huge))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "custom claims are size-bounded: {problem}"
    );
    server.stop().await;
}

#[tokio::test]
async fn api_token_ttl_sets_expires_in_and_exp() {
    let server = TestServer::start().await;
    server.create_api_json(json!({"name": "orders", "audience": ORDERS, "scopes": ["orders:read"], "token_ttl": "5m"})).await;
    let client = server.create_client("billing", "client_secret_basic").await;
    server.grant(&client.id, "orders", &["orders:read"]).await;
    let body = expect_token(server.token(&client, &[]).await).await;
    assert_eq!(body["expires_in"], 300);
    let (_, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(claims["exp"], server.now() + 300);
    server.stop().await;
}

// === grants ===

#[tokio::test]
async fn granting_again_replaces_the_scope_set() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    server.grant(&client.id, "orders", &["orders:write"]).await;
    let body = expect_token(server.token(&client, &[("resource", ORDERS)]).await).await;
    assert_eq!(
        body["scope"], "orders:write",
        "orders:read was replaced, not kept"
    );
    let resp = server
        .token(&client, &[("resource", ORDERS), ("scope", "orders:read")])
        .await;
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_scope").await;
    let (_, list) = server
        .admin_json(
            Method::GET,
            &format!("/admin/v1/grants?client={}", client.id),
            None,
        )
        .await;
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(1),
        "one grant per client and API: {list}"
    );
    server.stop().await;
}

#[tokio::test]
async fn granting_a_scope_the_api_does_not_define_is_a_400_problem() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let body = json!({ "client_id": client.id, "api": "orders", "scopes": ["orders:delete"] });
    let resp = server
        .admin(Method::PUT, "/admin/v1/grants")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        header_str(&resp, header::CONTENT_TYPE),
        Some("application/problem+json")
    );
    let problem = json_body(resp).await;
    assert_eq!(problem["status"], 400);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("orders:delete")),
        "{problem}"
    );
    let token = server.access_token(&client, &[]).await;
    assert_eq!(
        jwt_parts(&token).1["scope"],
        "orders:read",
        "the previous grant is untouched"
    );
    server.stop().await;
}

#[tokio::test]
async fn revoked_grant_stops_token_issuance() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let (status, _) = server
        .admin_json(
            Method::DELETE,
            &format!("/admin/v1/grants/{}/orders", client.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let resp = server.token(&client, &[("resource", ORDERS)]).await;
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_target").await;
    server.stop().await;
}

// === secret rotation ===

#[tokio::test]
async fn rotated_secret_with_grace_keeps_both_secrets_until_the_grace_ends() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let path = format!("/admin/v1/clients/{}/rotate-secret", client.id);
    let (status, rotated) = server
        .admin_json(Method::POST, &path, Some(json!({"grace": "1h"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["previous_valid_until"], server.now() + 3600);
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, client.secret());

    assert_eq!(
        server
            .token_basic(&client.id, client.secret(), &[])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        server
            .token_basic(&client.id, &new_secret, &[])
            .await
            .status(),
        StatusCode::OK
    );

    server.advance(3600);
    let resp = server.token_basic(&client.id, client.secret(), &[]).await;
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    assert_eq!(
        server
            .token_basic(&client.id, &new_secret, &[])
            .await
            .status(),
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test]
async fn rotated_secret_without_grace_invalidates_the_old_one_at_once() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let path = format!("/admin/v1/clients/{}/rotate-secret", client.id);
    let (status, rotated) = server
        .admin_json(Method::POST, &path, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let resp = server.token_basic(&client.id, client.secret(), &[]).await;
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_eq!(
        server
            .token_basic(&client.id, new_secret, &[])
            .await
            .status(),
        StatusCode::OK
    );
    server.stop().await;
}
