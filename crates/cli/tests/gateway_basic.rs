//! The gateway in front of a real upstream: bearer tokens, scopes, identity headers, errors.
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

struct Env {
    http: reqwest::Client,
    url: String,
    gateway: String,
    admin: String,
    _echo: Echo,
    server: gatehouse::server::RunningServer,
    _dir: gatehouse_testkit::TempDir,
}

async fn start(extra: &str) -> Env {
    let echo = Echo::start().await;
    let dir = temp_dir();
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
    let flags = Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        ..Flags::default()
    };
    let cfg = resolve_with(&flags, &MapEnv::default(), parse_str(&toml).unwrap()).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FakeClock::new(UnixTime(1_800_000_000)));
    let server = gatehouse::server::start(&cfg, clock).await.unwrap();
    let admin = std::fs::read_to_string(&server.admin_token_file)
        .unwrap()
        .trim()
        .to_owned();
    Env {
        http: reqwest::Client::new(),
        url: format!("http://{}", server.addr),
        gateway: format!("http://{}", server.gateway_addr.unwrap()),
        admin,
        _echo: echo,
        server,
        _dir: dir,
    }
}

impl Env {
    async fn admin_post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// Registers orders, a client granted `scopes`, and returns a token for it.
    async fn client_token(&self, scopes: &[&str]) -> (String, String) {
        let c = self
            .admin_post("/admin/v1/clients", json!({"name": "billing"}))
            .await;
        let (id, secret) = (
            c["client_id"].as_str().unwrap().to_owned(),
            c["client_secret"].as_str().unwrap().to_owned(),
        );
        let r = self
            .http
            .put(format!("{}/admin/v1/grants", self.url))
            .bearer_auth(&self.admin)
            .json(&json!({"client_id": id, "api": "orders", "scopes": scopes}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let t: Value = self
            .http
            .post(format!("{}/oauth2/token", self.url))
            .basic_auth(&id, Some(&secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", "https://orders.example"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (id, t["access_token"].as_str().unwrap().to_owned())
    }

    async fn register_orders(&self) {
        self.admin_post(
            "/admin/v1/apis",
            json!({"name": "orders", "audience": "https://orders.example", "scopes": ["orders:read", "orders:write"]}),
        )
        .await;
    }
}

#[tokio::test]
async fn valid_token_reaches_the_backend_with_verified_identity_only() {
    let env = start("").await;
    env.register_orders().await;
    let (id, token) = env.client_token(&["orders:read"]).await;
    let r = env
        .http
        .get(format!("{}/orders/42?x=1", env.gateway))
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
    assert_eq!(h["x-gatehouse-client-id"], id.as_str());
    assert_eq!(h["x-gatehouse-application"], "billing");
    assert_eq!(h["x-gatehouse-operation"], "get");
    assert_eq!(h["x-gatehouse-scopes"], "orders:read");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert!(
        h.get("authorization").is_none(),
        "the caller's token is not forwarded"
    );
    env.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn missing_token_gets_a_bare_bearer_challenge() {
    let env = start("").await;
    env.register_orders().await;
    let r = env
        .http
        .get(format!("{}/orders", env.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer realm=\"gatehouse\""
    );
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn invalid_or_foreign_audience_token_is_invalid_token() {
    let env = start("").await;
    env.register_orders().await;
    for bad in ["garbage", "eyJhbGciOiJub25lIn0.e30."] {
        let r = env
            .http
            .get(format!("{}/orders", env.gateway))
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
    env.admin_post(
        "/admin/v1/apis",
        json!({"name": "billing", "audience": "https://billing.example"}),
    )
    .await;
    let c = env
        .admin_post("/admin/v1/clients", json!({"name": "x"}))
        .await;
    let id = c["client_id"].as_str().unwrap();
    env.http
        .put(format!("{}/admin/v1/grants", env.url))
        .bearer_auth(&env.admin)
        .json(&json!({"client_id": id, "api": "billing"}))
        .send()
        .await
        .unwrap();
    let t: Value = env
        .http
        .post(format!("{}/oauth2/token", env.url))
        .basic_auth(id, Some(c["client_secret"].as_str().unwrap()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = env
        .http
        .get(format!("{}/orders", env.gateway))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn missing_operation_scope_is_403_insufficient_scope() {
    let env = start("").await;
    env.register_orders().await;
    let (_, token) = env.client_token(&["orders:read"]).await;
    let r = env
        .http
        .post(format!("{}/orders", env.gateway))
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
    let env = start("").await;
    env.register_orders().await;
    let (id, token) = env.client_token(&["orders:read"]).await;
    let get = || {
        env.http
            .get(format!("{}/orders", env.gateway))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(get().await.unwrap().status(), 200);
    let r = env
        .http
        .delete(format!("{}/admin/v1/grants/{id}/orders", env.url))
        .bearer_auth(&env.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        get().await.unwrap().status(),
        403,
        "no approved subscription any more"
    );
    env.admin_post(&format!("/admin/v1/clients/{id}/revoke-tokens"), json!({}))
        .await;
    assert_eq!(
        get().await.unwrap().status(),
        401,
        "revoked by the client cut-off"
    );
}

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_405() {
    let env = start("").await;
    env.register_orders().await;
    assert_eq!(
        env.http
            .get(format!("{}/nope", env.gateway))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        env.http
            .delete(format!("{}/orders/1", env.gateway))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let env = start("rate_limit = { per_second = 1, burst = 2 }").await;
    env.register_orders().await;
    let (_, token) = env.client_token(&["orders:read"]).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = env
            .http
            .get(format!("{}/orders", env.gateway))
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
    let env = start("max_body_bytes = 16").await;
    env.register_orders().await;
    let (_, token) = env.client_token(&["orders:read", "orders:write"]).await;
    let r = env
        .http
        .post(format!("{}/orders", env.gateway))
        .bearer_auth(&token)
        .body(vec![b'x'; 64])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    drop(env._echo);
    tokio::task::yield_now().await;
    let r = env
        .http
        .get(format!("{}/orders", env.gateway))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
}

#[tokio::test]
async fn metrics_count_forwarded_and_refused_requests_with_bounded_labels() {
    let env = start("").await;
    env.register_orders().await;
    let (_, token) = env.client_token(&["orders:read"]).await;
    assert_eq!(
        env.http
            .get(format!("{}/orders/1", env.gateway))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        env.http
            .get(format!("{}/orders/1", env.gateway))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let text = env
        .http
        .get(format!("{}/metrics", env.url))
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
