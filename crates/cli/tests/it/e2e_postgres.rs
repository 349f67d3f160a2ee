//! End-to-end on PostgreSQL: the real binary with `--database-url postgres://…` serves the
//! whole flow, and a second server on the same database sees the first one's clients and keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use std::path::Path;
use std::process::Command;

use gatehouse_testkit::{Server, temp_dir};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

fn base_url() -> String {
    std::env::var("GATEHOUSE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn psql(sql: &str) -> bool {
    Command::new("psql")
        .arg(base_url())
        .args(["-v", "ON_ERROR_STOP=1", "-qc", sql])
        .status()
        .is_ok_and(|s| s.success())
}

/// A fresh schema, dropped on drop; `None` (with a loud line) when skipping is allowed.
struct Schema(String);

impl Schema {
    fn create() -> Option<Self> {
        let name = format!(
            "gh_e2e_{}_{}",
            std::process::id(),
            gatehouse_keys::secret::random_base62(8).to_lowercase()
        );
        if psql(&format!("CREATE SCHEMA {name}")) {
            return Some(Self(name));
        }
        if std::env::var("GATEHOUSE_SKIP_POSTGRES").as_deref() == Ok("1") {
            eprintln!("SKIPPED: PostgreSQL not available at {}", base_url());
            return None;
        }
        panic!(
            "PostgreSQL is not reachable at {} (psql failed); set GATEHOUSE_SKIP_POSTGRES=1 to skip",
            base_url()
        );
    }

    fn url(&self) -> String {
        let sep = if base_url().contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", base_url(), self.0)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        psql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0));
    }
}

fn run(server: &Server, token_file: &Path, args: &[&str]) -> Value {
    let out = Command::new(BIN)
        .args(["--json", "--server", &server.url, "--admin-token-file"])
        .arg(token_file)
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

#[test]
fn two_servers_on_one_postgres_database_share_clients_and_keys() {
    let Some(schema) = Schema::create() else {
        return;
    };
    let url = schema.url();
    let key = "bWFzdGVyLWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OWE=";
    let env = [("GATEHOUSE_MASTER_KEY", key)];
    // Replicas share one issuer (their listen addresses differ).
    let args = [
        "--database-url",
        url.as_str(),
        "--issuer",
        "https://auth.gatehouse.test",
    ];
    let one = Server::spawn(Path::new(BIN), &args, &env);
    let token_file = one.data_dir.join("admin-token");
    run(
        &one,
        &token_file,
        &[
            "api",
            "create",
            "--name",
            "orders",
            "--audience",
            "https://orders.example",
            "--scope",
            "r",
        ],
    );
    let client = run(&one, &token_file, &["client", "create", "--name", "svc"]);
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    run(
        &one,
        &token_file,
        &["grant", "--client", id, "--api", "orders", "--scope", "r"],
    );

    // A second replica with its own data dir, the same database and master key.
    let dir = temp_dir();
    let two = Server::spawn_in(Path::new(BIN), &dir.path().join("two"), &args, &env);
    assert!(
        !two.data_dir.join("admin-token").exists(),
        "the admin token already exists in the database"
    );
    let token: Value = {
        let out = Command::new("curl")
            .args([
                "-s",
                "-u",
                &format!("{id}:{secret}"),
                "-d",
                "grant_type=client_credentials",
            ])
            .arg(format!("{}/oauth2/token", two.url))
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(token["scope"], "r", "{token}");
    let jwks = |s: &Server| -> Value {
        let out = Command::new("curl")
            .args(["-s", &format!("{}/.well-known/jwks.json", s.url)])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(
        jwks(&one),
        jwks(&two),
        "both replicas publish the same JWKS"
    );
    // Replica one accepts what replica two signed (introspection by the client itself).
    let introspect = |s: &Server| -> Value {
        let out = Command::new("curl")
            .args(["-s", "-u", &format!("{id}:{secret}"), "-d"])
            .arg(format!("token={}", token["access_token"].as_str().unwrap()))
            .arg(format!("{}/oauth2/introspect", s.url))
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(introspect(&two)["active"], true, "{}", introspect(&two));
    assert_eq!(introspect(&one)["active"], true, "{}", introspect(&one));
}
