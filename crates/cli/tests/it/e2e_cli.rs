//! End-to-end: the real `gatehouse` binary, driven by its own CLI and by `curl`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use std::path::Path;
use std::process::{Command, Output};

use gatehouse_testkit::{Server, temp_dir};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

fn cli(server: &Server, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--server")
        .arg(&server.url)
        .arg("--admin-token-file")
        .arg(server.data_dir.join("admin-token"))
        .args(args)
        .env_remove("GATEHOUSE_ADMIN_TOKEN")
        .env_remove("GATEHOUSE_SERVER")
        .output()
        .expect("run gatehouse")
}

/// Runs with `--json`, asserts exit 0 and that stdout is exactly one JSON object.
fn cli_json(server: &Server, args: &[&str]) -> Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = cli(server, &full);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().count(),
        1,
        "stdout must be one line of JSON: {text:?}"
    );
    let v: Value = serde_json::from_str(&text).expect("stdout is JSON");
    assert!(v.is_object(), "stdout must be a JSON object: {v}");
    v
}

fn curl(args: &[&str]) -> (u16, Value) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is installed");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (
        code.parse().unwrap(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

fn curl_token(url: &str, id: &str, secret: &str, resource: &str) -> (u16, Value) {
    curl(&[
        "-u",
        &format!("{id}:{secret}"),
        "-d",
        "grant_type=client_credentials",
        "-d",
        &format!("resource={resource}"),
        &format!("{url}/oauth2/token"),
    ])
}

fn kids(url: &str) -> Vec<String> {
    let (_, jwks) = curl(&[&format!("{url}/.well-known/jwks.json")]);
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

fn setup_orders(server: &Server) -> (String, String) {
    let api = cli_json(
        server,
        &[
            "api",
            "create",
            "--name",
            "orders",
            "--audience",
            "https://orders.example",
            "--scope",
            "orders:read",
            "--scope",
            "orders:write",
        ],
    );
    assert_eq!(api["audience"], "https://orders.example");
    let client = cli_json(server, &["client", "create", "--name", "billing"]);
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "{id}"
    );
    assert!(secret.starts_with("gatehouse_cs_"), "{secret}");
    cli_json(
        server,
        &[
            "grant",
            "--client",
            &id,
            "--api",
            "orders",
            "--scope",
            "orders:read",
        ],
    );
    (id, secret)
}

#[test]
fn quickstart_with_cli_and_curl_issues_a_token() {
    let server = Server::spawn(Path::new(BIN), &[], &[]);
    let (id, secret) = setup_orders(&server);
    let (code, body) = curl_token(&server.url, &id, &secret, "https://orders.example");
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "orders:read");

    // The CLI's own token command, with the secret from a file.
    let dir = temp_dir();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, &secret).unwrap();
    let t = cli_json(
        &server,
        &[
            "token",
            "--client-id",
            &id,
            "--client-secret-file",
            secret_file.to_str().unwrap(),
            "--resource",
            "https://orders.example",
        ],
    );
    assert!(t["access_token"].as_str().unwrap().starts_with("ey"));

    // `--api` accepts the audience as well as the name.
    let g = cli_json(
        &server,
        &["grant", "list", "--api", "https://orders.example"],
    );
    assert_eq!(g["items"].as_array().unwrap().len(), 1);
}

#[test]
fn issuer_defaults_to_the_bound_address() {
    let server = Server::spawn(Path::new(BIN), &[], &[]);
    let (code, meta) = curl(&[&format!(
        "{}/.well-known/oauth-authorization-server",
        server.url
    )]);
    assert_eq!(code, 200);
    assert_eq!(meta["issuer"], server.url.as_str());
    assert_eq!(
        meta["token_endpoint"],
        format!("{}/oauth2/token", server.url)
    );
}

#[test]
#[cfg(unix)]
fn secrets_on_disk_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::spawn(Path::new(BIN), &[], &[]);
    for f in ["admin-token", "master.key"] {
        let mode = std::fs::metadata(server.data_dir.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    assert!(server.admin_token().starts_with("gatehouse_adm_"));
}

#[test]
fn usage_errors_exit_64_and_failures_exit_1() {
    let server = Server::spawn(Path::new(BIN), &[], &[]);
    let missing_flag = cli(
        &server,
        &["api", "create", "--audience", "https://x.example"],
    );
    assert_eq!(missing_flag.status.code(), Some(64));
    let grant_without_client = cli(&server, &["grant", "--api", "orders"]);
    assert_eq!(grant_without_client.status.code(), Some(64));
    cli_json(
        &server,
        &[
            "api",
            "create",
            "--name",
            "a",
            "--audience",
            "https://a.example",
        ],
    );
    let duplicate = cli(
        &server,
        &[
            "--json",
            "api",
            "create",
            "--name",
            "a",
            "--audience",
            "https://a.example",
        ],
    );
    assert_eq!(duplicate.status.code(), Some(1));
    assert!(duplicate.stdout.is_empty(), "nothing on stdout on failure");
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
    let unknown_client = cli(
        &server,
        &["grant", "--client", "nope", "--api", "a", "--scope", "x"],
    );
    assert_eq!(unknown_client.status.code(), Some(1));
}

#[test]
fn plain_http_off_loopback_is_refused_without_opt_in() {
    let dir = temp_dir();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--insecure-http"));
}

#[test]
fn bootstrap_admin_token_from_env_is_used_and_no_file_written() {
    let token = "ops-provided-token-0123456789abcdefghij";
    let server = Server::spawn(
        Path::new(BIN),
        &[],
        &[("GATEHOUSE_BOOTSTRAP_ADMIN_TOKEN", token)],
    );
    assert!(!server.data_dir.join("admin-token").exists());
    let out = Command::new(BIN)
        .args(["--server", &server.url, "--json", "api", "list"])
        .env("GATEHOUSE_ADMIN_TOKEN", token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn admin_token_rotate_replaces_the_file_and_the_old_token() {
    let server = Server::spawn(Path::new(BIN), &[], &[]);
    let old = server.admin_token();
    cli_json(&server, &["admin-token", "rotate"]);
    let new = server.admin_token();
    assert_ne!(old, new);
    let with_old = Command::new(BIN)
        .args(["--server", &server.url, "api", "list"])
        .env("GATEHOUSE_ADMIN_TOKEN", &old)
        .output()
        .unwrap();
    assert_eq!(with_old.status.code(), Some(1));
    cli_json(&server, &["api", "list"]);
}

#[test]
fn sigterm_drains_and_exits_cleanly() {
    let server = Server::spawn(Path::new(BIN), &[], &[]);
    assert!(server.terminate(), "server should exit 0 on SIGTERM");
}

#[test]
fn backup_restore_round_trip_keeps_clients_and_keys() {
    let server = Server::spawn(Path::new(BIN), &[], &[]);
    let (id, secret) = setup_orders(&server);
    let kids_before = kids(&server.url);
    let dir = temp_dir();
    let archive = dir.path().join("backup.tar.gz");
    let out = Command::new(BIN)
        .args(["--json", "backup", "--out"])
        .arg(&archive)
        .arg("--data-dir")
        .arg(&server.data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);

    let restored_dir = dir.path().join("restored");
    let restore = |force: bool| {
        let mut cmd = Command::new(BIN);
        cmd.args(["restore", "--from"])
            .arg(&archive)
            .arg("--data-dir")
            .arg(&restored_dir);
        if force {
            cmd.arg("--force");
        }
        cmd.output().unwrap()
    };
    let out = restore(false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        restore(false).status.code(),
        Some(1),
        "restore refuses to overwrite without --force"
    );
    assert!(restore(true).status.success());

    let restored = Server::spawn_in(Path::new(BIN), &restored_dir, &[], &[]);
    let (code, body) = curl_token(&restored.url, &id, &secret, "https://orders.example");
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        kids(&restored.url),
        kids_before,
        "same signing keys after restore"
    );
}

#[test]
fn cert_issue_writes_key_and_certificate_that_curl_uses_for_tls_client_auth() {
    let dir = temp_dir();
    let config = dir.path().join("gatehouse.toml");
    std::fs::write(
        &config,
        "[tls]\nlisten = \"127.0.0.1:0\"\nhosts = [\"localhost\"]\n",
    )
    .unwrap();
    let server = Server::spawn(Path::new(BIN), &["--config", config.to_str().unwrap()], &[]);
    let https = server
        .banner
        .iter()
        .find_map(|l| l.trim().strip_prefix("https:"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no https line in {:?}", server.banner))
        .to_owned();
    let port = https.rsplit(':').next().unwrap().to_owned();

    cli_json(
        &server,
        &[
            "api",
            "create",
            "--name",
            "orders",
            "--audience",
            "https://orders.example",
            "--scope",
            "orders:read",
        ],
    );
    let client = cli_json(
        &server,
        &[
            "client",
            "create",
            "--name",
            "billing",
            "--auth-method",
            "tls_client_auth",
            "--tls-san-dns",
            "billing.internal",
            "--dns",
            "billing.internal",
        ],
    );
    assert!(client.get("client_secret").is_none(), "{client}");
    let id = client["client_id"].as_str().unwrap().to_owned();
    cli_json(
        &server,
        &[
            "grant",
            "--client",
            &id,
            "--api",
            "orders",
            "--scope",
            "orders:read",
        ],
    );
    let out_dir = dir.path().join("certs");
    let issued = cli_json(
        &server,
        &[
            "cert",
            "issue",
            "--client",
            &id,
            "--dns",
            "billing.internal",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(
        issued["spiffe_id"],
        format!("spiffe://gatehouse.local/app/{id}")
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(out_dir.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "key.pem is private: {mode:o}");
    }
    let listed = cli_json(&server, &["cert", "list", "--client", &id]);
    assert_eq!(listed["items"][0]["serial"], issued["serial"]);

    let file = |n: &str| out_dir.join(n).display().to_string();
    let (code, body) = curl(&[
        "--cacert",
        &file("bundle.pem"),
        "--cert",
        &file("cert.pem"),
        "--key",
        &file("key.pem"),
        "--resolve",
        &format!("localhost:{port}:127.0.0.1"),
        "-d",
        "grant_type=client_credentials",
        "-d",
        &format!("client_id={id}"),
        "-d",
        "audience=https://orders.example",
        &format!("{https}/oauth2/token"),
    ]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");

    // After `cert revoke`, the same files no longer authenticate.
    let serial = issued["serial"].as_str().unwrap();
    cli_json(&server, &["cert", "revoke", serial]);
    let (code, body) = curl(&[
        "--cacert",
        &file("bundle.pem"),
        "--cert",
        &file("cert.pem"),
        "--key",
        &file("key.pem"),
        "--resolve",
        &format!("localhost:{port}:127.0.0.1"),
        "-d",
        "grant_type=client_credentials",
        "-d",
        &format!("client_id={id}"),
        &format!("{https}/oauth2/token"),
    ]);
    assert_eq!(code, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
}
