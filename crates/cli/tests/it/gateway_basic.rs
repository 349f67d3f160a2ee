//! The gateway in front of a real upstream: bearer tokens, scopes, identity headers, errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code fails loudly"
)]

use crate::common;

use common::{ORDERS, TestClient, TestServer};
use gatehouse_testkit::echo::Echo;
use reqwest::Method;
use serde_json::{Value, json};

/// A server whose gateway protects `orders` on the echo upstream; `extra` goes in the API table.
async fn start(echo: &Echo, extra: &str) -> TestServer {
    let toml = format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
[[gateway.apis]]
api = "orders"
upstreams = ["{}"]
scopes = ["orders:read"]
{extra}
[[gateway.apis.routes]]
operation = "list"
path = "/orders"
methods = ["GET"]
[[gateway.apis.routes]]
operation = "create"
path = "/orders"
methods = ["POST"]
scopes = ["orders:write"]
[[gateway.apis.routes]]
operation = "get"
path = "/orders/{{id}}"
methods = ["GET"]
"#,
        echo.url()
    );
    let s = TestServer::start_with_config(&toml).await;
    s.create_api("orders", ORDERS, &["orders:read", "orders:write"])
        .await;
    s
}

/// A client granted `scopes` on orders, and a token for it.
async fn client_token(s: &TestServer, scopes: &[&str]) -> (TestClient, String) {
    let c = s.create_client("billing", "client_secret_basic").await;
    s.grant(&c.id, "orders", scopes).await;
    let t = s.access_token(&c, &[("resource", ORDERS)]).await;
    (c, t)
}

#[tokio::test]
async fn valid_token_reaches_the_backend_with_verified_identity_only() {
    let echo = Echo::start().await;
    let s = start(&echo, "").await;
    let (c, token) = client_token(&s, &["orders:read"]).await;
    let r = s
        .http
        .get(s.gw("/orders/42?x=1"))
        .bearer_auth(&token)
        .header("x-gatehouse-client-id", "spoofed")
        .header("x-forwarded-for", "6.6.6.6")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["path"], "/orders/42");
    assert_eq!(seen["query"], "x=1");
    let h = &seen["headers"];
    assert_eq!(h["x-gatehouse-client-id"], c.id.as_str());
    assert_eq!(h["x-gatehouse-application"], "billing");
    assert_eq!(h["x-gatehouse-operation"], "get");
    assert_eq!(h["x-gatehouse-scopes"], "orders:read");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert!(
        h.get("authorization").is_none(),
        "the caller's token is not forwarded"
    );
    s.stop().await;
}

#[tokio::test]
async fn missing_token_gets_a_bare_bearer_challenge() {
    let echo = Echo::start().await;
    let s = start(&echo, "").await;
    let r = s.http.get(s.gw("/orders")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer realm=\"gatehouse\""
    );
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn invalid_or_foreign_audience_token_is_invalid_token() {
    let echo = Echo::start().await;
    let s = start(&echo, "").await;
    for bad in ["garbage", "eyJhbGciOiJub25lIn0.e30."] {
        let r = s
            .http
            .get(s.gw("/orders"))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{bad}");
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_token\"")
        );
    }
    // A token for another API is refused here.
    s.create_api("billing", "https://billing.example", &[])
        .await;
    let c = s.create_client("x", "client_secret_basic").await;
    s.grant(&c.id, "billing", &[]).await;
    let t = s.access_token(&c, &[]).await;
    let r = s
        .http
        .get(s.gw("/orders"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn missing_operation_scope_is_403_insufficient_scope() {
    let echo = Echo::start().await;
    let s = start(&echo, "").await;
    let (_, token) = client_token(&s, &["orders:read"]).await;
    let r = s
        .http
        .post(s.gw("/orders"))
        .bearer_auth(&token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"orders:read orders:write\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn revoked_token_and_revoked_grant_stop_working_at_once() {
    let echo = Echo::start().await;
    let s = start(&echo, "").await;
    let (c, token) = client_token(&s, &["orders:read"]).await;
    let get = || s.http.get(s.gw("/orders")).bearer_auth(&token).send();
    assert_eq!(get().await.unwrap().status(), 200);
    let r = s
        .admin(Method::DELETE, &format!("/admin/v1/grants/{}/orders", c.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        get().await.unwrap().status(),
        403,
        "no approved subscription any more"
    );
    let (status, _) = s
        .admin_json(
            Method::POST,
            &format!("/admin/v1/clients/{}/revoke-tokens", c.id),
            Some(json!({})),
        )
        .await;
    assert!(status.is_success());
    assert_eq!(
        get().await.unwrap().status(),
        401,
        "revoked by the client cut-off"
    );
}

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_405() {
    let echo = Echo::start().await;
    let s = start(&echo, "").await;
    assert_eq!(
        s.http.get(s.gw("/nope")).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        s.http
            .delete(s.gw("/orders/1"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let echo = Echo::start().await;
    let s = start(&echo, "rate_limit = { per_second = 1, burst = 2 }").await;
    let (_, token) = client_token(&s, &["orders:read"]).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = s
            .http
            .get(s.gw("/orders"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            assert_eq!(r.headers()["ratelimit-limit"], "2");
        }
    }
    assert_eq!(&statuses[..2], &[200, 200]);
    assert!(statuses[2..].contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn oversized_body_is_413_and_dead_upstream_is_502() {
    let echo = Echo::start().await;
    let s = start(&echo, "max_body_bytes = 16").await;
    let (_, token) = client_token(&s, &["orders:read", "orders:write"]).await;
    let r = s
        .http
        .post(s.gw("/orders"))
        .bearer_auth(&token)
        .body(vec![b'x'; 64])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    drop(echo);
    tokio::task::yield_now().await;
    let r = s
        .http
        .get(s.gw("/orders"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
}

#[tokio::test]
async fn metrics_count_forwarded_and_refused_requests_with_bounded_labels() {
    let echo = Echo::start().await;
    let s = start(&echo, "").await;
    let (_, token) = client_token(&s, &["orders:read"]).await;
    assert_eq!(
        s.http
            .get(s.gw("/orders/1"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        s.http.get(s.gw("/orders/1")).send().await.unwrap().status(),
        401
    );
    let text = s
        .http
        .get(s.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"gatehouse_gateway_requests_total{api="orders",operation="get",class="2xx"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"gatehouse_gateway_rejections_total{reason="missing_credentials"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("gatehouse_gateway_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn daily_quota_refuses_until_utc_midnight() {
    let echo = Echo::start().await;
    let s = start(&echo, "rate_limit = { per_day = 2 }").await;
    let (c, token) = client_token(&s, &["orders:read"]).await;
    let get = |token: String| s.http.get(s.gw("/orders")).bearer_auth(token).send();
    assert_eq!(get(token.clone()).await.unwrap().status(), 200);
    assert_eq!(get(token.clone()).await.unwrap().status(), 200);
    let r = get(token.clone()).await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let midnight = (s.now().div_euclid(86_400) + 1) * 86_400;
    assert_eq!(retry, midnight - s.now());
    assert_eq!(r.headers()["ratelimit-limit"], "2");
    s.advance(retry);
    let fresh = s.access_token(&c, &[("resource", ORDERS)]).await;
    assert_eq!(
        get(fresh).await.unwrap().status(),
        200,
        "a new UTC day, a new quota"
    );
}

/// Regression (found by running the README's gateway example against `python3 -m http.server`):
/// an HTTP/1.0 backend's answer reached the client as HTTP/1.0.
#[tokio::test]
async fn http_1_0_backend_answers_the_client_in_its_own_version() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf).await;
            let _ = conn
                .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .await;
        }
    });
    let toml = format!(
        "[gateway]\nlisten = \"127.0.0.1:0\"\n[[gateway.apis]]\napi = \"orders\"\nupstreams = [\"http://{backend}\"]\n[[gateway.apis.routes]]\noperation = \"any\"\npath = \"/*\"\n"
    );
    let s = TestServer::start_with_config(&toml).await;
    let c = s.orders_with_client().await;
    let token = s.access_token(&c, &[("resource", ORDERS)]).await;
    let r = s
        .http
        .get(s.gw("/x"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    assert_eq!(r.text().await.unwrap(), "ok");
}
