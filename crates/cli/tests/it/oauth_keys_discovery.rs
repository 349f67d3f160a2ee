//! Signing keys (manual rotation, emergency revocation) and discovery documents (RFC 8414
//! metadata, its OpenID-style copy, the JWKS), against the in-process server over real HTTP.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    reason = "integration tests and their helpers: a broken expectation must fail loudly"
)]

use crate::common;

use common::{ORDERS, TestServer, header_str, json_body, kid_of};
use jsonwebtoken::Algorithm;
use reqwest::{Method, StatusCode, header};
use serde_json::json;

// === signing keys ===

#[tokio::test]
async fn key_rotation_signs_new_tokens_with_a_new_kid_and_old_tokens_stay_valid() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let old_token = server.access_token(&client, &[]).await;
    let old_kid = kid_of(&old_token);
    let published_before = server.jwks_kids().await;

    let resp = server
        .admin(Method::POST, "/admin/v1/keys/rotate")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    let new_token = server.access_token(&client, &[]).await;
    let new_kid = kid_of(&new_token);
    assert_ne!(new_kid, old_kid, "a new key signs after rotation");
    assert!(
        published_before.contains(&new_kid),
        "the new key was published before it signed: {published_before:?}"
    );
    let kids = server.jwks_kids().await;
    assert!(
        kids.contains(&old_kid),
        "the retired key stays published: {kids:?}"
    );
    assert!(kids.contains(&new_kid), "{kids:?}");
    assert_eq!(
        server.introspect_as(&client, &old_token).await["active"],
        true
    );
    assert_eq!(
        server.introspect_as(&client, &new_token).await["active"],
        true
    );
    common::verify_with_jsonwebtoken(&server, &old_token, Algorithm::ES256, ORDERS).await;
    common::verify_with_jsonwebtoken(&server, &new_token, Algorithm::ES256, ORDERS).await;
    server.stop().await;
}

#[tokio::test]
async fn revoking_the_active_key_unpublishes_it_and_invalidates_its_tokens() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    let kid = kid_of(&token);

    let resp = server
        .admin(Method::POST, &format!("/admin/v1/keys/{kid}/revoke"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    assert!(
        !server.jwks_kids().await.contains(&kid),
        "revoked key leaves the JWKS at once"
    );
    assert_eq!(
        server.introspect_as(&client, &token).await,
        json!({"active": false})
    );
    let fresh = server.access_token(&client, &[]).await;
    let fresh_kid = kid_of(&fresh);
    assert_ne!(fresh_kid, kid);
    assert!(server.jwks_kids().await.contains(&fresh_kid));
    assert_eq!(server.introspect_as(&client, &fresh).await["active"], true);
    server.stop().await;
}

#[tokio::test]
async fn revoking_an_unknown_key_is_404() {
    let server = TestServer::start().await;
    let (status, problem) = server
        .admin_json(Method::POST, "/admin/v1/keys/nosuchkid/revoke", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    server.stop().await;
}

// === discovery ===

async fn check_metadata(server: &TestServer, path: &str) {
    let resp = server.http.get(server.at(path)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let m = json_body(resp).await;
    let i = &server.issuer;
    assert_eq!(m["issuer"], i.as_str());
    assert_eq!(m["token_endpoint"], format!("{i}/oauth2/token"));
    assert_eq!(m["jwks_uri"], format!("{i}/.well-known/jwks.json"));
    assert_eq!(
        m["introspection_endpoint"],
        format!("{i}/oauth2/introspect")
    );
    assert_eq!(m["revocation_endpoint"], format!("{i}/oauth2/revoke"));
    assert_eq!(m["grant_types_supported"], json!(["client_credentials"]));
    assert_eq!(m["response_types_supported"], json!([]));
    let methods = json!([
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt"
    ]);
    for key in [
        "token_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        assert_eq!(m[key], methods, "{key}");
    }
    let algs = m["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .expect("assertion algs");
    assert!(
        algs.contains(&json!("ES256")) && algs.contains(&json!("RS256")),
        "{algs:?}"
    );
    assert!(
        !algs
            .iter()
            .any(|a| a == "none" || a.as_str().is_some_and(|a| a.starts_with("HS"))),
        "{algs:?}"
    );
    // No HTTPS listener here: no mTLS methods, no certificate-bound tokens.
    assert_eq!(m["tls_client_certificate_bound_access_tokens"], false);
    assert!(m.get("mtls_endpoint_aliases").is_none());
    assert_eq!(
        m["scopes_supported"],
        // The control plane's own APIs contribute gateway:sync (standalone gateways),
        // ca:sign (certificates by token) and policies:write (API owners' policies).
        json!([
            "ca:sign",
            "gateway:sync",
            "orders:read",
            "orders:write",
            "policies:write"
        ])
    );
}

#[tokio::test]
async fn authorization_server_metadata_describes_every_endpoint_and_capability() {
    let server = TestServer::start().await;
    server
        .create_api("orders", ORDERS, &["orders:read", "orders:write"])
        .await;
    check_metadata(&server, "/.well-known/oauth-authorization-server").await;
    server.stop().await;
}

#[tokio::test]
async fn openid_configuration_is_a_compatible_copy_of_the_metadata() {
    let server = TestServer::start().await;
    server
        .create_api("orders", ORDERS, &["orders:read", "orders:write"])
        .await;
    check_metadata(&server, "/.well-known/openid-configuration").await;
    server.stop().await;
}

#[tokio::test]
async fn jwks_is_cacheable_and_carries_only_public_keys() {
    let server = TestServer::start().await;
    let resp = server
        .http
        .get(server.at("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cache = header_str(&resp, header::CACHE_CONTROL)
        .unwrap_or_default()
        .to_owned();
    assert!(cache.contains("max-age=300"), "Cache-Control: {cache}");
    let jwks = json_body(resp).await;
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    for k in keys {
        assert!(k["kid"].is_string(), "{k}");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                k.get(private).is_none(),
                "private member {private} published: {k}"
            );
        }
    }
    server.stop().await;
}
