//! Gateway hot reload: a changed config file applies without a restart and without dropping
//! requests in flight; a broken file changes nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use std::sync::Arc;
use std::time::Duration;

use gatehouse::config::{Flags, resolve};
use gatehouse_core::{Clock, FakeClock, MapEnv, UnixTime};
use gatehouse_testkit::echo::Echo;
use gatehouse_testkit::temp_dir;
use serde_json::{Value, json};

fn config(echo: &Echo, gateway_port: u16, path: &str) -> String {
    format!(
        r#"
[gateway]
listen = "127.0.0.1:{gateway_port}"
[[gateway.apis]]
api = "orders"
upstreams = ["{}"]
[[gateway.apis.routes]]
operation = "op"
path = "{path}"
"#,
        echo.url()
    )
}

#[tokio::test]
async fn changed_config_file_applies_without_restart_and_keeps_in_flight_requests() {
    let echo = Echo::start().await;
    let dir = temp_dir();
    let file = dir.path().join("gatehouse.toml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(&file, config(&echo, port, "/slow")).unwrap();
    let flags = Flags {
        config: Some(file.clone()),
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().join("data")),
        ..Flags::default()
    };
    let cfg = resolve(&flags, &MapEnv::default()).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FakeClock::new(UnixTime(1_800_000_000)));
    let server = gatehouse::server::start(&cfg, clock).await.unwrap();
    let url = format!("http://{}", server.addr);
    let gateway = format!("http://{}", server.gateway_addr.unwrap());
    let admin = std::fs::read_to_string(&server.admin_token_file)
        .unwrap()
        .trim()
        .to_owned();
    let http = reqwest::Client::new();
    http.post(format!("{url}/admin/v1/apis"))
        .bearer_auth(&admin)
        .json(&json!({"name": "orders", "audience": "https://orders.example"}))
        .send()
        .await
        .unwrap();
    let c: Value = http
        .post(format!("{url}/admin/v1/clients"))
        .bearer_auth(&admin)
        .json(&json!({"name": "svc"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = c["client_id"].as_str().unwrap();
    http.put(format!("{url}/admin/v1/grants"))
        .bearer_auth(&admin)
        .json(&json!({"client_id": id, "api": "orders"}))
        .send()
        .await
        .unwrap();
    let t: Value = http
        .post(format!("{url}/oauth2/token"))
        .basic_auth(id, c["client_secret"].as_str())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = t["access_token"].as_str().unwrap().to_owned();
    let get = |path: &str| {
        http.get(format!("{gateway}{path}"))
            .bearer_auth(&token)
            .send()
    };

    // A slow request is in flight while the configuration changes under it.
    let in_flight = tokio::spawn(get("/slow?ms=3000"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        get("/status/200").await.unwrap().status(),
        404,
        "not routed yet"
    );
    std::fs::write(&file, config(&echo, port, "/status/*")).unwrap();
    let mut routed = false;
    for _ in 0..80 {
        if get("/status/200").await.unwrap().status() == 200 {
            routed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(routed, "the new route applies without a restart");
    assert_eq!(
        get("/slow?ms=1").await.unwrap().status(),
        404,
        "the old route is gone"
    );
    assert_eq!(
        in_flight.await.unwrap().unwrap().status(),
        200,
        "the request in flight finished"
    );

    // A broken file is refused and the gateway keeps its configuration.
    std::fs::write(&file, "[gateway]\nlisten = 5\n").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(get("/status/200").await.unwrap().status(), 200);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn rate_limit_override_for_one_application_applies_after_reload() {
    let echo = Echo::start().await;
    let dir = temp_dir();
    let file = dir.path().join("gatehouse.toml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = config(&echo, port, "/status/*");
    std::fs::write(&file, &base).unwrap();
    let flags = Flags {
        config: Some(file.clone()),
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().join("data")),
        ..Flags::default()
    };
    let cfg = resolve(&flags, &MapEnv::default()).unwrap();
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
    post(
        "/admin/v1/apis",
        json!({"name": "orders", "audience": "https://orders.example"}),
    )
    .await
    .unwrap();
    let mut tokens = Vec::new();
    for name in ["limited", "free"] {
        let c: Value = post("/admin/v1/clients", json!({"name": name}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = c["client_id"].as_str().unwrap().to_owned();
        http.put(format!("{url}/admin/v1/grants"))
            .bearer_auth(&admin)
            .json(&json!({"client_id": id, "api": "orders"}))
            .send()
            .await
            .unwrap();
        let t: Value = http
            .post(format!("{url}/oauth2/token"))
            .basic_auth(&id, c["client_secret"].as_str())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push((id, t["access_token"].as_str().unwrap().to_owned()));
    }
    let (limited_id, limited) = &tokens[0];
    let (_, free) = &tokens[1];
    // The override goes under the API's table, before its routes.
    let with_override = base.replace(
        "[[gateway.apis.routes]]",
        &format!("rate_limit = {{ per_day = 100 }}\nrate_limit_overrides = {{ \"{limited_id}\" = {{ per_day = 1 }} }}\n[[gateway.apis.routes]]"),
    );
    std::fs::write(&file, with_override).unwrap();
    let get = |t: &str| {
        http.get(format!("{gateway}/status/200"))
            .bearer_auth(t.to_owned())
            .send()
    };
    let mut applied = false;
    for _ in 0..80 {
        if get(limited).await.unwrap().status() == 429 {
            applied = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        applied,
        "the limited application hits its own quota of 1 per day"
    );
    for _ in 0..5 {
        assert_eq!(
            get(free).await.unwrap().status(),
            200,
            "other applications keep the API's quota"
        );
    }
    server.shutdown().await.unwrap();
}
