//! End-to-end: `gatehouse policy` with the real binary — local tests (the examples of
//! docs/policies.md, which must be the files CI tests), an owner's pipeline uploading a policy
//! with its own token, and the exit codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gatehouse_testkit::{Server, temp_dir};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the CLI against `server` with `token` as the bearer (admin or owner token).
fn cli(server: Option<&Server>, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("GATEHOUSE_ADMIN_TOKEN")
        .env_remove("GATEHOUSE_SERVER");
    if let Some(s) = server {
        cmd.arg("--server").arg(&s.url);
        match token {
            Some(t) => {
                cmd.env("GATEHOUSE_ADMIN_TOKEN", t);
            }
            None => {
                cmd.arg("--admin-token-file")
                    .arg(s.data_dir.join("admin-token"));
            }
        }
    }
    cmd.args(args).output().expect("run gatehouse")
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

#[test]
fn the_example_policies_pass_their_tests_and_are_the_ones_the_guide_shows() {
    let examples = repo().join("examples/policies");
    let out = cli(
        None,
        None,
        &["--json", "policy", "test", examples.to_str().unwrap()],
    );
    let report = json(&out);
    assert_eq!(report["passed"], true);
    assert!(report["results"].as_array().unwrap().len() >= 9, "{report}");

    // Every ```rego block of the guide is one of the tested files, verbatim.
    let guide = std::fs::read_to_string(repo().join("docs/policies.md")).unwrap();
    let files: Vec<String> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rego"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let blocks: Vec<&str> = guide
        .split("```rego\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 3, "the guide shows its examples");
    for block in blocks {
        assert!(
            files.iter().any(|f| f == block),
            "a rego block of docs/policies.md is not in examples/policies:\n{block}"
        );
    }
}

#[test]
fn failing_and_broken_policy_tests_exit_1_with_the_reason() {
    let dir = temp_dir();
    std::fs::write(
        dir.path().join("p.rego"),
        "package p\nimport rego.v1\nallow if input.x == 1\ntest_allows if allow with input as {\"x\": 1}\ntest_wrong if allow with input as {\"x\": 2}\n",
    )
    .unwrap();
    let out = cli(
        None,
        None,
        &["policy", "test", dir.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("PASS: data.p.test_allows"), "{stdout}");
    assert!(stdout.contains("FAIL: data.p.test_wrong"), "{stdout}");
    // --run keeps only the passing one.
    let out = cli(
        None,
        None,
        &[
            "policy",
            "test",
            dir.path().to_str().unwrap(),
            "--run",
            "allows",
        ],
    );
    assert!(out.status.success());

    std::fs::write(dir.path().join("broken.rego"), "package q\nallow if {\n").unwrap();
    let out = cli(
        None,
        None,
        &["policy", "test", dir.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.rego"), "{stderr}");

    let empty = temp_dir();
    let out = cli(
        None,
        None,
        &["policy", "test", empty.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "no tests is not a pass");
}

#[test]
fn an_owner_pipeline_uploads_its_policy_with_its_own_token() {
    let server = Server::spawn(Path::new(BIN), &[], &[]);
    let admin = |args: &[&str]| {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        json(&cli(Some(&server), None, &full))
    };
    admin(&[
        "api",
        "create",
        "--name",
        "orders",
        "--audience",
        "https://orders.example",
        "--scope",
        "orders:read",
    ]);
    admin(&[
        "api",
        "create",
        "--name",
        "payments",
        "--audience",
        "https://payments.example",
        "--scope",
        "pay",
    ]);
    let ci = admin(&["client", "create", "--name", "orders-ci"]);
    let id = ci["client_id"].as_str().unwrap();
    let secret = ci["client_secret"].as_str().unwrap();
    let api = admin(&["api", "set-owners", "orders", "--client", id]);
    assert_eq!(api["owners"][0], id);
    admin(&[
        "grant",
        "--client",
        id,
        "--api",
        "gatehouse-policies",
        "--scope",
        "policies:write",
    ]);

    // The pipeline's token, from the token endpoint with curl.
    let out = Command::new("curl")
        .args(["-s", "-u", &format!("{id}:{secret}")])
        .args([
            "-d",
            "grant_type=client_credentials",
            "-d",
            "resource=urn:gatehouse:policies",
        ])
        .arg(format!("{}/oauth2/token", server.url))
        .output()
        .expect("curl is installed");
    let token: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = token["access_token"].as_str().unwrap();

    let examples = repo().join("examples/policies");
    let policy = examples.join("tenancy.rego");
    let data = examples.join("data.json");
    let owner = |args: &[&str]| cli(Some(&server), Some(token), args);
    let put = owner(&[
        "--json",
        "policy",
        "put",
        "--api",
        "orders",
        policy.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--if-version",
        "0",
    ]);
    let v = json(&put);
    assert_eq!(v["version"], 1);
    assert_eq!(v["updated_by"], format!("owner:{id}"));
    assert_eq!(v["data"]["orders"]["admins"][0], "app_admin");

    // Not its API: refused, exit 1 with the admin API's reason.
    let other = owner(&[
        "policy",
        "put",
        "--api",
        "payments",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(other.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&other.stderr).contains("not an owner"));

    // A policy that does not compile: refused with the compiler's line.
    let dir = temp_dir();
    let bad = dir.path().join("bad.rego");
    std::fs::write(&bad, "package orders.p\nimport rego.v1\nallow if {\n").unwrap();
    let out = owner(&["policy", "put", "--api", "orders", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("policy refused"));

    let shown = json(&owner(&["--json", "policy", "show", "--api", "orders"]));
    assert_eq!(shown["version"], 1);
    let listed = json(&owner(&["--json", "policy", "list"]));
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let versions = json(&owner(&["--json", "policy", "versions", "--api", "orders"]));
    assert_eq!(versions["items"].as_array().unwrap().len(), 1);
    let decisions = json(&owner(&[
        "--json",
        "policy",
        "decisions",
        "--api",
        "orders",
    ]));
    assert!(decisions["items"].as_array().unwrap().is_empty());
    json(&owner(&["--json", "policy", "delete", "--api", "orders"]));
    let gone = owner(&["policy", "show", "--api", "orders"]);
    assert_eq!(gone.status.code(), Some(1));
    // --api is required unless --global.
    assert_eq!(owner(&["policy", "show"]).status.code(), Some(64));
}
