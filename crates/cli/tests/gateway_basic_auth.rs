//! Legacy HTTP Basic at the gateway: the client id and one of its client secrets, holding the
//! scopes of the application's subscription; off unless the API accepts `basic`.
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

#[tokio::test]
async fn basic_credentials_work_only_where_accepted_and_only_with_a_valid_secret() {
    let echo = Echo::start().await;
    let dir = temp_dir();
    let toml = format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
[[gateway.apis]]
api = "legacy"
upstreams = ["{up}"]
accept = ["basic"]
[[gateway.apis.routes]]
operation = "get"
path = "/legacy"
[[gateway.apis]]
api = "modern"
upstreams = ["{up}"]
[[gateway.apis.routes]]
operation = "get"
path = "/modern"
"#,
        up = echo.url()
    );
    let flags = Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        ..Flags::default()
    };
    let cfg = resolve_with(&flags, &MapEnv::default(), parse_str(&toml).unwrap()).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FakeClock::new(UnixTime(1_800_000_000)));
    let server = gatehouse::server::start(&cfg, clock).await.unwrap();
    let url = format!("http://{}", server.addr);
    let gateway = format!("http://{}", server.gateway_addr.unwrap());
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
    for (name, aud) in [
        ("legacy", "https://legacy.example"),
        ("modern", "https://modern.example"),
    ] {
        post("/admin/v1/apis", json!({"name": name, "audience": aud}))
            .await
            .unwrap();
    }
    let c: Value = post("/admin/v1/clients", json!({"name": "old-app"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
    );
    let get = |path: &str, user: &str, pass: &str| {
        http.get(format!("{gateway}{path}"))
            .basic_auth(user, Some(pass))
            .send()
    };

    // No subscription yet: authenticated but not allowed.
    assert_eq!(get("/legacy", id, secret).await.unwrap().status(), 403);
    for api in ["legacy", "modern"] {
        http.put(format!("{url}/admin/v1/grants"))
            .bearer_auth(&admin)
            .json(&json!({"client_id": id, "api": api}))
            .send()
            .await
            .unwrap();
    }
    let r = get("/legacy", id, secret).await.unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-gatehouse-client-id"], id);
    assert!(
        seen["headers"].get("authorization").is_none(),
        "credentials never reach the backend"
    );

    let wrong = get("/legacy", id, "gatehouse_cs_wrong").await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.headers()["www-authenticate"],
        "Basic realm=\"gatehouse\""
    );
    assert_eq!(
        get("/legacy", "app_unknown", secret)
            .await
            .unwrap()
            .status(),
        401
    );
    // An API that does not accept basic refuses it even with the right secret.
    assert_eq!(get("/modern", id, secret).await.unwrap().status(), 401);
    server.shutdown().await.unwrap();
}
