//! End-to-end: `gatehouse client api-key create|list|revoke` against the real binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use std::path::Path;
use std::process::{Command, Output};

use gatehouse_keys::secret::{SecretKind, check_format};
use gatehouse_testkit::Server;
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
    assert_eq!(text.lines().count(), 1, "one line of JSON: {text:?}");
    let v: Value = serde_json::from_str(&text).expect("stdout is JSON");
    assert!(v.is_object(), "a JSON object: {v}");
    v
}

#[test]
fn api_key_create_list_revoke_print_one_json_object_and_exit_codes() {
    let server = Server::spawn(Path::new(BIN), &[], &[]);
    let client = cli_json(&server, &["client", "create", "--name", "billing"]);
    let id = client["client_id"].as_str().unwrap();

    let created = cli_json(
        &server,
        &["client", "api-key", "create", id, "--expires-in", "90d"],
    );
    let key = created["api_key"].as_str().unwrap();
    check_format(SecretKind::ApiKey, key).unwrap();
    assert!(created["expires_at"].is_i64(), "{created}");
    let key_id = created["id"].as_str().unwrap();

    let listed = cli_json(&server, &["client", "api-key", "list", id]);
    assert!(!listed.to_string().contains(key), "the key is shown once");
    assert_eq!(listed["items"][0]["id"], key_id);
    assert_eq!(listed["items"][0]["valid"], true);

    let revoked = cli_json(&server, &["client", "api-key", "revoke", id, key_id]);
    assert_eq!(revoked["revoked"]["key_id"], key_id);
    let listed = cli_json(&server, &["client", "api-key", "list", id]);
    assert_eq!(listed["items"][0]["valid"], false);
    assert!(listed["items"][0]["revoked_at"].is_i64());

    // The human form shows the key once, with a warning.
    let human = cli(&server, &["client", "api-key", "create", id]);
    assert!(human.status.success());
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(
        text.contains("gatehouse_ak_") && text.contains("shown once"),
        "{text}"
    );

    // Usage errors exit 64, failures exit 1 with nothing on stdout.
    let missing = cli(&server, &["client", "api-key", "revoke", id]);
    assert_eq!(missing.status.code(), Some(64));
    for args in [
        [
            "--json",
            "client",
            "api-key",
            "create",
            id,
            "--expires-in",
            "soon",
        ]
        .as_slice(),
        &["--json", "client", "api-key", "revoke", id, "ak_missing"],
        &["--json", "client", "api-key", "list", "app_missing"],
    ] {
        let out = cli(&server, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}
