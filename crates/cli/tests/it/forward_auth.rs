//! The forward-auth endpoint behind the real nginx (`auth_request`) and the real Caddy
//! (`forward_auth`), in front of the echo upstream.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use gatehouse::config::{Flags, parse_str, resolve_with};
use gatehouse_core::{Clock, FakeClock, MapEnv, UnixTime};
use gatehouse_testkit::echo::Echo;
use gatehouse_testkit::{TempDir, temp_dir};
use serde_json::{Value, json};

struct Env {
    http: reqwest::Client,
    url: String,
    gateway: std::net::SocketAddr,
    admin: String,
    echo: Echo,
    _server: gatehouse::server::RunningServer,
    dir: TempDir,
}

async fn start(trusted: &str) -> Env {
    let echo = Echo::start().await;
    let dir = temp_dir();
    let toml = format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
forward_auth = {{ trusted_peers = [{trusted}] }}
[[gateway.apis]]
api = "orders"
upstreams = ["{}"]
scopes = ["orders:read"]
[[gateway.apis.routes]]
operation = "get"
path = "/orders/{{id}}"
methods = ["GET"]
[[gateway.apis.routes]]
operation = "delete"
path = "/orders/{{id}}"
methods = ["DELETE"]
scopes = ["orders:write"]
"#,
        echo.url()
    );
    let flags = Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().join("data")),
        ..Flags::default()
    };
    let cfg = resolve_with(&flags, &MapEnv::default(), parse_str(&toml).unwrap()).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FakeClock::new(UnixTime(1_800_000_000)));
    let server = gatehouse::server::start(&cfg, clock).await.unwrap();
    let admin = std::fs::read_to_string(&server.admin_token_file)
        .unwrap()
        .trim()
        .to_owned();
    let env = Env {
        http: reqwest::Client::new(),
        url: format!("http://{}", server.addr),
        gateway: server.gateway_addr.unwrap(),
        admin,
        echo,
        _server: server,
        dir,
    };
    env.admin_post(
        "/admin/v1/apis",
        json!({"name": "orders", "audience": "https://orders.example", "scopes": ["orders:read", "orders:write"]}),
    )
    .await;
    env
}

impl Env {
    async fn admin_post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    async fn token(&self, scopes: &[&str]) -> (String, String) {
        let c = self
            .admin_post("/admin/v1/clients", json!({"name": "billing"}))
            .await;
        let id = c["client_id"].as_str().unwrap().to_owned();
        self.http
            .put(format!("{}/admin/v1/grants", self.url))
            .bearer_auth(&self.admin)
            .json(&json!({"client_id": id, "api": "orders", "scopes": scopes}))
            .send()
            .await
            .unwrap();
        let t: Value = self
            .http
            .post(format!("{}/oauth2/token", self.url))
            .basic_auth(&id, c["client_secret"].as_str())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (id, t["access_token"].as_str().unwrap().to_owned())
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A proxy process, killed on drop.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        // SIGTERM lets nginx's master stop its workers too; SIGKILL would orphan them.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

fn require(bin: &str) -> bool {
    if Command::new(bin)
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
        || Command::new(bin)
            .arg("version")
            .stdout(Stdio::null())
            .status()
            .is_ok()
    {
        return true;
    }
    if std::env::var("GATEHOUSE_SKIP_PROXIES").as_deref() == Ok("1") {
        eprintln!("SKIPPED: {bin} is not installed");
        return false;
    }
    panic!("{bin} is not installed (.ci/run installs it); set GATEHOUSE_SKIP_PROXIES=1 to skip");
}

async fn wait_listening(port: u16) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("proxy did not start on port {port}");
}

fn nginx(dir: &Path, port: u16, gateway: std::net::SocketAddr, echo: &Echo) -> Proxy {
    let d = dir.display();
    let conf = format!(
        r#"
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/nginx-body;
    proxy_temp_path {d}/nginx-proxy;
    fastcgi_temp_path {d}/nginx-fastcgi;
    uwsgi_temp_path {d}/nginx-uwsgi;
    scgi_temp_path {d}/nginx-scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            auth_request /_gatehouse;
            auth_request_set $gh_client $upstream_http_x_gatehouse_client_id;
            auth_request_set $gh_scopes $upstream_http_x_gatehouse_scopes;
            proxy_set_header X-Gatehouse-Client-Id $gh_client;
            proxy_set_header X-Gatehouse-Scopes $gh_scopes;
            proxy_pass http://{echo};
        }}
        location = /_gatehouse {{
            internal;
            proxy_pass http://{gateway}/.gatehouse/forward-auth;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header Host $host;
        }}
    }}
}}
"#,
        echo = echo.addr
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("nginx")
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proxy(child)
}

fn caddy(dir: &Path, port: u16, gateway: std::net::SocketAddr, echo: &Echo) -> Proxy {
    let conf = format!(
        r#"{{
    admin off
    auto_https off
    storage file_system {dir}/caddy-storage
}}
http://127.0.0.1:{port} {{
    forward_auth {gateway} {{
        uri /.gatehouse/forward-auth
        copy_headers X-Gatehouse-Client-Id X-Gatehouse-Scopes
    }}
    reverse_proxy {echo}
}}
"#,
        dir = dir.display(),
        echo = echo.addr
    );
    let path = dir.join("Caddyfile");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&path)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proxy(child)
}

async fn check_proxy(env: &Env, port: u16) {
    let base = format!("http://127.0.0.1:{port}");
    let (id, reader) = env.token(&["orders:read"]).await;

    // Allowed: the backend sees the identity the proxy copied from Gatehouse's answer.
    let r = env
        .http
        .get(format!("{base}/orders/7"))
        .bearer_auth(&reader)
        .header("x-gatehouse-client-id", "spoofed")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["path"], "/orders/7");
    assert_eq!(seen["headers"]["x-gatehouse-client-id"], id.as_str());
    assert_eq!(seen["headers"]["x-gatehouse-scopes"], "orders:read");

    // No token: 401 with the challenge. Missing scope: 403.
    let r = env
        .http
        .get(format!("{base}/orders/7"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = env
        .http
        .delete(format!("{base}/orders/7"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn nginx_auth_request_enforces_gatehouse_decisions() {
    if !require("nginx") {
        return;
    }
    let env = start("\"127.0.0.1\"").await;
    let port = free_port();
    let _nginx = nginx(env.dir.path(), port, env.gateway, &env.echo);
    wait_listening(port).await;
    check_proxy(&env, port).await;
}

#[tokio::test]
async fn caddy_forward_auth_enforces_gatehouse_decisions() {
    if !require("caddy") {
        return;
    }
    let env = start("\"127.0.0.0/8\"").await;
    let port = free_port();
    let _caddy = caddy(env.dir.path(), port, env.gateway, &env.echo);
    wait_listening(port).await;
    check_proxy(&env, port).await;
}

#[tokio::test]
async fn forward_auth_is_hidden_from_untrusted_peers() {
    let env = start("\"10.9.9.9\"").await;
    let (_, token) = env.token(&["orders:read"]).await;
    let r = env
        .http
        .get(format!("http://{}/.gatehouse/forward-auth", env.gateway))
        .bearer_auth(&token)
        .header("x-original-uri", "/orders/1")
        .header("x-original-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn forward_auth_answers_200_with_identity_headers_to_trusted_peers() {
    let env = start("\"127.0.0.1\"").await;
    let (id, token) = env.token(&["orders:read"]).await;
    let ask = |method: &str, uri: &str| {
        env.http
            .get(format!("http://{}/.gatehouse/forward-auth", env.gateway))
            .bearer_auth(&token)
            .header("x-forwarded-uri", uri)
            .header("x-forwarded-method", method)
            .send()
    };
    let r = ask("GET", "/orders/1?x=2").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-gatehouse-client-id"], id.as_str());
    assert_eq!(r.headers()["x-gatehouse-operation"], "get");
    assert_eq!(ask("DELETE", "/orders/1").await.unwrap().status(), 403);
    assert_eq!(ask("GET", "/unknown").await.unwrap().status(), 404);
}
