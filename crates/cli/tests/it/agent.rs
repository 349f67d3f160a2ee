//! The token agent with real clients: Python's `azure-identity` (`ManagedIdentityCredential`,
//! sync and async, App Service and IMDS protocols) gets tokens that the gateway accepts for
//! their audience and refuses for another; wrong secrets, forwarded requests and browsers are
//! refused; the cached token outlives the authorization server until it expires.
//!
//! Python with azure-identity and aiohttp must be installed: `.ci/run` creates
//! `target/azure-venv`; elsewhere set `GATEHOUSE_TEST_PYTHON`. Every Python run gets a cleared
//! environment holding only the agent's variables, so no client can fall back to the real
//! IMDS address (169.254.169.254) and send traffic off this machine.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code fails loudly"
)]

use std::path::PathBuf;
use std::sync::Arc;

use crate::common;

use common::{TestClient, TestServer, json_body};
use gatehouse_agent::{AgentConfig, RawAgent, RunningAgent};
use gatehouse_core::Clock;
use gatehouse_testkit::echo::Echo;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ORDERS: &str = "https://orders.example";
const PAYMENTS: &str = "https://payments.example";

#[expect(
    clippy::disallowed_methods,
    reason = "MSAL computes expiry from the real time: the fake clock starts at the real now"
)]
fn real_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// The Python with azure-identity; `None` (said loudly) only with `GATEHOUSE_SKIP_PYTHON=1`.
fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GATEHOUSE_TEST_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/azure-venv/bin/python3");
    if venv.exists() {
        return Some(venv);
    }
    if std::env::var("GATEHOUSE_SKIP_PYTHON").as_deref() == Ok("1") {
        eprintln!("SKIPPED: no Python with azure-identity (target/azure-venv)");
        return None;
    }
    panic!(
        "Python with azure-identity is required for the agent tests: run .ci/run, or \
         `python3 -m venv target/azure-venv && target/azure-venv/bin/pip install azure-identity aiohttp`, \
         or set GATEHOUSE_TEST_PYTHON; GATEHOUSE_SKIP_PYTHON=1 skips them"
    );
}

/// A control plane (at the real time) with `orders` and `payments`, a gateway in front of
/// both, and a workload client granted `orders:read` only.
async fn control_plane(echo: &Echo) -> (TestServer, TestClient) {
    let toml = format!(
        r#"
[client_auth]
lockout_max_failures = 1000
[gateway]
listen = "127.0.0.1:0"
[[gateway.apis]]
api = "orders"
upstreams = ["{echo}"]
[[gateway.apis.routes]]
operation = "any"
path = "/orders/*"
[[gateway.apis]]
api = "payments"
upstreams = ["{echo}"]
[[gateway.apis.routes]]
operation = "any"
path = "/payments/*"
"#,
        echo = echo.url()
    );
    let s = TestServer::start_with_config_at(&toml, real_now()).await;
    s.create_api_json(
        json!({"name": "orders", "audience": ORDERS, "scopes": ["orders:read"], "token_ttl": "1h"}),
    )
    .await;
    s.create_api_json(
        json!({"name": "payments", "audience": PAYMENTS, "scopes": ["pay"], "token_ttl": "1h"}),
    )
    .await;
    let workload = s
        .create_client("orders-reader", "client_secret_basic")
        .await;
    s.grant(&workload.id, "orders", &["orders:read"]).await;
    (s, workload)
}

async fn agent(s: &TestServer, workload: &TestClient, imds: &str) -> RunningAgent {
    let raw = RawAgent {
        imds: Some(imds.into()),
        ..RawAgent::default()
    };
    agent_with(s, workload, raw).await
}

/// An agent for `workload` against `s`, with `raw`'s other settings.
async fn agent_with(s: &TestServer, workload: &TestClient, raw: RawAgent) -> RunningAgent {
    let cfg = AgentConfig::try_from(RawAgent {
        listen: Some("127.0.0.1:0".into()),
        token_endpoint: Some(s.at("/oauth2/token")),
        client_id: Some(workload.id.clone()),
        ..raw
    })
    .unwrap();
    gatehouse_agent::start(
        &cfg,
        workload.secret().to_owned(),
        Arc::clone(&s.clock) as Arc<dyn Clock>,
    )
    .await
    .unwrap()
}

/// Runs the Python client in `mode` for `scope` with only `env` set.
async fn azure_identity(py: &PathBuf, mode: &str, scope: &str, env: &[(&str, String)]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/azure_client.py");
    let mut cmd = tokio::process::Command::new(py);
    cmd.env_clear()
        .env("NO_PROXY", "*")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(script)
        .arg(mode)
        .arg(scope);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("python finishes")
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "python printed {stdout:?}, stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn app_service_env(a: &RunningAgent) -> Vec<(&'static str, String)> {
    vec![
        ("IDENTITY_ENDPOINT", format!("http://{}/msi/token", a.addr)),
        ("IDENTITY_HEADER", a.secret.clone()),
    ]
}

async fn gateway_status(s: &TestServer, path: &str, token: &str) -> StatusCode {
    s.http
        .get(s.gw(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn azure_identity_app_service_sync_and_async_get_tokens_the_gateway_accepts() {
    let Some(py) = python() else { return };
    let echo = Echo::start().await;
    let (s, workload) = control_plane(&echo).await;
    let a = agent(&s, &workload, "prefixed").await;
    let env = app_service_env(&a);
    for mode in ["sync", "async"] {
        let got = azure_identity(&py, mode, "https://orders.example/.default", &env).await;
        let token = got["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{mode}: {got}"));
        assert!(
            got["expires_on"].as_i64().unwrap() > real_now() + 3000,
            "{got}"
        );
        assert_eq!(gateway_status(&s, "/orders/1", token).await, StatusCode::OK);
        assert_eq!(
            gateway_status(&s, "/payments/1", token).await,
            StatusCode::UNAUTHORIZED,
            "a token for orders is refused by payments"
        );
    }
    // Not entitled: azure-identity reports the identity as unavailable (a 400).
    let got = azure_identity(&py, "sync", "https://payments.example/.default", &env).await;
    assert!(got["error"].is_string(), "{got}");
    assert!(
        got["message"].as_str().unwrap().contains("400")
            || got["error"] == "CredentialUnavailableError",
        "{got}"
    );
    // A wrong header secret is refused too.
    let wrong = vec![env[0].clone(), ("IDENTITY_HEADER", "wrong".to_owned())];
    let got = azure_identity(&py, "sync", "https://orders.example/.default", &wrong).await;
    assert!(got["error"].is_string(), "{got}");
    a.shutdown().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn azure_identity_imds_with_the_secret_path_gets_a_token() {
    let Some(py) = python() else { return };
    let echo = Echo::start().await;
    let (s, workload) = control_plane(&echo).await;
    let a = agent(&s, &workload, "prefixed").await;
    let env = vec![(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        format!("http://{}/{}", a.addr, a.secret),
    )];
    let got = azure_identity(&py, "imds", "https://orders.example/.default", &env).await;
    let token = got["token"].as_str().unwrap_or_else(|| panic!("{got}"));
    assert_eq!(gateway_status(&s, "/orders/1", token).await, StatusCode::OK);
    // Without the secret path, IMDS is closed unless `imds = "open"`.
    let bare = vec![(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        format!("http://{}", a.addr),
    )];
    let got = azure_identity(&py, "imds", "https://orders.example/.default", &bare).await;
    assert!(got["error"].is_string(), "{got}");
    a.shutdown().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn front_doors_refuse_wrong_secrets_forwarded_and_browser_requests() {
    let echo = Echo::start().await;
    let (s, workload) = control_plane(&echo).await;
    let a = agent(&s, &workload, "open").await;
    let base = format!("http://{}", a.addr);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |path: String, headers: Vec<(&'static str, String)>| {
        let http = http.clone();
        async move {
            let mut r = http.get(path);
            for (k, v) in headers {
                r = r.header(k, v);
            }
            r.send().await.unwrap()
        }
    };
    let secret = a.secret.clone();
    let native = format!("{base}/v1/token?audience={ORDERS}&scope=orders:read");

    let ok = get(native.clone(), vec![("x-identity-header", secret.clone())]).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["cache-control"], "no-store");
    let body = json_body(ok).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "orders:read");
    assert!(body["expires_in"].as_i64().unwrap() > 3000);

    for (headers, status) in [
        (vec![], 400),
        (vec![("x-identity-header", "wrong".to_owned())], 400),
        (
            vec![
                ("x-identity-header", secret.clone()),
                ("x-forwarded-for", "10.0.0.1".to_owned()),
            ],
            403,
        ),
        (
            vec![
                ("x-identity-header", secret.clone()),
                ("origin", "https://evil.example".to_owned()),
            ],
            403,
        ),
    ] {
        let r = get(native.clone(), headers.clone()).await;
        assert_eq!(r.status().as_u16(), status, "{headers:?}");
        let body = json_body(r).await;
        assert!(body["error"].is_string(), "errors are JSON: {body}");
    }
    // App Service protocol: api-version and resource are required; another identity is refused.
    let h = vec![("x-identity-header", secret.clone())];
    for q in [
        format!("resource={ORDERS}"),
        format!("api-version=2017-09-01&resource={ORDERS}"),
        "api-version=2019-08-01".to_owned(),
        format!("api-version=2019-08-01&resource={ORDERS}&client_id=someone-else"),
    ] {
        let r = get(format!("{base}/msi/token?{q}"), h.clone()).await;
        assert_eq!(r.status(), 400, "{q}");
    }
    let r = get(
        format!(
            "{base}/msi/token?api-version=2019-08-01&resource={ORDERS}&client_id={}",
            workload.id
        ),
        h.clone(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body = json_body(r).await;
    assert_eq!(body["client_id"], workload.id.as_str());
    assert_eq!(body["resource"], ORDERS);
    assert!(body["expires_on"].as_str().unwrap().parse::<i64>().is_ok());
    // IMDS "open" mode: Metadata: true is still required.
    let imds =
        format!("{base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={ORDERS}");
    assert_eq!(get(imds.clone(), vec![]).await.status(), 400);
    assert_eq!(
        get(imds, vec![("metadata", "true".to_owned())])
            .await
            .status(),
        200
    );
    // Not entitled: 400 with a JSON error.
    let r = get(
        format!("{base}/v1/token?audience={PAYMENTS}"),
        vec![("x-identity-header", secret.clone())],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(json_body(r).await["error"], "invalid_resource");
    a.shutdown().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn the_cached_token_outlives_the_authorization_server_until_it_expires() {
    let echo = Echo::start().await;
    let (s, workload) = control_plane(&echo).await;
    let a = agent(&s, &workload, "off").await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/v1/token?audience={ORDERS}", a.addr);
    let get = || http.get(&url).header("x-identity-header", &a.secret).send();
    let first = json_body(get().await.unwrap()).await["access_token"].clone();
    let clock = Arc::clone(&s.clock);
    s.stop().await;
    // Refresh is due (48 min) and fails: the cached token is still served.
    clock.advance(50 * 60);
    let r = get().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(json_body(r).await["access_token"], first);
    // Expired: a clear error, not a stale token.
    clock.advance(11 * 60);
    let r = get().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(json_body(r).await["error"], "temporarily_unavailable");
    a.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_sdk_token_source_gets_tokens_from_the_agent() {
    let echo = Echo::start().await;
    let (s, workload) = control_plane(&echo).await;
    let a = agent(&s, &workload, "off").await;
    let env = gatehouse_core::MapEnv::from_pairs([
        ("GATEHOUSE_AGENT_URL", format!("http://{}", a.addr).as_str()),
        ("IDENTITY_HEADER", a.secret.as_str()),
    ]);
    let tokens = gatehouse_client::TokenSource::from_agent_env_in(&env).unwrap();
    let t = tokens.token(ORDERS).await.unwrap();
    assert_eq!(gateway_status(&s, "/orders/1", &t).await, StatusCode::OK);
    assert_eq!(
        tokens.token(ORDERS).await.unwrap(),
        t,
        "cached in the SDK too"
    );
    let err = tokens.token(PAYMENTS).await.unwrap_err();
    assert!(
        matches!(
            err,
            gatehouse_client::CacheError::Fetch(gatehouse_client::FetchError::NotEntitled(_))
        ),
        "{err:?}"
    );
    let wrong =
        gatehouse_client::TokenSource::agent(format!("http://{}", a.addr), "wrong").unwrap();
    assert!(wrong.token(ORDERS).await.is_err());
    let missing =
        gatehouse_client::TokenSource::from_agent_env_in(&gatehouse_core::MapEnv::default());
    assert!(missing.is_err());
    a.shutdown().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn the_agent_keeps_the_workload_certificate_on_disk_and_renews_it() {
    let toml = "[client_auth]\nlockout_max_failures = 1000\n[tls]\nlisten = \"127.0.0.1:0\"\nhosts = [\"localhost\"]\n";
    let s = TestServer::start_with_config(toml).await;
    let workload = s
        .create_client("orders-reader", "client_secret_basic")
        .await;
    s.grant(&workload.id, "gatehouse-ca", &["ca:sign"]).await;
    let dir = gatehouse_testkit::temp_dir();
    let certs = dir.path().join("certs");
    let reloads = dir.path().join("reloads");
    let a = agent_with(
        &s,
        &workload,
        RawAgent {
            certificate: Some(gatehouse_agent::config::RawCertificate {
                dir: Some(certs.clone()),
                reload_command: vec![
                    "sh".into(),
                    "-c".into(),
                    format!("echo reloaded >> {}", reloads.display()),
                ],
                ..Default::default()
            }),
            ..RawAgent::default()
        },
    )
    .await;

    use std::os::unix::fs::PermissionsExt;
    let key_mode = std::fs::metadata(certs.join("key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    let chain = std::fs::read_to_string(certs.join("cert.pem")).unwrap();
    let certs_in_chain = gatehouse_ca::parse_pem_certificates(&chain).unwrap();
    let id = gatehouse_ca::identity_of(&certs_in_chain[0]).unwrap();
    assert!(
        id.san_uris[0].ends_with(&format!("/app/{}", workload.id)),
        "{:?}",
        id.san_uris
    );
    assert!(
        std::fs::read_to_string(certs.join("bundle.pem"))
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    assert_eq!(
        std::fs::read_to_string(&reloads).unwrap().lines().count(),
        1
    );

    // The application can also ask the agent.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = http
        .get(format!("http://{}/v1/certificate", a.addr))
        .header("x-identity-header", &a.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = json_body(r).await;
    assert_eq!(body["certificate_chain"], chain.as_str());
    assert_eq!(body["serial"], id.serial.as_str());

    // Two thirds into its (24 h) lifetime it is renewed, and the reload command runs again.
    let m = a.certs.clone().unwrap();
    assert!(!m.due());
    s.advance(17 * 3600);
    assert!(m.due());
    let renewed = m.renew().await.unwrap();
    assert_ne!(renewed.signed.serial, id.serial);
    let chain2 = std::fs::read_to_string(certs.join("cert.pem")).unwrap();
    assert_eq!(chain2, renewed.signed.chain);
    assert_eq!(
        std::fs::read_to_string(&reloads).unwrap().lines().count(),
        2
    );
    a.shutdown().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn egress_adds_the_destinations_token_for_an_application_that_sends_none() {
    let echo = Echo::start().await;
    let (s, workload) = control_plane(&echo).await;
    let a = agent_with(
        &s,
        &workload,
        RawAgent {
            egress: vec![gatehouse_agent::config::RawEgress {
                listen: Some("127.0.0.1:0".into()),
                upstream: Some(s.gw("")),
                audience: Some(ORDERS.into()),
                ..Default::default()
            }],
            ..RawAgent::default()
        },
    )
    .await;
    let egress = format!("http://{}", a.egress[0]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    // The application speaks plain HTTP to the agent, with no credential (or a wrong one).
    let r = http
        .post(format!("{egress}/orders/7?x=1"))
        .header("authorization", "Bearer not-a-token")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/orders/7");
    assert_eq!(seen["query"], "x=1");
    assert_eq!(seen["body_len"], 5);
    assert_eq!(
        seen["headers"]["x-gatehouse-client-id"],
        workload.id.as_str()
    );
    // The upstream's own answers come back as they are.
    let r = http.get(format!("{egress}/nowhere")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // A browser page cannot use it.
    let r = http
        .get(format!("{egress}/orders/7"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    a.shutdown().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn the_native_door_is_also_on_a_private_unix_socket() {
    let echo = Echo::start().await;
    let (s, workload) = control_plane(&echo).await;
    let dir = gatehouse_testkit::temp_dir();
    let sock = dir.path().join("agent.sock");
    // A stale socket from an earlier run is replaced.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let a = agent_with(
        &s,
        &workload,
        RawAgent {
            unix_socket: Some(sock.clone()),
            ..RawAgent::default()
        },
    )
    .await;
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        a.env_file_contents()
            .contains(&format!("GATEHOUSE_AGENT_SOCKET={}", sock.display()))
    );
    let curl = |secret: String| {
        let sock = sock.clone();
        async move {
            let out = tokio::process::Command::new("curl")
                .args(["-s", "-w", "\n%{http_code}", "--unix-socket"])
                .arg(&sock)
                .args(["-H", &format!("X-IDENTITY-HEADER: {secret}")])
                .arg(format!("http://localhost/v1/token?audience={ORDERS}"))
                .output()
                .await
                .expect("curl is installed");
            let text = String::from_utf8(out.stdout).unwrap();
            let (body, code) = text.rsplit_once('\n').unwrap();
            (code.to_owned(), body.to_owned())
        }
    };
    let (code, body) = curl(a.secret.clone()).await;
    assert_eq!(code, "200", "{body}");
    let token: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        gateway_status(&s, "/orders/1", token["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );
    let (code, _) = curl("wrong".into()).await;
    assert_eq!(code, "400", "the secret is still required on the socket");
    a.shutdown().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn the_agent_can_authenticate_with_private_key_jwt_instead_of_a_secret() {
    use base64::Engine as _;
    let s = TestServer::start().await;
    s.create_api_json(json!({"name": "orders", "audience": ORDERS, "scopes": ["orders:read"]}))
        .await;
    let kid = gatehouse_core::Kid::parse("agent-key-1").unwrap();
    let (key, der) =
        gatehouse_keys::SigningKey::generate(gatehouse_core::Alg::ES256, kid.clone()).unwrap();
    let workload = s
        .create_client_json(json!({
            "name": "keyed-workload",
            "auth_method": "private_key_jwt",
            "jwks": {"keys": [key.public_jwk()]},
        }))
        .await;
    s.grant(&workload.id, "orders", &["orders:read"]).await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&*der);
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
    let loaded = gatehouse_agent::load_private_key(&pem, kid, gatehouse_core::Alg::ES256).unwrap();
    assert!(
        gatehouse_agent::load_private_key(
            "not a key",
            gatehouse_core::Kid::parse("k").unwrap(),
            gatehouse_core::Alg::ES256
        )
        .is_err()
    );
    let cfg = AgentConfig::try_from(RawAgent {
        listen: Some("127.0.0.1:0".into()),
        token_endpoint: Some(s.at("/oauth2/token")),
        client_id: Some(workload.id.clone()),
        ..RawAgent::default()
    })
    .unwrap();
    let a = gatehouse_agent::start_with_auth(
        &cfg,
        gatehouse_client::ClientAuth::PrivateKey(Box::new(loaded)),
        Arc::clone(&s.clock) as Arc<dyn Clock>,
    )
    .await
    .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |audience: &'static str| {
        http.get(format!("http://{}/v1/token?audience={audience}", a.addr))
            .header("x-identity-header", &a.secret)
            .send()
    };
    let r = get(ORDERS).await.unwrap();
    assert_eq!(r.status(), 200);
    let token = json_body(r).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, claims) = common::jwt_parts(&token);
    assert_eq!(claims["client_id"], workload.id.as_str());
    // Each refresh signs a fresh assertion (a replayed jti would be refused).
    s.advance(3000);
    a.cache.refresh_due();
    for _ in 0..50 {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let r = get(ORDERS).await.unwrap();
    let again = json_body(r).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(again, token, "refreshed with a new assertion");
    a.shutdown().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn the_forward_proxy_adds_tokens_for_configured_plain_http_hosts_only() {
    let echo = Echo::start().await;
    let (s, workload) = control_plane(&echo).await;
    let gateway_host = s.gw("").trim_start_matches("http://").to_owned();
    let a = agent_with(
        &s,
        &workload,
        RawAgent {
            proxy: Some(gatehouse_agent::config::RawProxy {
                listen: Some("127.0.0.1:0".into()),
                destinations: vec![gatehouse_agent::config::RawProxyDestination {
                    host: Some(gateway_host.clone()),
                    audience: Some(ORDERS.into()),
                    ..Default::default()
                }],
            }),
            ..RawAgent::default()
        },
    )
    .await;
    let proxy = a.proxy.unwrap();
    assert!(
        a.env_file_contents()
            .contains(&format!("HTTP_PROXY=http://{proxy}"))
    );
    let http = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(format!("http://{proxy}")).unwrap())
        .build()
        .unwrap();
    let r = http
        .get(format!("http://{gateway_host}/orders/3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(
        seen["headers"]["x-gatehouse-client-id"],
        workload.id.as_str()
    );
    // A host that is not configured gets no token (and no forwarding).
    let r = http
        .get(format!("{}/anything", echo.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Not as a proxy: refused with an explanation.
    let direct = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = direct
        .get(format!("http://{proxy}/orders/3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    a.shutdown().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn an_agent_without_any_secret_uses_its_certificate_and_renews_it_over_mtls() {
    let toml = "[client_auth]\nlockout_max_failures = 1000\n[tls]\nlisten = \"127.0.0.1:0\"\nhosts = [\"localhost\"]\n";
    // The agent checks the server's certificate against the real time.
    let s = TestServer::start_with_config_at(toml, real_now()).await;
    s.create_api_json(json!({"name": "orders", "audience": ORDERS, "scopes": ["orders:read"]}))
        .await;
    let workload = s
        .create_client_json(json!({
            "name": "cert-workload",
            "auth_method": "tls_client_auth",
            "tls": {"san_dns": "cert-workload.internal"},
            "dns_names": ["cert-workload.internal"],
        }))
        .await;
    s.grant(&workload.id, "orders", &["orders:read"]).await;
    // Bootstrap, as `gatehouse cert issue --out DIR` does: the first certificate, by an admin.
    let dir = gatehouse_testkit::temp_dir();
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let (csr, key) =
        gatehouse_ca::csr::generate_request(&["cert-workload.internal".to_owned()]).unwrap();
    let (status, v) = s
        .admin_json(
            reqwest::Method::POST,
            &format!("/admin/v1/clients/{}/certificates", workload.id),
            Some(json!({ "csr": csr })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    std::fs::write(certs.join("cert.pem"), v["chain"].as_str().unwrap()).unwrap();
    std::fs::write(certs.join("key.pem"), key.as_str()).unwrap();
    std::fs::write(certs.join("bundle.pem"), v["bundle"].as_str().unwrap()).unwrap();
    let first_serial = v["serial"].as_str().unwrap().to_owned();

    let cfg = AgentConfig::try_from(RawAgent {
        listen: Some("127.0.0.1:0".into()),
        token_endpoint: Some(s.tls("/oauth2/token")),
        client_id: Some(workload.id.clone()),
        certificate: Some(gatehouse_agent::config::RawCertificate {
            dir: Some(certs.clone()),
            ca_url: Some(s.tls("")),
            dns_names: vec!["cert-workload.internal".into()],
            authenticate: true,
            ..Default::default()
        }),
        ..RawAgent::default()
    })
    .unwrap();
    let a = gatehouse_agent::start_with_certificate(&cfg, Arc::clone(&s.clock) as Arc<dyn Clock>)
        .await
        .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = |a: &RunningAgent, scope: &'static str| {
        http.get(format!(
            "http://{}/v1/token?audience={ORDERS}&scope={scope}",
            a.addr
        ))
        .header("x-identity-header", &a.secret)
        .send()
    };
    let r = token(&a, "orders:read").await.unwrap();
    assert_eq!(r.status(), 200);
    let t = json_body(r).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, claims) = common::jwt_parts(&t);
    assert_eq!(claims["client_id"], workload.id.as_str());
    assert!(
        claims["cnf"]["x5t#S256"].is_string(),
        "a certificate-bound token: {claims}"
    );
    // Renewal over mTLS with the current certificate: no token, no secret.
    let m = a.certs.clone().unwrap();
    let renewed = m.renew().await.unwrap();
    assert_ne!(renewed.signed.serial, first_serial);
    assert_eq!(
        std::fs::read_to_string(certs.join("cert.pem")).unwrap(),
        renewed.signed.chain
    );
    // The next token request presents the new certificate.
    let r = token(&a, "").await.unwrap();
    assert_eq!(r.status(), 200);
    let t2 = json_body(r).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, claims2) = common::jwt_parts(&t2);
    assert_ne!(
        claims2["cnf"], claims["cnf"],
        "bound to the renewed certificate"
    );
    a.shutdown().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn thirty_two_concurrent_first_requests_make_one_token_request() {
    let echo = Echo::start().await;
    let (s, workload) = control_plane(&echo).await;
    let a = agent(&s, &workload, "off").await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/v1/token?audience={ORDERS}", a.addr);
    let calls: Vec<_> = (0..32)
        .map(|_| {
            let http = http.clone();
            let url = url.clone();
            let secret = a.secret.clone();
            tokio::spawn(async move {
                let r = http
                    .get(url)
                    .header("x-identity-header", secret)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                json_body(r).await["access_token"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for c in calls {
        tokens.push(c.await.unwrap());
    }
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one token for all");
    // The authorization server saw exactly one token request from the workload.
    let metrics = s
        .http
        .get(s.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("gatehouse_oauth_token_requests_total")
                && l.contains(&format!("client=\"{}\"", workload.id))
                && l.contains("result=\"ok\"")
        })
        .unwrap_or_else(|| panic!("no token counter for the workload in\n{metrics}"));
    assert!(line.ends_with(" 1"), "{line}");
    a.shutdown().await.unwrap();
    s.stop().await;
}
