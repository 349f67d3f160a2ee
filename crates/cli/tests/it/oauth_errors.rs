//! The token endpoint's error surface (RFC 6749 §5.2): failed client authentication, malformed
//! requests, and the lockout after repeated failures — each a JSON body with `error` and
//! `Cache-Control: no-store`.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    reason = "integration tests and their helpers: a broken expectation must fail loudly"
)]

use crate::common;

use common::{CLIENT_CREDENTIALS, TestServer, expect_oauth_error, header_str};
use reqwest::{StatusCode, header};

// === client authentication ===

#[tokio::test]
async fn secret_in_the_body_for_a_basic_client_is_invalid_client() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server.token_post(&client.id, client.secret(), &[]).await;
    assert!(
        resp.headers().get(header::WWW_AUTHENTICATE).is_none(),
        "no Basic challenge when Basic was not used"
    );
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn basic_credentials_for_a_post_client_are_invalid_client_with_a_basic_challenge() {
    let server = TestServer::start().await;
    server
        .create_api("orders", common::ORDERS, &["orders:read"])
        .await;
    let client = server.create_client("poster", "client_secret_post").await;
    server.grant(&client.id, "orders", &["orders:read"]).await;
    let resp = server.token_basic(&client.id, client.secret(), &[]).await;
    let challenge = header_str(&resp, header::WWW_AUTHENTICATE)
        .unwrap_or_default()
        .to_owned();
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    assert!(
        challenge.starts_with("Basic"),
        "WWW-Authenticate: {challenge:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn wrong_secret_over_basic_is_invalid_client_with_a_basic_challenge() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .token_basic(&client.id, "gatehouse_cs_not-the-secret", &[])
        .await;
    let challenge = header_str(&resp, header::WWW_AUTHENTICATE)
        .unwrap_or_default()
        .to_owned();
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    assert!(
        challenge.starts_with("Basic"),
        "WWW-Authenticate: {challenge:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn wrong_secret_in_the_body_is_invalid_client_without_a_challenge() {
    let server = TestServer::start().await;
    server
        .create_api("orders", common::ORDERS, &["orders:read"])
        .await;
    let client = server.create_client("poster", "client_secret_post").await;
    let resp = server
        .token_post(&client.id, "gatehouse_cs_not-the-secret", &[])
        .await;
    assert!(resp.headers().get(header::WWW_AUTHENTICATE).is_none());
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn unknown_client_is_invalid_client() {
    let server = TestServer::start().await;
    server.orders_with_client().await;
    let resp = server
        .token_basic("app_doesnotexist", "gatehouse_cs_whatever", &[])
        .await;
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn request_without_credentials_is_invalid_client() {
    let server = TestServer::start().await;
    server.orders_with_client().await;
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .form(&[CLIENT_CREDENTIALS])
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn client_id_without_a_secret_is_invalid_client() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .form(&[CLIENT_CREDENTIALS, ("client_id", client.id.as_str())])
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn two_authentication_methods_at_once_are_invalid_request() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[
            CLIENT_CREDENTIALS,
            ("client_id", client.id.as_str()),
            ("client_secret", client.secret()),
        ])
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    server.stop().await;
}

#[tokio::test]
async fn client_id_field_naming_another_client_than_basic_is_invalid_client() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let other = server.create_client("other", "client_secret_basic").await;
    let resp = server
        .token_basic(
            &client.id,
            client.secret(),
            &[("client_id", other.id.as_str())],
        )
        .await;
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

#[tokio::test]
async fn bearer_authorization_header_is_invalid_client() {
    let server = TestServer::start().await;
    server.orders_with_client().await;
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .bearer_auth("something")
        .form(&[CLIENT_CREDENTIALS])
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    server.stop().await;
}

// === malformed requests ===

#[tokio::test]
async fn unsupported_grant_type_is_rejected() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[
            ("grant_type", "password"),
            ("username", "u"),
            ("password", "p"),
        ])
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "unsupported_grant_type").await;
    server.stop().await;
}

#[tokio::test]
async fn missing_grant_type_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("resource", common::ORDERS)])
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    server.stop().await;
}

#[tokio::test]
async fn repeated_scope_parameter_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .token(
            &client,
            &[("scope", "orders:read"), ("scope", "orders:read")],
        )
        .await;
    let body = expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("scope")),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn repeated_grant_type_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server.token(&client, &[CLIENT_CREDENTIALS]).await;
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    server.stop().await;
}

#[tokio::test]
async fn json_body_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    server.stop().await;
}

#[tokio::test]
async fn missing_content_type_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    server.stop().await;
}

#[tokio::test]
async fn body_over_64_kib_is_invalid_request_in_json_not_a_413() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let body = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(64 * 1024)
    );
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    server.stop().await;
}

#[tokio::test]
async fn body_just_under_64_kib_is_accepted() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let prefix = "grant_type=client_credentials&pad=";
    let body = format!("{prefix}{}", "a".repeat(64 * 1024 - prefix.len()));
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn non_utf8_percent_encoded_body_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=%FF%FE")
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    server.stop().await;
}

#[tokio::test]
async fn malformed_percent_encoding_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let resp = server
        .http
        .post(server.at("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=%zz")
        .send()
        .await
        .unwrap();
    expect_oauth_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    server.stop().await;
}

#[tokio::test]
async fn get_on_the_token_endpoint_answers_405_in_json() {
    let server = TestServer::start().await;
    let resp = server
        .http
        .get(server.at("/oauth2/token"))
        .send()
        .await
        .unwrap();
    let allow = header_str(&resp, header::ALLOW)
        .unwrap_or_default()
        .to_owned();
    expect_oauth_error(resp, StatusCode::METHOD_NOT_ALLOWED, "invalid_request").await;
    assert!(
        allow.contains("POST"),
        "405 must name the allowed methods (RFC 9110 §15.5.6): {allow:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn every_error_response_is_json_with_an_error_code_and_no_store() {
    let server = TestServer::start().await;
    let client = server.orders_with_client().await;
    let url = server.at("/oauth2/token");
    let basic = |r: reqwest::RequestBuilder| r.basic_auth(&client.id, client.secret.as_deref());
    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            "unsupported grant",
            basic(server.http.post(&url)).form(&[("grant_type", "implicit")]),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "no grant_type",
            basic(server.http.post(&url)).form(&[("scope", "x")]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "bad secret",
            server
                .http
                .post(&url)
                .basic_auth(&client.id, Some("nope"))
                .form(&[CLIENT_CREDENTIALS]),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "no credentials",
            server.http.post(&url).form(&[CLIENT_CREDENTIALS]),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "bad target",
            basic(server.http.post(&url))
                .form(&[CLIENT_CREDENTIALS, ("resource", "https://x.example")]),
            StatusCode::BAD_REQUEST,
            "invalid_target",
        ),
        (
            "bad scope",
            basic(server.http.post(&url)).form(&[CLIENT_CREDENTIALS, ("scope", "orders:write")]),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            "text body",
            basic(server.http.post(&url))
                .header(header::CONTENT_TYPE, "text/plain")
                .body("grant_type=client_credentials"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (name, req, status, code) in cases {
        let resp = req.send().await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let body = expect_oauth_error(resp, status, code).await;
        let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
        assert!(
            keys.iter()
                .all(|k| *k == "error" || *k == "error_description"),
            "{name}: unexpected members {keys:?}"
        );
    }
    server.stop().await;
}

// === lockout ===

#[tokio::test]
async fn repeated_failures_lock_the_client_out_with_429_until_the_lockout_ends() {
    let config = "[client_auth]\nlockout_max_failures = 3\nlockout_window = \"5m\"\nlockout_duration = \"5m\"\n";
    let server = TestServer::start_with_config(config).await;
    let client = server.orders_with_client().await;
    for _ in 0..3 {
        let resp = server
            .token_basic(&client.id, "gatehouse_cs_wrong", &[])
            .await;
        expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }

    let resp = server.token_basic(&client.id, client.secret(), &[]).await;
    let retry_after: u64 = header_str(&resp, header::RETRY_AFTER)
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    expect_oauth_error(
        resp,
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
    )
    .await;
    assert!(
        (1..=300).contains(&retry_after),
        "Retry-After: {retry_after}"
    );

    server.advance(299);
    let resp = server.token_basic(&client.id, client.secret(), &[]).await;
    expect_oauth_error(
        resp,
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
    )
    .await;

    server.advance(2);
    let resp = server.token_basic(&client.id, client.secret(), &[]).await;
    assert_eq!(resp.status(), StatusCode::OK, "the lockout ended");
    server.stop().await;
}

#[tokio::test]
async fn failures_below_the_threshold_do_not_lock_out() {
    let config = "[client_auth]\nlockout_max_failures = 3\n";
    let server = TestServer::start_with_config(config).await;
    let client = server.orders_with_client().await;
    for _ in 0..2 {
        let resp = server
            .token_basic(&client.id, "gatehouse_cs_wrong", &[])
            .await;
        expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
    assert_eq!(
        server
            .token_basic(&client.id, client.secret(), &[])
            .await
            .status(),
        StatusCode::OK
    );
    server.stop().await;
}

/// An HTTP client whose connections come from `ip` (any 127.0.0.0/8 address reaches loopback).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .expect("http client")
}

#[tokio::test]
async fn locked_out_client_stays_locked_from_another_address() {
    let config = "[client_auth]\nlockout_max_failures = 3\n";
    let server = TestServer::start_with_config(config).await;
    let client = server.orders_with_client().await;
    for _ in 0..3 {
        let resp = server
            .token_basic(&client.id, "gatehouse_cs_wrong", &[])
            .await;
        expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
    let elsewhere = client_from([127, 0, 0, 2]);
    let resp = elsewhere
        .post(server.at("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[CLIENT_CREDENTIALS])
        .send()
        .await
        .unwrap();
    expect_oauth_error(
        resp,
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn failures_with_unknown_client_ids_lock_out_the_source_address_only() {
    let config = "[client_auth]\nlockout_max_failures = 3\n";
    let server = TestServer::start_with_config(config).await;
    let client = server.orders_with_client().await;
    let prober = client_from([127, 0, 0, 3]);
    for i in 0..3 {
        let resp = prober
            .post(server.at("/oauth2/token"))
            .basic_auth(format!("app_guess{i}"), Some("gatehouse_cs_guess"))
            .form(&[CLIENT_CREDENTIALS])
            .send()
            .await
            .unwrap();
        expect_oauth_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
    let resp = prober
        .post(server.at("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[CLIENT_CREDENTIALS])
        .send()
        .await
        .unwrap();
    assert!(header_str(&resp, header::RETRY_AFTER).is_some());
    expect_oauth_error(
        resp,
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
    )
    .await;

    let resp = server.token_basic(&client.id, client.secret(), &[]).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "other addresses and the client itself are unaffected"
    );
    server.stop().await;
}
