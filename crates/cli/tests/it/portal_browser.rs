//! The developer portal end to end in real Chromium: `tests/e2e/portal.mjs` (playwright-core
//! from npm, driving the Debian `chromium`) against a real server and gateway. A developer
//! signs in, creates an application, subscribes; the owner approves; the developer copies the
//! API key with the Copy button; a request through the gateway succeeds; the owner sees it in
//! the usage chart. Screenshots of every page land in `target/e2e-screenshots/`.
//!
//! Needs `node`, `chromium` (or `CHROMIUM=/path`) and `tests/e2e/node_modules` (`npm ci` in
//! `tests/e2e`); `.ci/run` installs them. Without them the test fails under `CI` and says
//! `SKIPPED` otherwise.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    reason = "integration tests and their helpers: a broken expectation must fail loudly"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common;

use crate::portal_pages::{PASSWORD, create_user, gateway_config};
use common::{ORDERS, TestServer};
use gatehouse_testkit::echo::Echo;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The browser and the script's modules, or why they are missing.
fn prerequisites() -> Result<(PathBuf, PathBuf), String> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                .into_iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        })
        .ok_or("no chromium (apt-get install chromium, or set CHROMIUM)")?;
    let e2e = repo_root().join("tests/e2e");
    if !e2e.join("node_modules/playwright-core").exists() {
        return Err("tests/e2e/node_modules is missing (cd tests/e2e && npm ci)".into());
    }
    Ok((chromium, e2e))
}

async fn run_phase(s: &TestServer, chromium: &Path, e2e: &Path, phase: &str) -> String {
    let shots = repo_root().join("target/e2e-screenshots");
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(e2e.join("portal.mjs"))
        .current_dir(e2e)
        .env("PORTAL", s.at("").trim_end_matches('/'))
        .env("GATEWAY", s.gw("").trim_end_matches('/'))
        .env("CHROMIUM", chromium)
        .env("SHOTS", &shots)
        .env("PASSWORD", PASSWORD)
        .env("PHASE", phase)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("the browser run finishes within 120 s")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "portal.mjs {phase} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_developer_and_an_owner_use_the_portal_in_chromium() {
    let (chromium, e2e) = match prerequisites() {
        Ok(p) => p,
        Err(why) if std::env::var_os("CI").is_some() => panic!("portal browser test: {why}"),
        Err(why) => {
            eprintln!("SKIPPED portal browser test: {why}");
            return;
        }
    };
    let echo = Echo::start().await;
    let s = TestServer::start_with_config(&gateway_config(&echo)).await;
    create_user(&s, "owner@example.com").await;
    create_user(&s, "dev@example.com").await;
    s.create_api("orders", ORDERS, &["orders:read"]).await;
    let (status, v) = s
        .admin_json(
            Method::PUT,
            "/admin/v1/apis/orders/listing",
            Some(
                json!({"description": "Orders of the shop: list, read and create orders.",
                "credentials": ["api_key"], "owners": ["owner@example.com"],
                "docs_url": "https://docs.example/orders"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    for (plan, approval) in [("free", false), ("gold", true)] {
        let (status, v) = s
            .admin_json(
                Method::PUT,
                &format!("/admin/v1/apis/orders/plans/{plan}"),
                Some(
                    json!({"scopes": ["orders:read"], "requires_approval": approval,
                    "rate_limit_per_second": 20, "daily_quota": 10000,
                    "description": format!("The {plan} plan")}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }

    let out = run_phase(&s, &chromium, &e2e, "subscribe").await;
    assert!(out.contains(r#""gateway_status":200"#), "{out}");
    s.flush_usage().await;
    let out = run_phase(&s, &chromium, &e2e, "usage").await;
    assert!(out.contains(r#""ok":true"#), "{out}");
}
