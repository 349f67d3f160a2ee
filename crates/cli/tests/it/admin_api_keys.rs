//! Admin API for API keys over real HTTP with a FakeClock: keys are shown once, stored as
//! digests the catalog finds, listed as metadata only, revocable, and honour their expiry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use std::sync::Arc;

use gatehouse::config::{Flags, RawConfig, resolve_with};
use gatehouse::server::RunningServer;
use gatehouse_core::{Clock, FakeClock, MapEnv, UnixTime};
use gatehouse_keys::secret::{self, SecretKind};
use gatehouse_testkit::temp_dir;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const START: i64 = 1_800_000_000;

struct Harness {
    server: RunningServer,
    clock: Arc<FakeClock>,
    http: reqwest::Client,
    url: String,
    token: String,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start() -> Self {
        let dir = temp_dir();
        let flags = Flags {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().to_owned()),
            ..Flags::default()
        };
        let cfg = resolve_with(&flags, &MapEnv::default(), RawConfig::default()).unwrap();
        let clock = Arc::new(FakeClock::new(UnixTime(START)));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let server = gatehouse::server::start(&cfg, dyn_clock).await.unwrap();
        let url = format!("http://{}", server.addr);
        let token = std::fs::read_to_string(&server.admin_token_file)
            .unwrap()
            .trim()
            .to_owned();
        Self {
            server,
            clock,
            http: reqwest::Client::new(),
            url,
            token,
            _dir: dir,
        }
    }

    /// An authenticated request; `body` `None` sends no body at all (a bare POST).
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    async fn new_client(&self, name: &str) -> String {
        let r = self
            .send(
                Method::POST,
                "/admin/v1/clients",
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let v: Value = r.json().await.unwrap();
        v["client_id"].as_str().unwrap().to_owned()
    }

    async fn create_key(&self, client: &str, body: Option<Value>) -> Value {
        let r = self
            .send(
                Method::POST,
                &format!("/admin/v1/clients/{client}/api-keys"),
                body,
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.url());
        assert_eq!(r.headers()["cache-control"], "no-store");
        r.json().await.unwrap()
    }

    /// The listing as raw text (to check what it never contains) and as JSON items.
    async fn list_keys(&self, client: &str) -> (String, Vec<Value>) {
        let r = self
            .send(
                Method::GET,
                &format!("/admin/v1/clients/{client}/api-keys"),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let text = r.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        (text, v["items"].as_array().unwrap().clone())
    }

    async fn revoke(&self, client: &str, key: &str) -> reqwest::Response {
        self.send(
            Method::POST,
            &format!("/admin/v1/clients/{client}/api-keys/{key}/revoke"),
            None,
        )
        .await
    }

    async fn audit_actions(&self) -> Vec<String> {
        let v: Value = self
            .send(Method::GET, "/admin/v1/audit", None)
            .await
            .json()
            .await
            .unwrap();
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Whether the catalog's key with this (clear) value authenticates at the fake now.
    fn catalog_valid(&self, key: &str) -> bool {
        let catalog = self.server.state.catalog.get();
        let (record, _) = catalog.api_key(&secret::digest(key)).expect("in catalog");
        record.is_valid_at(self.clock.now())
    }
}

#[tokio::test]
async fn created_key_is_shown_once_and_the_catalog_finds_it_by_digest() {
    let h = Harness::start().await;
    let client = h.new_client("billing").await;

    let created = h.create_key(&client, None).await;
    let key = created["api_key"].as_str().unwrap();
    assert!(key.starts_with("gatehouse_ak_"), "{key}");
    secret::check_format(SecretKind::ApiKey, key).unwrap();
    let prefix = created["prefix"].as_str().unwrap();
    assert!(
        key.starts_with(prefix) && prefix.len() > "gatehouse_ak_".len(),
        "{prefix}"
    );
    assert!(prefix.len() < key.len() / 2, "the prefix gives little away");
    assert_eq!(created["expires_at"], Value::Null);
    let id = created["id"].as_str().unwrap();

    let (text, items) = h.list_keys(&client).await;
    assert!(!text.contains(key), "the key is never listed");
    assert!(!text.contains(&key[prefix.len()..]), "nor its rest");
    assert_eq!(
        items,
        [json!({
            "id": id, "prefix": prefix, "created_at": START, "expires_at": null,
            "revoked_at": null, "valid": true
        })]
    );
    let shown: Value = h
        .send(Method::GET, &format!("/admin/v1/clients/{client}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["api_keys"], Value::Array(items));
    assert!(!shown.to_string().contains(key));

    let catalog = h.server.state.catalog.get();
    let (record, entry) = catalog.api_key(&secret::digest(key)).unwrap();
    assert_eq!(record.id.as_str(), id);
    assert_eq!(entry.client.id.as_str(), client);
    assert!(h.catalog_valid(key));
    assert!(
        h.audit_actions()
            .await
            .contains(&"api_key.create".to_owned())
    );
    h.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn revoked_key_stays_listed_but_no_longer_authenticates() {
    let h = Harness::start().await;
    let client = h.new_client("billing").await;
    let old = h.create_key(&client, None).await;
    h.clock.advance(1);
    let new = h.create_key(&client, None).await;
    let old_key = old["api_key"].as_str().unwrap();

    h.clock.advance(59);
    let r = h.revoke(&client, old["id"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!h.catalog_valid(old_key));
    assert!(
        h.catalog_valid(new["api_key"].as_str().unwrap()),
        "the other key of the client is untouched"
    );

    // Revoking again succeeds and keeps the first revocation time.
    h.clock.advance(60);
    let r = h.revoke(&client, old["id"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, items) = h.list_keys(&client).await;
    let states: Vec<(&Value, &Value, &Value)> = items
        .iter()
        .map(|k| (&k["id"], &k["revoked_at"], &k["valid"]))
        .collect();
    assert_eq!(
        states,
        [
            (&old["id"], &json!(START + 60), &json!(false)),
            (&new["id"], &Value::Null, &json!(true)),
        ]
    );
    assert!(
        h.audit_actions()
            .await
            .contains(&"api_key.revoke".to_owned())
    );
    h.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn expiring_key_stops_authenticating_after_expires_in() {
    let h = Harness::start().await;
    let client = h.new_client("billing").await;
    let created = h
        .create_key(&client, Some(json!({ "expires_in": "90d" })))
        .await;
    let key = created["api_key"].as_str().unwrap();
    assert_eq!(created["expires_at"], json!(START + 90 * 86400));

    h.clock.advance(90 * 86400 - 1);
    assert!(h.catalog_valid(key));
    assert_eq!(h.list_keys(&client).await.1[0]["valid"], true);

    h.clock.advance(1);
    assert!(!h.catalog_valid(key), "invalid from expires_at on");
    assert_eq!(h.list_keys(&client).await.1[0]["valid"], false);
    h.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn another_clients_key_or_an_unknown_one_is_not_found() {
    let h = Harness::start().await;
    let owner = h.new_client("owner").await;
    let stranger = h.new_client("stranger").await;
    let created = h.create_key(&owner, None).await;
    let key_id = created["id"].as_str().unwrap();

    for (client, key) in [
        (stranger.as_str(), key_id),
        (owner.as_str(), "ak_missing"),
        (owner.as_str(), "not%20an%20id"),
        ("app_missing", key_id),
    ] {
        let r = h.revoke(client, key).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{client} {key}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    assert!(h.catalog_valid(created["api_key"].as_str().unwrap()));
    assert!(h.list_keys(&stranger).await.1.is_empty());

    let r = h
        .send(Method::POST, "/admin/v1/clients/app_missing/api-keys", None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = h
        .send(Method::GET, "/admin/v1/clients/app_missing/api-keys", None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    h.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_expires_in_is_a_400_problem_and_creates_nothing() {
    let h = Harness::start().await;
    let client = h.new_client("billing").await;
    let path = format!("/admin/v1/clients/{client}/api-keys");
    for body in [
        json!({ "expires_in": "soon" }),
        json!({ "expires_in": "731d" }),
        json!({ "expires_in": "30s" }),
        json!({ "expires_in": 90 }),
        json!({ "ttl": "90d" }),
    ] {
        let r = h.send(Method::POST, &path, Some(body.clone())).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["status"], 400);
        assert!(problem["detail"].is_string(), "{problem}");
    }
    let r = h
        .http
        .post(format!("{}{path}", h.url))
        .bearer_auth(&h.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(h.list_keys(&client).await.1.is_empty());
    h.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn api_key_endpoints_require_the_admin_token() {
    let h = Harness::start().await;
    let client = h.new_client("billing").await;
    let created = h.create_key(&client, None).await;
    let key_id = created["id"].as_str().unwrap();
    let base = format!("{}/admin/v1/clients/{client}/api-keys", h.url);
    for (method, url) in [
        (Method::POST, base.clone()),
        (Method::GET, base.clone()),
        (Method::POST, format!("{base}/{key_id}/revoke")),
    ] {
        for token in [None, Some("gatehouse_adm_wrong")] {
            let mut req = h.http.request(method.clone(), &url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {url}");
            assert!(r.headers().contains_key("www-authenticate"));
        }
    }
    assert_eq!(h.list_keys(&client).await.1.len(), 1);
    assert!(h.catalog_valid(created["api_key"].as_str().unwrap()));
    h.server.shutdown().await.unwrap();
}
