//! The gateway, continued: timeouts, round-robin, pass-through statuses, hop-by-hop headers,
//! key rotation and revocation, host-bound routes, streamed bodies, the token cache and config
//! errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use std::sync::Arc;

use base64::Engine as _;
use gatehouse::config::{Flags, parse_str, resolve_with};
use gatehouse_core::{Clock, FakeClock, MapEnv, UnixTime};
use gatehouse_testkit::echo::Echo;
use gatehouse_testkit::temp_dir;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

struct Env {
    http: reqwest::Client,
    url: String,
    gateway: String,
    admin: String,
    clock: Arc<FakeClock>,
    server: gatehouse::server::RunningServer,
    _dir: gatehouse_testkit::TempDir,
}

/// The `orders` API in front of `upstreams`, with `extra` API keys and `routes` (TOML).
fn orders_api(upstreams: &[String], extra: &str, routes: &str) -> String {
    let list: Vec<String> = upstreams.iter().map(|u| format!("{u:?}")).collect();
    format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
[[gateway.apis]]
api = "orders"
upstreams = [{}]
scopes = ["orders:read"]
{extra}
{routes}
"#,
        list.join(", ")
    )
}

/// A catch-all route: every path goes to the upstream unchanged.
const ANY_PATH: &str = r#"
[[gateway.apis.routes]]
operation = "any"
path = "/*"
"#;

async fn start(toml: &str) -> Env {
    let dir = temp_dir();
    let flags = Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        ..Flags::default()
    };
    let cfg = resolve_with(&flags, &MapEnv::default(), parse_str(toml).unwrap()).unwrap();
    let clock = Arc::new(FakeClock::new(UnixTime(1_800_000_000)));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let server = gatehouse::server::start(&cfg, dyn_clock).await.unwrap();
    let admin = std::fs::read_to_string(&server.admin_token_file)
        .unwrap()
        .trim()
        .to_owned();
    let env = Env {
        http: reqwest::Client::new(),
        url: format!("http://{}", server.addr),
        gateway: format!("http://{}", server.gateway_addr.unwrap()),
        admin,
        clock,
        server,
        _dir: dir,
    };
    env.admin_post(
        "/admin/v1/apis",
        json!({"name": "orders", "audience": "https://orders.example", "scopes": ["orders:read", "orders:write"]}),
    )
    .await;
    env
}

impl Env {
    async fn admin_post(&self, path: &str, body: Value) -> reqwest::Response {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r
    }

    /// Registers a client granted `orders:read`; returns (client id, secret).
    async fn client(&self) -> (String, String) {
        let c: Value = self
            .admin_post("/admin/v1/clients", json!({"name": "billing"}))
            .await
            .json()
            .await
            .unwrap();
        let (id, secret) = (
            c["client_id"].as_str().unwrap().to_owned(),
            c["client_secret"].as_str().unwrap().to_owned(),
        );
        let r = self
            .http
            .put(format!("{}/admin/v1/grants", self.url))
            .bearer_auth(&self.admin)
            .json(&json!({"client_id": id, "api": "orders", "scopes": ["orders:read"]}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        (id, secret)
    }

    /// A fresh access token for the client.
    async fn token(&self, (id, secret): &(String, String)) -> String {
        let r = self
            .http
            .post(format!("{}/oauth2/token", self.url))
            .basic_auth(id, Some(secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", "https://orders.example"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let t: Value = r.json().await.unwrap();
        t["access_token"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.gateway))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

/// The `kid` in a JWT's protected header.
fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let h: Value = serde_json::from_slice(&bytes).unwrap();
    h["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn slow_upstream_past_the_api_timeout_is_504_problem() {
    let echo = Echo::start().await;
    let routes = r#"
[[gateway.apis.routes]]
operation = "slow"
path = "/slow"
"#;
    let env = start(&orders_api(&[echo.url()], r#"timeout = "200ms""#, routes)).await;
    let token = env.token(&env.client().await).await;
    let r = env.get("/slow?ms=2000", &token).await;
    assert_eq!(r.status(), 504);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["status"], 504);
    // Under the timeout it still answers.
    assert_eq!(env.get("/slow?ms=10", &token).await.status(), 200);
    env.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn several_upstreams_are_used_round_robin() {
    let (a, b) = (Echo::start().await, Echo::start().await);
    let env = start(&orders_api(&[a.url(), b.url()], "", ANY_PATH)).await;
    let token = env.token(&env.client().await).await;
    let mut hosts = Vec::new();
    for _ in 0..6 {
        let r = env.get("/orders", &token).await;
        assert_eq!(r.status(), 200);
        let seen: Value = r.json().await.unwrap();
        hosts.push(seen["headers"]["host"].as_str().unwrap().to_owned());
    }
    let (ha, hb) = (a.addr.to_string(), b.addr.to_string());
    let first = hosts[0].clone();
    let other = if first == ha { &hb } else { &ha };
    assert!(first == ha || first == hb, "{hosts:?}");
    for (i, h) in hosts.iter().enumerate() {
        let want = if i % 2 == 0 { &first } else { other };
        assert_eq!(h, want, "request {i} in {hosts:?}");
    }
    env.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn upstream_error_status_passes_through_with_the_upstream_body() {
    let echo = Echo::start().await;
    let routes = r#"
[[gateway.apis.routes]]
operation = "status"
path = "/status/*"
"#;
    let env = start(&orders_api(&[echo.url()], "", routes)).await;
    let token = env.token(&env.client().await).await;
    for code in [503_u16, 500, 404, 418] {
        let r = env.get(&format!("/status/{code}"), &token).await;
        assert_eq!(r.status(), code);
        assert_eq!(r.headers()["content-type"], "application/json");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["path"], format!("/status/{code}"), "the echo's JSON");
        assert!(body.get("type").is_none(), "not a problem document");
    }
    env.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn request_hop_by_hop_headers_and_those_named_by_connection_are_not_forwarded() {
    let echo = Echo::start().await;
    let env = start(&orders_api(&[echo.url()], "", ANY_PATH)).await;
    let token = env.token(&env.client().await).await;
    let r = env
        .http
        .get(format!("{}/orders", env.gateway))
        .bearer_auth(&token)
        .header("connection", "x-custom")
        .header("x-custom", "1")
        .header("te", "trailers")
        .header("keep-alive", "timeout=5")
        .header("proxy-authorization", "Basic Zm9vOmJhcg==")
        .header("x-end-to-end", "kept")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    let h = seen["headers"].as_object().unwrap();
    for gone in ["x-custom", "te", "keep-alive", "proxy-authorization"] {
        assert!(!h.contains_key(gone), "{gone} forwarded: {h:?}");
    }
    assert_ne!(
        h.get("connection").and_then(Value::as_str),
        Some("x-custom")
    );
    assert_eq!(h["x-end-to-end"], "kept");
    env.server.shutdown().await.unwrap();
}

/// An upstream whose every response carries hop-by-hop headers.
async fn hop_by_hop_upstream() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(|| async {
        (
            [
                ("connection", "x-upstream-secret"),
                ("x-upstream-secret", "1"),
                ("keep-alive", "timeout=5"),
                ("proxy-authenticate", "Basic"),
                ("x-end-to-end", "kept"),
            ],
            "ok",
        )
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

#[tokio::test]
async fn response_hop_by_hop_headers_are_stripped() {
    let (upstream, task) = hop_by_hop_upstream().await;
    let env = start(&orders_api(&[upstream], "", ANY_PATH)).await;
    let token = env.token(&env.client().await).await;
    let r = env.get("/orders", &token).await;
    assert_eq!(r.status(), 200);
    let h = r.headers();
    for gone in ["x-upstream-secret", "keep-alive", "proxy-authenticate"] {
        assert!(!h.contains_key(gone), "{gone} passed back: {h:?}");
    }
    assert_ne!(
        h.get("connection").map(|v| v.to_str().unwrap()),
        Some("x-upstream-secret")
    );
    assert_eq!(h["x-end-to-end"], "kept");
    assert_eq!(r.text().await.unwrap(), "ok");
    env.server.shutdown().await.unwrap();
    task.abort();
}

#[tokio::test]
async fn key_rotation_mid_traffic_fails_no_request_and_new_tokens_pass() {
    let echo = Echo::start().await;
    let env = Arc::new(start(&orders_api(&[echo.url()], "", ANY_PATH)).await);
    let client = env.client().await;
    let old = env.token(&client).await;
    let mut rotation = None;
    let mut token = old.clone();
    for i in 0..200 {
        if i == 100 {
            let env = Arc::clone(&env);
            rotation = Some(tokio::spawn(async move {
                env.admin_post("/admin/v1/keys/rotate", json!({})).await;
            }));
        }
        if i % 20 == 10 {
            token = env.token(&client).await;
        }
        let r = env.get("/orders", &token).await;
        assert_eq!(r.status(), 200, "request {i}");
        let r = env.get("/orders", &old).await;
        assert_eq!(r.status(), 200, "request {i} with the pre-rotation token");
    }
    rotation.unwrap().await.unwrap();
    let new = env.token(&client).await;
    assert_ne!(kid_of(&new), kid_of(&old), "signed by the new key");
    assert_eq!(env.get("/orders", &new).await.status(), 200);
    assert_eq!(env.get("/orders", &old).await.status(), 200);
}

#[tokio::test]
async fn revoking_the_signing_key_rejects_its_tokens_at_the_gateway() {
    let echo = Echo::start().await;
    let env = start(&orders_api(&[echo.url()], "", ANY_PATH)).await;
    let client = env.client().await;
    let old = env.token(&client).await;
    // Verified once, so the signature check is cached.
    assert_eq!(env.get("/orders", &old).await.status(), 200);
    let kid = kid_of(&old);
    env.admin_post(&format!("/admin/v1/keys/{kid}/revoke"), json!({}))
        .await;
    let r = env.get("/orders", &old).await;
    assert_eq!(r.status(), 401, "token signed by a revoked key");
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    let new = env.token(&client).await;
    assert_ne!(kid_of(&new), kid);
    assert_eq!(env.get("/orders", &new).await.status(), 200);
    env.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn host_bound_route_matches_only_its_host() {
    let echo = Echo::start().await;
    let routes = r#"
[[gateway.apis.routes]]
operation = "a-only"
host = "a.example"
path = "/x"
"#;
    let env = start(&orders_api(&[echo.url()], "", routes)).await;
    let token = env.token(&env.client().await).await;
    let with_host = |host: &'static str| {
        env.http
            .get(format!("{}/x", env.gateway))
            .bearer_auth(&token)
            .header("host", host)
            .send()
    };
    let r = with_host("a.example").await.unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-gatehouse-operation"], "a-only");
    assert_eq!(seen["headers"]["x-forwarded-host"], "a.example");
    assert_eq!(with_host("A.Example:8080").await.unwrap().status(), 200);
    for other in ["b.example", "a.example.evil", "xa.example"] {
        assert_eq!(with_host(other).await.unwrap().status(), 404, "{other}");
    }
    // Without a Host header override, reqwest sends 127.0.0.1:PORT.
    assert_eq!(env.get("/x", &token).await.status(), 404);
    env.server.shutdown().await.unwrap();
}

/// Sends a chunked POST of `size` bytes over a raw connection; returns the response text.
async fn chunked_post(gateway: &str, path: &str, token: &str, size: usize) -> String {
    let addr = gateway.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut left = size;
    // The gateway may answer 413 and close before the whole body is sent: a failed write
    // ends the upload, and the answer is still there to read.
    let mut sent = true;
    while left > 0 && sent {
        let n = left.min(chunk.len());
        sent = s.write_all(format!("{n:x}\r\n").as_bytes()).await.is_ok()
            && s.write_all(&chunk[..n]).await.is_ok()
            && s.write_all(b"\r\n").await.is_ok();
        left -= n;
    }
    if sent {
        let _ = s.write_all(b"0\r\n\r\n").await;
    }
    let mut out = Vec::new();
    // A reset after the answer arrived still leaves the answer in `out`.
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn chunked_request_body_under_the_limit_reaches_the_backend_whole() {
    let echo = Echo::start().await;
    let env = start(&orders_api(
        &[echo.url()],
        "max_body_bytes = 1048576",
        ANY_PATH,
    ))
    .await;
    let token = env.token(&env.client().await).await;
    let resp = chunked_post(&env.gateway, "/orders", &token, 512 * 1024).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"body_len\":524288"), "{resp}");
    assert!(resp.contains("\"method\":\"POST\""), "{resp}");
    env.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn chunked_request_body_over_the_limit_is_413_not_an_upstream_fault() {
    let echo = Echo::start().await;
    let env = start(&orders_api(
        &[echo.url()],
        "max_body_bytes = 1024",
        ANY_PATH,
    ))
    .await;
    let token = env.token(&env.client().await).await;
    let resp = chunked_post(&env.gateway, "/orders", &token, 64 * 1024).await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    env.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn cached_token_is_rejected_once_the_clock_passes_its_exp() {
    let echo = Echo::start().await;
    let env = start(&orders_api(&[echo.url()], "", ANY_PATH)).await;
    let token = env.token(&env.client().await).await;
    assert_eq!(env.get("/orders", &token).await.status(), 200);
    assert_eq!(env.get("/orders", &token).await.status(), 200);
    assert!(env.server.state.now().0 < 1_800_000_000 + 900);
    // The default lifetime is 15 minutes.
    env.clock.advance(15 * 60 + 1);
    for attempt in 0..2 {
        let r = env.get("/orders", &token).await;
        assert_eq!(r.status(), 401, "attempt {attempt} after exp");
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_token\"")
        );
    }
    env.server.shutdown().await.unwrap();
}

fn config_error(gateway_toml: &str) -> String {
    let flags = Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(std::env::temp_dir()),
        ..Flags::default()
    };
    resolve_with(&flags, &MapEnv::default(), parse_str(gateway_toml).unwrap())
        .unwrap_err()
        .to_string()
}

#[test]
fn config_error_names_a_route_path_without_leading_slash() {
    let e = config_error(&orders_api(
        &["http://127.0.0.1:1".into()],
        "",
        "[[gateway.apis.routes]]\noperation = \"x\"\npath = \"orders\"\n",
    ));
    assert!(e.starts_with("gateway.apis[0].routes[0].path:"), "{e}");
}

#[test]
fn config_error_names_an_upstream_with_an_unsupported_scheme() {
    let e = config_error(&orders_api(&["ftp://orders.internal".into()], "", ANY_PATH));
    assert!(e.starts_with("gateway.apis[0].upstreams[0]:"), "{e}");
}

#[test]
fn orders_api_helper_yields_a_valid_config() {
    let toml = orders_api(&["http://127.0.0.1:1".into()], "", ANY_PATH);
    let flags = Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(std::env::temp_dir()),
        ..Flags::default()
    };
    let cfg = resolve_with(&flags, &MapEnv::default(), parse_str(&toml).unwrap()).unwrap();
    let gw = cfg.gateway.unwrap();
    assert_eq!(gw.apis.len(), 1);
}
