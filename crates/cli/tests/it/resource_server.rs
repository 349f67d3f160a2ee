//! RFC 7662: an API's registered resource server may introspect tokens issued for that API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use std::sync::Arc;

use gatehouse::config::{Flags, RawConfig, resolve_with};
use gatehouse_core::{Clock, FakeClock, MapEnv, UnixTime};
use gatehouse_testkit::temp_dir;
use serde_json::{Value, json};

struct Admin {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Admin {
    async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    async fn put(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .put(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

async fn introspect(
    http: &reqwest::Client,
    url: &str,
    id: &str,
    secret: &str,
    token: &str,
) -> Value {
    http.post(format!("{url}/oauth2/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn registered_resource_server_may_introspect_tokens_for_its_api_only() {
    let dir = temp_dir();
    let flags = Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        ..Flags::default()
    };
    let cfg = resolve_with(&flags, &MapEnv::default(), RawConfig::default()).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FakeClock::new(UnixTime(1_800_000_000)));
    let server = gatehouse::server::start(&cfg, clock).await.unwrap();
    let url = format!("http://{}", server.addr);
    let token = std::fs::read_to_string(&server.admin_token_file)
        .unwrap()
        .trim()
        .to_owned();
    let admin = Admin {
        http: reqwest::Client::new(),
        url: url.clone(),
        token,
    };

    let caller = admin
        .post("/admin/v1/clients", json!({"name": "caller"}))
        .await;
    let orders_svc = admin
        .post("/admin/v1/clients", json!({"name": "orders-service"}))
        .await;
    let other_svc = admin
        .post("/admin/v1/clients", json!({"name": "other-service"}))
        .await;
    let id = |v: &Value| v["client_id"].as_str().unwrap().to_owned();
    let secret = |v: &Value| v["client_secret"].as_str().unwrap().to_owned();
    admin
        .post(
            "/admin/v1/apis",
            json!({"name": "orders", "audience": "https://orders.example", "scopes": ["r"],
                   "resource_servers": [id(&orders_svc)]}),
        )
        .await;
    admin
        .post(
            "/admin/v1/apis",
            json!({"name": "other", "audience": "https://other.example"}),
        )
        .await;
    let g = admin
        .put(
            "/admin/v1/grants",
            json!({"client_id": id(&caller), "api": "orders", "scopes": ["r"]}),
        )
        .await;
    assert!(g.status().is_success());

    let t: Value = admin
        .http
        .post(format!("{url}/oauth2/token"))
        .basic_auth(id(&caller), Some(secret(&caller)))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = t["access_token"].as_str().unwrap();

    let seen = introspect(
        &admin.http,
        &url,
        &id(&orders_svc),
        &secret(&orders_svc),
        access,
    )
    .await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["client_id"], id(&caller).as_str());
    let stranger = introspect(
        &admin.http,
        &url,
        &id(&other_svc),
        &secret(&other_svc),
        access,
    )
    .await;
    assert_eq!(stranger, json!({"active": false}));

    // Registering the other service on the other API does not open orders' tokens to it.
    let r = admin
        .put(
            "/admin/v1/apis/other/resource-servers",
            json!({"clients": [id(&other_svc)]}),
        )
        .await;
    assert!(r.status().is_success());
    let stranger = introspect(
        &admin.http,
        &url,
        &id(&other_svc),
        &secret(&other_svc),
        access,
    )
    .await;
    assert_eq!(stranger, json!({"active": false}));

    // Unknown client ids are refused.
    let bad = admin
        .put(
            "/admin/v1/apis/orders/resource-servers",
            json!({"clients": ["app_nope"]}),
        )
        .await;
    assert_eq!(bad.status(), 400);
    server.shutdown().await.unwrap();
}
