//! API keys at the gateway: found by digest, tied to the application's subscription, never
//! forwarded to the backend.
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
use gatehouse_testkit::{TempDir, temp_dir};
use serde_json::{Value, json};

struct Env {
    http: reqwest::Client,
    url: String,
    gateway: String,
    admin: String,
    clock: Arc<FakeClock>,
    _echo: Echo,
    _server: gatehouse::server::RunningServer,
    _dir: TempDir,
}

async fn start() -> Env {
    let echo = Echo::start().await;
    let dir = temp_dir();
    let toml = format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
[[gateway.apis]]
api = "orders"
upstreams = ["{}"]
accept = ["bearer", "api_key"]
api_key_query = "api_key"
scopes = ["orders:read"]
[[gateway.apis.routes]]
operation = "list"
path = "/orders"
methods = ["GET"]
[[gateway.apis.routes]]
operation = "create"
path = "/orders"
methods = ["POST"]
scopes = ["orders:write"]
"#,
        echo.url()
    );
    let flags = Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        ..Flags::default()
    };
    let cfg = resolve_with(&flags, &MapEnv::default(), parse_str(&toml).unwrap()).unwrap();
    let clock = Arc::new(FakeClock::new(UnixTime(1_800_000_000)));
    let server = gatehouse::server::start(&cfg, clock.clone() as Arc<dyn Clock>)
        .await
        .unwrap();
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
        _echo: echo,
        _server: server,
        _dir: dir,
    };
    env.post(
        "/admin/v1/apis",
        json!({"name": "orders", "audience": "https://orders.example", "scopes": ["orders:read", "orders:write"]}),
    )
    .await;
    env
}

impl Env {
    async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    async fn grant(&self, id: &str, scopes: &[&str]) {
        let r = self
            .http
            .put(format!("{}/admin/v1/grants", self.url))
            .bearer_auth(&self.admin)
            .json(&json!({"client_id": id, "api": "orders", "scopes": scopes}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// A client with a key; returns (client id, key id, key).
    async fn client_with_key(&self, body: Value) -> (String, String, String) {
        let c = self.post("/admin/v1/clients", json!({"name": "svc"})).await;
        let id = c["client_id"].as_str().unwrap().to_owned();
        let k = self
            .post(&format!("/admin/v1/clients/{id}/api-keys"), body)
            .await;
        (
            id,
            k["id"].as_str().unwrap().to_owned(),
            k["api_key"].as_str().unwrap().to_owned(),
        )
    }

    async fn get_with_key(&self, key: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/orders", self.gateway))
            .header("x-api-key", key)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn api_key_of_a_subscribed_application_reaches_the_backend_without_the_key() {
    let env = start().await;
    let (id, _, key) = env.client_with_key(json!({})).await;
    env.grant(&id, &["orders:read"]).await;
    let r = env.get_with_key(&key).await;
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-gatehouse-client-id"], id.as_str());
    assert_eq!(seen["headers"]["x-gatehouse-scopes"], "orders:read");
    assert!(
        seen["headers"].get("x-api-key").is_none(),
        "the key never reaches the backend"
    );

    // In the query string when enabled, and removed from what the backend sees.
    let r = env
        .http
        .get(format!("{}/orders?api_key={key}&page=2", env.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["query"], "page=2");
}

#[tokio::test]
async fn api_key_holds_only_the_subscription_scopes() {
    let env = start().await;
    let (id, _, key) = env.client_with_key(json!({})).await;
    env.grant(&id, &["orders:read"]).await;
    let r = env
        .http
        .post(format!("{}/orders", env.gateway))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "orders:write is not granted");
}

#[tokio::test]
async fn api_key_without_subscription_is_forbidden() {
    let env = start().await;
    let (_, _, key) = env.client_with_key(json!({})).await;
    assert_eq!(env.get_with_key(&key).await.status(), 403);
}

#[tokio::test]
async fn unknown_revoked_and_expired_keys_are_401_with_challenges() {
    let env = start().await;
    let r = env.get_with_key("gatehouse_ak_nope").await;
    assert_eq!(r.status(), 401);
    let challenges: Vec<_> = r
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Bearer")),
        "{challenges:?}"
    );
    assert!(
        challenges.iter().any(|c| c.starts_with("ApiKey")),
        "{challenges:?}"
    );

    let (id, _, key) = env.client_with_key(json!({"expires_in": "1h"})).await;
    env.grant(&id, &["orders:read"]).await;
    assert_eq!(env.get_with_key(&key).await.status(), 200);
    env.clock.advance(3600);
    assert_eq!(env.get_with_key(&key).await.status(), 401, "expired");

    let (id, key_id2, key2) = env.client_with_key(json!({})).await;
    env.grant(&id, &["orders:read"]).await;
    assert_eq!(env.get_with_key(&key2).await.status(), 200);
    env.post(
        &format!("/admin/v1/clients/{id}/api-keys/{key_id2}/revoke"),
        json!({}),
    )
    .await;
    assert_eq!(
        env.get_with_key(&key2).await.status(),
        401,
        "revoked at once"
    );
}

#[tokio::test]
async fn missing_credentials_name_both_accepted_schemes() {
    let env = start().await;
    let r = env
        .http
        .get(format!("{}/orders", env.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let challenges: Vec<_> = r
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        challenges,
        ["Bearer realm=\"gatehouse\"", "ApiKey realm=\"gatehouse\""]
    );
}
