//! The admin REST API (`/admin/v1/...`): authentication, RFC 9457 problems, conflicts, the
//! audit log and admin-token rotation; plus health, readiness and metrics.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    reason = "integration tests and their helpers: a broken expectation must fail loudly"
)]

use crate::common;

use common::{ORDERS, TestServer, header_str, json_body};
use reqwest::{Method, Response, StatusCode, header};
use serde_json::{Value, json};

/// Asserts an RFC 9457 problem with `status`; returns it.
async fn expect_problem(resp: Response, status: StatusCode) -> Value {
    let got = resp.status();
    let content_type = header_str(&resp, header::CONTENT_TYPE).map(str::to_owned);
    let problem = json_body(resp).await;
    assert_eq!(got, status, "{problem}");
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(problem["status"], status.as_u16());
    assert!(
        problem["title"].is_string() && problem["type"].is_string(),
        "{problem}"
    );
    problem
}

// === authentication ===

#[tokio::test]
async fn admin_api_without_a_token_is_401_problem_with_a_bearer_challenge() {
    let server = TestServer::start().await;
    let resp = server
        .http
        .get(server.at("/admin/v1/clients"))
        .send()
        .await
        .unwrap();
    let challenge = header_str(&resp, header::WWW_AUTHENTICATE)
        .unwrap_or_default()
        .to_owned();
    expect_problem(resp, StatusCode::UNAUTHORIZED).await;
    assert!(
        challenge.starts_with("Bearer"),
        "WWW-Authenticate: {challenge:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn admin_api_with_a_wrong_token_is_401() {
    let server = TestServer::start().await;
    let resp = server
        .http
        .get(server.at("/admin/v1/apis"))
        .bearer_auth("gatehouse_adm_wrong")
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::UNAUTHORIZED).await;
    server.stop().await;
}

#[tokio::test]
async fn admin_api_refuses_a_client_secret_as_admin_token() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .http
        .get(server.at("/admin/v1/apis"))
        .bearer_auth(client.secret())
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::UNAUTHORIZED).await;
    server.stop().await;
}

#[tokio::test]
async fn admin_api_refuses_an_access_token_as_admin_token() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let token = server.access_token(&client, &[]).await;
    let resp = server
        .http
        .get(server.at("/admin/v1/apis"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::UNAUTHORIZED).await;
    server.stop().await;
}

#[tokio::test]
async fn rotating_the_admin_token_retires_the_old_one() {
    let server = TestServer::start().await;
    let resp = server
        .admin(Method::POST, "/admin/v1/admin-token/rotate")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header_str(&resp, header::CACHE_CONTROL), Some("no-store"));
    let new = json_body(resp).await["admin_token"]
        .as_str()
        .expect("admin_token")
        .to_owned();
    assert!(new.starts_with("gatehouse_adm_"), "{new}");
    assert_ne!(new, server.admin_token);

    let old = server
        .http
        .get(server.at("/admin/v1/apis"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    expect_problem(old, StatusCode::UNAUTHORIZED).await;
    let fresh = server
        .http
        .get(server.at("/admin/v1/apis"))
        .bearer_auth(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    server.stop().await;
}

// === request validation ===

#[tokio::test]
async fn duplicate_api_name_is_409() {
    let server = TestServer::start().await;
    server.create_api("orders", ORDERS, &["orders:read"]).await;
    let body = json!({"name": "orders", "audience": "https://orders2.example"});
    let resp = server
        .admin(Method::POST, "/admin/v1/apis")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::CONFLICT).await;
    server.stop().await;
}

#[tokio::test]
async fn duplicate_api_audience_is_409() {
    let server = TestServer::start().await;
    server.create_api("orders", ORDERS, &["orders:read"]).await;
    let body = json!({"name": "orders-v2", "audience": ORDERS});
    let resp = server
        .admin(Method::POST, "/admin/v1/apis")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::CONFLICT).await;
    server.stop().await;
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let server = TestServer::start().await;
    let resp = server
        .admin(Method::POST, "/admin/v1/apis")
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"name\": \"orders\",")
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::BAD_REQUEST).await;
    server.stop().await;
}

#[tokio::test]
async fn unknown_fields_are_a_400_problem() {
    let server = TestServer::start().await;
    let body = json!({"name": "orders", "audience": ORDERS, "scopez": ["orders:read"]});
    let resp = server
        .admin(Method::POST, "/admin/v1/apis")
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem = expect_problem(resp, StatusCode::BAD_REQUEST).await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("scopez")),
        "{problem}"
    );
    // Nothing was created: only the control plane's own APIs are registered.
    let (_, apis) = server.admin_json(Method::GET, "/admin/v1/apis", None).await;
    let mut names: Vec<&str> = apis["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    // They are created in the same second: their listing order is by their random ids.
    names.sort_unstable();
    assert_eq!(names, ["gatehouse", "gatehouse-ca", "gatehouse-policies"]);
    server.stop().await;
}

#[tokio::test]
async fn invalid_audience_is_a_400_problem() {
    let server = TestServer::start().await;
    let body = json!({"name": "orders", "audience": "not a uri"});
    let resp = server
        .admin(Method::POST, "/admin/v1/apis")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::BAD_REQUEST).await;
    server.stop().await;
}

#[tokio::test]
async fn unknown_auth_method_is_a_400_problem() {
    let server = TestServer::start().await;
    let body = json!({"name": "x", "auth_method": "client_secret_jwt"});
    let resp = server
        .admin(Method::POST, "/admin/v1/clients")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::BAD_REQUEST).await;
    server.stop().await;
}

#[tokio::test]
async fn get_of_an_unknown_client_is_404_problem() {
    let server = TestServer::start().await;
    let resp = server
        .admin(Method::GET, "/admin/v1/clients/app_nosuchclient")
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::NOT_FOUND).await;
    server.stop().await;
}

#[tokio::test]
async fn unknown_admin_route_is_404_problem() {
    let server = TestServer::start().await;
    let resp = server
        .admin(Method::GET, "/admin/v1/nothing-here")
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::NOT_FOUND).await;
    server.stop().await;
}

#[tokio::test]
async fn grant_for_an_unknown_api_is_404_problem() {
    let server = TestServer::start().await;
    let client = server.create_client("c", "client_secret_basic").await;
    let body = json!({"client_id": client.id, "api": "nope", "scopes": []});
    let resp = server
        .admin(Method::PUT, "/admin/v1/grants")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::NOT_FOUND).await;
    server.stop().await;
}

// === resources ===

#[tokio::test]
async fn created_client_secret_is_prefixed_and_shown_only_once() {
    let server = TestServer::start().await;
    let client = server.create_client("billing", "client_secret_basic").await;
    let secret = client.secret();
    assert!(secret.starts_with("gatehouse_cs_"), "{secret}");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "{secret}"
    );
    assert!(
        client
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "{}",
        client.id
    );

    let resp = server
        .admin(Method::GET, &format!("/admin/v1/clients/{}", client.id))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    assert!(
        !text.contains(secret),
        "the secret is never shown again: {text}"
    );
    let shown: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown["client"]["id"], client.id.as_str());
    assert_eq!(shown["secrets"].as_array().map(Vec::len), Some(1));
    let (_, list) = server
        .admin_json(Method::GET, "/admin/v1/clients", None)
        .await;
    assert!(!list.to_string().contains(secret));
    server.stop().await;
}

#[tokio::test]
async fn api_can_be_found_by_name_and_by_audience() {
    let server = TestServer::start().await;
    let api = server.create_api("orders", ORDERS, &["orders:read"]).await;
    for key in ["orders", api["id"].as_str().unwrap()] {
        let (status, shown) = server
            .admin_json(Method::GET, &format!("/admin/v1/apis/{key}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{key}");
        assert_eq!(shown["audience"], ORDERS);
    }
    server.stop().await;
}

#[tokio::test]
async fn keys_list_shows_public_state_only() {
    let server = TestServer::start().await;
    let (status, keys) = server.admin_json(Method::GET, "/admin/v1/keys", None).await;
    assert_eq!(status, StatusCode::OK);
    let items = keys["items"].as_array().expect("items");
    assert!(
        items
            .iter()
            .any(|k| k["state"] == "active" && k["alg"] == "ES256"),
        "{keys}"
    );
    assert!(
        items.iter().any(|k| k["state"] == "next"),
        "the next key is pre-published: {keys}"
    );
    server.stop().await;
}

#[tokio::test]
async fn audit_log_records_every_change() {
    let server = TestServer::start().await;
    let api = server.create_api("orders", ORDERS, &["orders:read"]).await;
    let client = server.create_client("billing", "client_secret_basic").await;
    let grant = server.grant(&client.id, "orders", &["orders:read"]).await;
    let (status, _) = server
        .admin_json(
            Method::POST,
            &format!("/admin/v1/clients/{}/rotate-secret", client.id),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, audit) = server
        .admin_json(Method::GET, "/admin/v1/audit", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let events = audit["items"].as_array().expect("items");
    let find = |action: &str| {
        events
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {audit}"))
            .clone()
    };
    let created_api = find("api.create");
    assert_eq!(created_api["target"], api["id"]);
    assert_eq!(created_api["actor"], "admin-token");
    assert_eq!(find("client.create")["target"], client.id.as_str());
    assert_eq!(find("grant.set")["target"], grant["id"]);
    assert_eq!(find("client.rotate_secret")["target"], client.id.as_str());
    let text = audit.to_string();
    assert!(
        !text.contains(client.secret()),
        "secrets never reach the audit log"
    );
    server.stop().await;
}

// === health and metrics ===

#[tokio::test]
async fn healthz_and_readyz_answer_200() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/readyz"] {
        let resp = server.http.get(server.at(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_token_requests_by_client_and_result() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    server.access_token(&client, &[]).await;
    server.access_token(&client, &[]).await;
    let bad = server
        .token_basic(&client.id, "gatehouse_cs_wrong", &[])
        .await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    let resp = server.http.get(server.at("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    let line = |result: &str| {
        text.lines()
            .filter(|l| l.starts_with("gatehouse_oauth_token_requests"))
            .find(|l| {
                l.contains(&format!("client=\"{}\"", client.id))
                    && l.contains(&format!("result=\"{result}\""))
            })
            .unwrap_or_else(|| panic!("no {result} counter for the client in:\n{text}"))
            .to_owned()
    };
    let ok = line("ok");
    assert!(ok.contains("method=\"client_secret_basic\""), "{ok}");
    assert!(ok.ends_with(" 2"), "two successful requests: {ok}");
    assert!(line("invalid_client").ends_with(" 1"));
    assert!(
        text.contains("gatehouse_oauth_token_request_duration_seconds"),
        "latency histogram"
    );
    server.stop().await;
}

#[tokio::test]
async fn admin_requests_beyond_the_rate_limit_get_429_with_retry_after() {
    let server =
        TestServer::start_with_config("[admin]\nrate_limit_per_second = 1\nrate_limit_burst = 1\n")
            .await;
    let mut limited = None;
    for _ in 0..5 {
        let resp = server
            .admin(Method::GET, "/admin/v1/apis")
            .send()
            .await
            .unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(resp);
            break;
        }
    }
    let resp = limited.expect("five immediate requests exceed a burst of one");
    assert!(header_str(&resp, header::RETRY_AFTER).is_some());
    expect_problem(resp, StatusCode::TOO_MANY_REQUESTS).await;
    server.stop().await;
}

#[tokio::test]
async fn bare_post_without_a_body_rotates_the_signing_keys() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let before = common::kid_of(&server.access_token(&client, &[]).await);
    let resp = server
        .admin(Method::POST, "/admin/v1/keys/rotate")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let after = common::kid_of(&server.access_token(&client, &[]).await);
    assert_ne!(before, after);
    server.stop().await;
}

#[tokio::test]
async fn bare_post_without_a_body_rotates_a_secret_with_no_grace() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let path = format!("/admin/v1/clients/{}/rotate-secret", client.id);
    let resp = server.admin(Method::POST, &path).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let rotated = json_body(resp).await;
    assert_eq!(rotated["previous_valid_until"], server.now());
    let old = server.token_basic(&client.id, client.secret(), &[]).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn rotate_with_a_non_json_body_is_a_400_problem() {
    let server = TestServer::start().await;
    let resp = server
        .admin(Method::POST, "/admin/v1/keys/rotate")
        .header(header::CONTENT_TYPE, "text/plain")
        .body("alg=ES256")
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::BAD_REQUEST).await;
    server.stop().await;
}
