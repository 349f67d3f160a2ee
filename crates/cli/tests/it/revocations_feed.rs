//! `GET /admin/v1/revocations`: the `jti` deny list and per-client cut-offs, for gateways.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use std::sync::Arc;

use gatehouse::config::{Flags, RawConfig, resolve_with};
use gatehouse_core::{Clock, FakeClock, MapEnv, UnixTime};
use gatehouse_testkit::temp_dir;
use serde_json::{Value, json};

#[tokio::test]
async fn revocations_feed_lists_revoked_jtis_and_client_cutoffs_to_admins_only() {
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
    let admin = std::fs::read_to_string(&server.admin_token_file)
        .unwrap()
        .trim()
        .to_owned();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{url}{path}"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };

    let client: Value = post("/admin/v1/clients", json!({"name": "svc"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    post(
        "/admin/v1/apis",
        json!({"name": "orders", "audience": "https://orders.example"}),
    )
    .await
    .unwrap();
    http.put(format!("{url}/admin/v1/grants"))
        .bearer_auth(&admin)
        .json(&json!({"client_id": id, "api": "orders"}))
        .send()
        .await
        .unwrap();
    let token: Value = http
        .post(format!("{url}/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    let claims = gatehouse_keys::peek_claims(access).unwrap();
    let r = http
        .post(format!("{url}/oauth2/revoke"))
        .basic_auth(id, Some(secret))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    post(&format!("/admin/v1/clients/{id}/revoke-tokens"), json!({}))
        .await
        .unwrap();

    let unauthenticated = http
        .get(format!("{url}/admin/v1/revocations"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let feed: Value = http
        .get(format!("{url}/admin/v1/revocations"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        feed["tokens"],
        json!([{"jti": claims["jti"], "expires_at": claims["exp"]}])
    );
    assert_eq!(
        feed["clients"],
        json!([{"client_id": id, "tokens_not_before": 1_800_000_001}])
    );
    server.shutdown().await.unwrap();
}
