//! End-to-end: the real `gatehouse agent` binary next to a real `gatehouse serve`, driven with
//! curl as an application would: the env file (0600) gives the endpoint and the secret, the
//! token works, a wrong secret does not, SIGTERM stops the agent cleanly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use gatehouse_testkit::{Server, temp_dir};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

fn admin(server: &Server, args: &[&str]) -> Value {
    let out = Command::new(BIN)
        .arg("--server")
        .arg(&server.url)
        .arg("--admin-token-file")
        .arg(server.data_dir.join("admin-token"))
        .arg("--json")
        .args(args)
        .env_remove("GATEHOUSE_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
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

#[test]
fn the_agent_binary_serves_tokens_to_an_application_with_its_env_file() {
    let server = Server::spawn(Path::new(BIN), &[], &[]);
    admin(
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
    let c = admin(&server, &["client", "create", "--name", "orders-reader"]);
    let id = c["client_id"].as_str().unwrap();
    admin(
        &server,
        &[
            "grant",
            "--client",
            id,
            "--api",
            "orders",
            "--scope",
            "orders:read",
        ],
    );

    let dir = temp_dir();
    let secret_file = dir.path().join("agent-secret");
    std::fs::write(&secret_file, c["client_secret"].as_str().unwrap()).unwrap();
    let env_file = dir.path().join("identity.env");
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[agent]\nlisten = \"127.0.0.1:0\"\ntoken_endpoint = \"{}/oauth2/token\"\nclient_id = \"{id}\"\nclient_secret_file = \"{}\"\nenv_file = \"{}\"\n",
            server.url,
            secret_file.display(),
            env_file.display()
        ),
    )
    .unwrap();
    let mut agent = Command::new(BIN)
        .arg("agent")
        .arg("--config")
        .arg(&config)
        .env_remove("GATEHOUSE_AGENT_CLIENT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(agent.stdout.take().unwrap()).lines();
    let banner = lines.next().unwrap().unwrap();
    assert!(
        banner.starts_with("gatehouse agent listening on http://127.0.0.1:"),
        "{banner}"
    );
    let rest: Vec<String> = lines.map_while(Result::ok).take(3).collect();
    let secret_text = std::fs::read_to_string(&env_file).unwrap();
    let env: HashMap<&str, &str> = secret_text
        .lines()
        .filter_map(|l| l.split_once('='))
        .collect();
    assert!(
        !rest
            .iter()
            .chain([&banner])
            .any(|l| l.contains(env["IDENTITY_HEADER"])),
        "the secret is never printed"
    );
    let mode = std::fs::metadata(&env_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let base = env["GATEHOUSE_AGENT_URL"];
    let url = format!("{base}/v1/token?audience=https://orders.example");
    let (status, body) = curl(&[
        "-H",
        &format!("X-IDENTITY-HEADER: {}", env["IDENTITY_HEADER"]),
        &url,
    ]);
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    // The token is the authorization server's, for orders.
    let (status, intro) = curl(&[
        "-H",
        &format!("Authorization: Bearer {}", server.admin_token()),
        "-d",
        &format!("token={token}"),
        &format!("{}/oauth2/introspect", server.url),
    ]);
    assert_eq!(status, 200);
    assert_eq!(intro["active"], true, "{intro}");
    assert_eq!(intro["aud"], "https://orders.example");
    let (status, _) = curl(&["-H", "X-IDENTITY-HEADER: wrong", &url]);
    assert_eq!(status, 400);
    let (status, app_service) = curl(&[
        "-H",
        &format!("X-IDENTITY-HEADER: {}", env["IDENTITY_HEADER"]),
        &format!(
            "{}?api-version=2019-08-01&resource=https://orders.example",
            env["IDENTITY_ENDPOINT"]
        ),
    ]);
    assert_eq!(status, 200, "{app_service}");
    assert_eq!(
        app_service["access_token"], token,
        "one cache behind every front door"
    );

    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(agent.id().to_string())
        .status();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(agent.wait());
    });
    let status = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the agent stops within 10 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(server.terminate());
}
