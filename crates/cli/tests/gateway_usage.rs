//! Gateway usage: counted per application, operation and status class, flushed to the store,
//! and reported by the admin API.
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
async fn usage_is_counted_per_application_and_operation_and_reported() {
    let echo = Echo::start().await;
    let dir = temp_dir();
    let toml = format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
[[gateway.apis]]
api = "orders"
upstreams = ["{}"]
[[gateway.apis.routes]]
operation = "get"
path = "/orders/{{id}}"
methods = ["GET"]
[[gateway.apis.routes]]
operation = "status"
path = "/status/*"
"#,
        echo.url()
    );
    let flags = Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        ..Flags::default()
    };
    let cfg = resolve_with(&flags, &MapEnv::default(), parse_str(&toml).unwrap()).unwrap();
    let clock = Arc::new(FakeClock::new(UnixTime(1_800_000_030)));
    let server = gatehouse::server::start(&cfg, clock.clone() as Arc<dyn Clock>)
        .await
        .unwrap();
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
    for name in ["a", "b"] {
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
    let (a, ta) = &tokens[0];
    let (b, tb) = &tokens[1];
    for _ in 0..3 {
        assert_eq!(
            http.get(format!("{gateway}/orders/1"))
                .bearer_auth(ta)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert_eq!(
        http.get(format!("{gateway}/status/503"))
            .bearer_auth(ta)
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    assert_eq!(
        http.get(format!("{gateway}/orders/2"))
            .bearer_auth(tb)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    server.flush_usage().await;
    // Flushing again adds nothing: counts were taken once.
    server.flush_usage().await;

    let get = |path: String| http.get(format!("{url}{path}")).bearer_auth(&admin).send();
    let by_app: Value = get("/admin/v1/apis/orders/usage?by=application".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_app["total"], 5, "{by_app}");
    assert_eq!(by_app["items"][0]["key"], a.as_str());
    assert_eq!(by_app["items"][0]["count"], 4);
    assert_eq!(by_app["items"][0]["by_class"], json!({"2xx": 3, "5xx": 1}));
    assert_eq!(by_app["items"][1]["key"], b.as_str());
    assert!(by_app["items"][0]["p99_ms"].as_u64().is_some());

    let by_op: Value = get("/admin/v1/apis/orders/usage?by=operation".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ops: Vec<(&str, u64)> = by_op["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].as_str().unwrap(), i["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(ops, [("get", 4), ("status", 1)]);

    let mine: Value = get(format!("/admin/v1/applications/{b}/usage"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["by"], "api");

    let bad = get("/admin/v1/apis/orders/usage?by=color".into())
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    server.shutdown().await.unwrap();
}
