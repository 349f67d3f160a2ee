//! Gateway usage: counted per application, operation and status class, flushed to the store,
//! and reported by the admin API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code fails loudly"
)]

use crate::common;

use common::{ORDERS, TestServer};
use gatehouse_testkit::echo::Echo;
use serde_json::{Value, json};

async fn report(s: &TestServer, path: String) -> (reqwest::StatusCode, Value) {
    let r = s.admin(reqwest::Method::GET, &path).send().await.unwrap();
    (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn usage_is_counted_per_application_and_operation_and_reported() {
    let echo = Echo::start().await;
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
    let s = TestServer::start_with_config(&toml).await;
    s.create_api("orders", ORDERS, &[]).await;
    let mut tokens = Vec::new();
    for name in ["a", "b"] {
        let c = s.create_client(name, "client_secret_basic").await;
        s.grant(&c.id, "orders", &[]).await;
        let t = s.access_token(&c, &[]).await;
        tokens.push((c.id, t));
    }
    let (a, ta) = &tokens[0];
    let (b, tb) = &tokens[1];
    let get = |path: &str, t: &str| s.http.get(s.gw(path)).bearer_auth(t.to_owned()).send();
    for _ in 0..3 {
        assert_eq!(get("/orders/1", ta).await.unwrap().status(), 200);
    }
    assert_eq!(get("/status/503", ta).await.unwrap().status(), 503);
    assert_eq!(get("/orders/2", tb).await.unwrap().status(), 200);
    s.flush_usage().await;
    // Flushing again adds nothing: counts were taken once.
    s.flush_usage().await;

    let (_, by_app) = report(&s, "/admin/v1/apis/orders/usage?by=application".into()).await;
    assert_eq!(by_app["total"], 5, "{by_app}");
    assert_eq!(by_app["items"][0]["key"], a.as_str());
    assert_eq!(by_app["items"][0]["count"], 4);
    assert_eq!(by_app["items"][0]["by_class"], json!({"2xx": 3, "5xx": 1}));
    assert_eq!(by_app["items"][1]["key"], b.as_str());
    assert!(by_app["items"][0]["p99_ms"].as_u64().is_some());

    let (_, by_op) = report(&s, "/admin/v1/apis/orders/usage?by=operation".into()).await;
    let ops: Vec<(&str, u64)> = by_op["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].as_str().unwrap(), i["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(ops, [("get", 4), ("status", 1)]);

    let (_, mine) = report(&s, format!("/admin/v1/applications/{b}/usage")).await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["by"], "api");

    let (status, _) = report(&s, "/admin/v1/apis/orders/usage?by=color".into()).await;
    assert_eq!(status, 400);
    s.stop().await;
}
