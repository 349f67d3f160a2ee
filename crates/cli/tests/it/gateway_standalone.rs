//! The standalone gateway (`gatehouse gateway`) against a real control plane on loopback: the
//! sync protocol (long-poll snapshots with ETags), revocations within 2 s, key rotation
//! without failures, serving from cache while the control plane is away, the staleness limit,
//! usage pushed idempotently, and the sync endpoint's refusals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code fails loudly"
)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{ORDERS, TestClient, TestServer, json_body};
use gatehouse::cli::GatewayArgs;
use gatehouse::config::parse_str;
use gatehouse::standalone::{self, RunningGateway};
use gatehouse_core::{Clock, MapEnv};
use gatehouse_testkit::echo::Echo;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A control plane with `orders`, a caller granted `orders:read`, and a gateway client granted
/// `gateway:sync` on the control plane's own API.
struct Cluster {
    cp: TestServer,
    caller: TestClient,
    gateway_client: TestClient,
    echo: Echo,
}

async fn cluster() -> Cluster {
    let cp = TestServer::start().await;
    let caller = cp.orders_with_client().await;
    let gateway_client = cp.create_client("gateway-1", "client_secret_basic").await;
    cp.grant(&gateway_client.id, "gatehouse", &["gateway:sync"])
        .await;
    Cluster {
        cp,
        caller,
        gateway_client,
        echo: Echo::start().await,
    }
}

fn gateway_toml(c: &Cluster, extra: &str) -> String {
    format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
[gateway.control_plane]
url = "{url}"
client_id = "{id}"
max_staleness = "30s"
poll_wait = "5s"
{extra}
[[gateway.apis]]
api = "orders"
upstreams = ["{echo}"]
scopes = ["orders:read"]
[[gateway.apis.routes]]
operation = "any"
path = "/*"
"#,
        url = c.cp.url,
        id = c.gateway_client.id,
        echo = c.echo.url(),
    )
}

fn resolve(c: &Cluster, toml: &str) -> Result<standalone::GatewayConfig, String> {
    let env = MapEnv::from_pairs([("GATEHOUSE_GATEWAY_CLIENT_SECRET", c.gateway_client.secret())]);
    standalone::resolve_raw(
        &parse_str(toml).unwrap(),
        None,
        &GatewayArgs::default(),
        &env,
    )
}

async fn start_gateway(c: &Cluster) -> (RunningGateway, String) {
    let cfg = resolve(c, &gateway_toml(c, "")).unwrap();
    let gw = standalone::start(&cfg, Arc::clone(&c.cp.clock) as Arc<dyn Clock>)
        .await
        .unwrap();
    assert!(gw.plane.is_ready(), "the first snapshot is synced at start");
    let url = format!("http://{}", gw.addr);
    (gw, url)
}

async fn get(c: &Cluster, url: &str, token: &str) -> StatusCode {
    c.cp.http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// Polls `url` with `token` until it answers `want`; returns how long that took.
async fn until_status(c: &Cluster, url: &str, token: &str, want: StatusCode) -> Duration {
    let started = tokio::time::Instant::now();
    loop {
        if get(c, url, token).await == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{url} never answered {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn standalone_gateway_forwards_with_the_control_planes_tokens_and_identity() {
    let c = cluster().await;
    let (gw, url) = start_gateway(&c).await;
    let token = c.cp.access_token(&c.caller, &[("resource", ORDERS)]).await;
    let resp =
        c.cp.http
            .get(format!("{url}/orders/1"))
            .bearer_auth(&token)
            .header("x-gatehouse-client-id", "spoofed")
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let echoed = json_body(resp).await;
    assert_eq!(echoed["headers"]["x-gatehouse-client-id"], c.caller.id);
    assert!(echoed["headers"].get("authorization").is_none());

    let none =
        c.cp.http
            .get(format!("{url}/orders/1"))
            .send()
            .await
            .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.headers()["www-authenticate"],
        "Bearer realm=\"gatehouse\""
    );
    // A token for another audience (the control plane's own) is not an orders token.
    let sync_token =
        c.cp.access_token(
            &c.gateway_client,
            &[("resource", "urn:gatehouse:control-plane")],
        )
        .await;
    assert_eq!(
        get(&c, &format!("{url}/orders/1"), &sync_token).await,
        StatusCode::UNAUTHORIZED
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn revocations_and_admin_changes_reach_the_standalone_gateway_within_two_seconds() {
    let c = cluster().await;
    let (gw, url) = start_gateway(&c).await;
    let target = format!("{url}/orders/1");

    // A token revoked at the authorization server stops working at the gateway.
    let token = c.cp.access_token(&c.caller, &[("resource", ORDERS)]).await;
    assert_eq!(get(&c, &target, &token).await, StatusCode::OK);
    let resp = c.cp.revoke_as(&c.caller, &[("token", &token)]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let took = until_status(&c, &target, &token, StatusCode::UNAUTHORIZED).await;
    assert!(took < Duration::from_secs(2), "revocation took {took:?}");

    // A client created after the gateway started is known to it within 2 s.
    let late = c.cp.create_client("late", "client_secret_basic").await;
    c.cp.grant(&late.id, "orders", &["orders:read"]).await;
    let late_token = c.cp.access_token(&late, &[("resource", ORDERS)]).await;
    let took = until_status(&c, &target, &late_token, StatusCode::OK).await;
    assert!(took < Duration::from_secs(2), "new client took {took:?}");

    // Withdrawing the grant refuses its (still unexpired) token within 2 s.
    let (status, body) =
        c.cp.admin_json(
            Method::DELETE,
            &format!("/admin/v1/grants/{}/orders", late.id),
            None,
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let took = until_status(&c, &target, &late_token, StatusCode::FORBIDDEN).await;
    assert!(
        took < Duration::from_secs(2),
        "grant withdrawal took {took:?}"
    );

    // The per-client cut-off (revoke every token of a client).
    let token = c.cp.access_token(&c.caller, &[("resource", ORDERS)]).await;
    assert_eq!(get(&c, &target, &token).await, StatusCode::OK);
    c.cp.advance(1);
    let (status, _) =
        c.cp.admin_json(
            Method::POST,
            &format!("/admin/v1/clients/{}/revoke-tokens", c.caller.id),
            None,
        )
        .await;
    assert!(status.is_success());
    let took = until_status(&c, &target, &token, StatusCode::UNAUTHORIZED).await;
    assert!(
        took < Duration::from_secs(2),
        "client cut-off took {took:?}"
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn key_rotation_on_the_control_plane_causes_no_failed_requests_at_the_gateway() {
    let c = cluster().await;
    let (gw, url) = start_gateway(&c).await;
    let target = format!("{url}/orders/1");
    for round in 0..3 {
        let (status, body) =
            c.cp.admin_json(Method::POST, "/admin/v1/keys/rotate", Some(json!({})))
                .await;
        assert!(status.is_success(), "rotate: {status} {body}");
        // The new signing key was published (as the next key) before it signed anything, so
        // the very first token it signs passes at once, with no sleep.
        let token = c.cp.access_token(&c.caller, &[("resource", ORDERS)]).await;
        assert_eq!(
            get(&c, &target, &token).await,
            StatusCode::OK,
            "round {round}"
        );
        // Give the gateway a moment to learn the newly published next key.
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn gateway_serves_from_cache_while_the_control_plane_is_away_then_refuses_when_stale() {
    let c = cluster().await;
    let (gw, url) = start_gateway(&c).await;
    let target = format!("{url}/orders/1");
    let token = c.cp.access_token(&c.caller, &[("resource", ORDERS)]).await;
    assert_eq!(get(&c, &target, &token).await, StatusCode::OK);
    let clock = Arc::clone(&c.cp.clock);
    let Cluster { cp, echo, .. } = c;
    let http = cp.http.clone();
    cp.stop().await;

    // The control plane is gone: cached data keeps the gateway serving.
    let ok = http.get(&target).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    clock.advance(20);
    let ok = http.get(&target).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK, "within max_staleness (30s)");

    // Past the staleness limit, the gateway refuses rather than decide on old data.
    clock.advance(15);
    let stale = http.get(&target).bearer_auth(&token).send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(stale.headers()["content-type"], "application/problem+json");
    drop(echo);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn usage_is_pushed_to_the_control_plane_and_counted_once() {
    let c = cluster().await;
    let (gw, url) = start_gateway(&c).await;
    let token = c.cp.access_token(&c.caller, &[("resource", ORDERS)]).await;
    for _ in 0..5 {
        assert_eq!(
            get(&c, &format!("{url}/orders/1"), &token).await,
            StatusCode::OK
        );
    }
    gw.flush_usage().await;
    gw.flush_usage().await;
    let (status, usage) =
        c.cp.admin_json(
            Method::GET,
            &format!(
                "/admin/v1/apis/orders/usage?by=application&from={}&to={}",
                c.cp.now() - 3600,
                c.cp.now() + 60
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    assert_eq!(usage["total"], 5, "{usage}");
    assert_eq!(usage["items"][0]["key"], c.caller.id, "{usage}");
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn policies_reach_the_standalone_gateway_and_its_decisions_reach_the_owner() {
    let c = cluster().await;
    let (gw, url) = start_gateway(&c).await;
    let token = c.cp.access_token(&c.caller, &[("resource", ORDERS)]).await;
    let target = format!("{url}/orders/1");
    assert_eq!(get(&c, &target, &token).await, StatusCode::OK);

    let module = "package orders.p\nimport rego.v1\ndefault decision := {\"allow\": false, \"reason\": \"closed\"}\n";
    let (status, p) =
        c.cp.admin_json(
            Method::PUT,
            "/admin/v1/apis/orders/policy",
            Some(json!({"module": module})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let took = until_status(&c, &target, &token, StatusCode::FORBIDDEN).await;
    assert!(took < Duration::from_secs(2), "the policy took {took:?}");

    // Its decisions travel with the usage batch.
    gw.flush_usage().await;
    let (status, log) =
        c.cp.admin_json(Method::GET, "/admin/v1/apis/orders/decisions", None)
            .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let first = &log["items"][0];
    assert_eq!(first["outcome"], "deny", "{log}");
    assert_eq!(first["reason"], "closed");
    assert_eq!(first["client_id"], c.caller.id.as_str());

    // Detaching it reopens the API.
    c.cp.admin_json(Method::DELETE, "/admin/v1/apis/orders/policy", None)
        .await;
    until_status(&c, &target, &token, StatusCode::OK).await;
    gw.shutdown().await.unwrap();
}

/// Raw calls to the sync endpoints, as a gateway makes them.
#[tokio::test]
async fn sync_endpoints_speak_etags_and_long_poll_and_refuse_bad_callers() {
    let c = cluster().await;
    let snapshot = format!("{}/gateway/v1/snapshot", c.cp.url);
    let sync_token =
        c.cp.access_token(
            &c.gateway_client,
            &[
                ("resource", "urn:gatehouse:control-plane"),
                ("scope", "gateway:sync"),
            ],
        )
        .await;

    // No token, an admin token, a token for another API: 401 with a challenge.
    let none = c.cp.http.get(&snapshot).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert_eq!(none.headers()["content-type"], "application/problem+json");
    let admin =
        c.cp.http
            .get(&snapshot)
            .bearer_auth(&c.cp.admin_token)
            .send()
            .await
            .unwrap();
    assert_eq!(admin.status(), StatusCode::UNAUTHORIZED);
    let orders_token = c.cp.access_token(&c.caller, &[("resource", ORDERS)]).await;
    let other =
        c.cp.http
            .get(&snapshot)
            .bearer_auth(&orders_token)
            .send()
            .await
            .unwrap();
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);

    // The snapshot, its ETag, and 304 when nothing changed.
    let first =
        c.cp.http
            .get(&snapshot)
            .bearer_auth(&sync_token)
            .send()
            .await
            .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["cache-control"], "no-store");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["format"], 1);
    assert_eq!(body["issuer"], c.cp.issuer);
    assert!(body["jwks"]["keys"].as_array().unwrap().len() >= 2);
    assert!(
        body["clients"]
            .as_array()
            .unwrap()
            .iter()
            .any(|cl| cl["id"] == c.caller.id)
    );
    assert!(
        body.to_string().find("client_secret\"").is_none(),
        "no secret in clear"
    );
    let same =
        c.cp.http
            .get(format!("{snapshot}?wait=1"))
            .bearer_auth(&sync_token)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
    assert_eq!(same.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(same.headers()["etag"].to_str().unwrap(), etag);

    // A held request is answered as soon as something changes.
    let held = {
        let http = c.cp.http.clone();
        let (snapshot, token, etag) = (snapshot.clone(), sync_token.clone(), etag.clone());
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let r = http
                .get(format!("{snapshot}?wait=20"))
                .bearer_auth(token)
                .header("if-none-match", etag)
                .send()
                .await
                .unwrap();
            (r.status(), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.cp.create_client("another", "client_secret_basic").await;
    let (status, took) = held.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(took < Duration::from_secs(3), "held request took {took:?}");

    // Bad input: unknown or malformed parameters, malformed usage batches.
    for q in ["wait=abc", "wait=-1", "x=1"] {
        let r =
            c.cp.http
                .get(format!("{snapshot}?{q}"))
                .bearer_auth(&sync_token)
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
    }
    let usage = format!("{}/gateway/v1/usage", c.cp.url);
    for body in [
        "not json".to_owned(),
        json!({"batch_id": "../x", "records": []}).to_string(),
        json!({"batch_id": "b1", "records": [{"minute": 61}]}).to_string(),
    ] {
        let r =
            c.cp.http
                .post(&usage)
                .bearer_auth(&sync_token)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let r =
        c.cp.http
            .post(&usage)
            .json(&json!({"batch_id": "b1", "records": []}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The same batch twice is counted once.
    let api_id =
        c.cp.state
            .catalog
            .get()
            .find_api("orders")
            .unwrap()
            .id
            .clone();
    let minute = c.cp.now() - c.cp.now().rem_euclid(60);
    let mut buckets = vec![0u64; gatehouse_core::LATENCY_BUCKETS];
    buckets[0] = 7;
    let batch = json!({"batch_id": "batch-1", "records": [{
        "minute": minute, "api_id": api_id, "client_id": c.caller.id, "operation": "any",
        "status_class": 2, "count": 7, "latency_buckets": buckets,
    }]});
    for _ in 0..2 {
        let r =
            c.cp.http
                .post(&usage)
                .bearer_auth(&sync_token)
                .json(&batch)
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let (_, report) =
        c.cp.admin_json(
            Method::GET,
            &format!(
                "/admin/v1/apis/orders/usage?from={}&to={}",
                minute - 60,
                minute + 120
            ),
            None,
        )
        .await;
    assert_eq!(report["total"], 7, "{report}");
}

#[tokio::test]
async fn standalone_config_errors_name_the_field() {
    let c = cluster().await;
    let err = resolve(
        &c,
        &gateway_toml(&c, "").replace(
            "scopes = [\"orders:read\"]",
            "scopes = [\"orders:read\"]\nidentity_audience = \"https://backend.internal\"",
        ),
    )
    .unwrap_err();
    assert!(err.contains("gateway.apis[0].identity_audience"), "{err}");
    let err = resolve(
        &c,
        &gateway_toml(&c, "").replace(&c.cp.url, "http://gatehouse.example:7070"),
    )
    .unwrap_err();
    assert!(err.contains("gateway.control_plane.url"), "{err}");
    let err = resolve(
        &c,
        &gateway_toml(&c, "").replace("max_staleness = \"30s\"", "max_staleness = \"1s\""),
    )
    .unwrap_err();
    assert!(err.contains("max_staleness"), "{err}");
    let no_secret = standalone::resolve_raw(
        &parse_str(&gateway_toml(&c, "")).unwrap(),
        None,
        &GatewayArgs::default(),
        &MapEnv::default(),
    )
    .unwrap_err();
    assert!(no_secret.contains("client_secret_file"), "{no_secret}");
}

#[tokio::test]
async fn a_gateway_with_a_wrong_secret_answers_503_until_it_can_sync() {
    let c = cluster().await;
    let env = MapEnv::from_pairs([("GATEHOUSE_GATEWAY_CLIENT_SECRET", "gatehouse_cs_wrong")]);
    let cfg = standalone::resolve_raw(
        &parse_str(&gateway_toml(&c, "")).unwrap(),
        None,
        &GatewayArgs::default(),
        &env,
    )
    .unwrap();
    let gw = standalone::start(&cfg, Arc::clone(&c.cp.clock) as Arc<dyn Clock>)
        .await
        .unwrap();
    assert!(!gw.plane.is_ready());
    let token = c.cp.access_token(&c.caller, &[("resource", ORDERS)]).await;
    let url = format!("http://{}/orders/1", gw.addr);
    assert_eq!(get(&c, &url, &token).await, StatusCode::SERVICE_UNAVAILABLE);
    gw.shutdown().await.unwrap();
}
