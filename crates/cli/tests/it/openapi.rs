//! The admin API's OpenAPI document (`GET /admin/v1/openapi.json`) is exact: it lists every
//! route the server answers under `/admin/v1` with exactly the methods it answers, and
//! `schemathesis` (property-based testing from the document) finds no server error and no
//! answer that breaks the document — status code, content type, headers or body schema.
//!
//! schemathesis must be installed in `target/schemathesis-venv` (`.ci/run` creates it, or
//! `python3 -m venv target/schemathesis-venv && target/schemathesis-venv/bin/pip install
//! schemathesis`). Without it the test fails under `CI` and says `SKIPPED` elsewhere.

use std::path::PathBuf;
use std::time::Duration;

use crate::common;

use common::{ORDERS, TestServer, header_str, json_body};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

/// The methods a route may have; each documented one must be answered, each other one
/// refused with 405.
const METHODS: [(&str, Method); 5] = [
    ("get", Method::GET),
    ("post", Method::POST),
    ("put", Method::PUT),
    ("patch", Method::PATCH),
    ("delete", Method::DELETE),
];

/// Longest a schemathesis run may take (a debug build on two cores needs about a minute).
const SCHEMATHESIS_BOUND: Duration = Duration::from_secs(240);

/// Operations schemathesis must not call, each with its reason.
const EXCLUDED: &[(&str, &str)] = &[(
    "rotate_admin_token",
    "it replaces the admin token the run authenticates with",
)];

async fn document(s: &TestServer) -> Value {
    let resp = s
        .http
        .get(s.at("/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header_str(&resp, header::CONTENT_TYPE),
        Some("application/json")
    );
    json_body(resp).await
}

/// `{name}` segments filled with a value no record has.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "no-such-record"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A server whose admin API has no practical rate limit: these tests send thousands of
/// requests from one address.
async fn unlimited_server() -> TestServer {
    TestServer::start_with_config(
        "[client_auth]\nlockout_max_failures = 1000\n\
         [admin]\nrate_limit_per_second = 1000000\nrate_limit_burst = 1000000\n",
    )
    .await
}

#[tokio::test]
async fn openapi_document_lists_exactly_the_methods_every_admin_path_answers() {
    let s = unlimited_server().await;
    let doc = document(&s).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        assert!(path.starts_with("/admin/v1/"), "{path}");
        let url = s.at(&concrete(path));
        for (name, method) in METHODS {
            // A documented method is probed without credentials (changing nothing): its route
            // answers (401 from its guard, 400 or 200 from an open one), where a path without
            // a route answers the fallback's 404 "route not found". Any other method is probed
            // with the admin token, past the guard, and must be refused with 405.
            let documented = item.get(name).is_some();
            let req = if documented {
                s.http.request(method.clone(), &url)
            } else {
                s.http
                    .request(method.clone(), &url)
                    .bearer_auth(&s.admin_token)
            };
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let body = resp.text().await.unwrap();
            let fallback = status == StatusCode::NOT_FOUND && body.contains("route not found");
            if documented {
                operations += 1;
                assert!(
                    status != StatusCode::METHOD_NOT_ALLOWED && !fallback,
                    "{method} {path} is documented but not served: {status} {body}"
                );
                let op = &item[name];
                assert!(op["operationId"].is_string(), "{method} {path}: {op}");
                if path != "/admin/v1/openapi.json"
                    && !(path == "/admin/v1/session" && name == "post")
                {
                    assert!(
                        op["security"].as_array().is_some_and(|s| !s.is_empty()),
                        "{method} {path} has no security requirement"
                    );
                    assert!(op["responses"]["401"].is_object(), "{method} {path}");
                }
                assert!(op["responses"]["500"].is_object(), "{method} {path}");
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is served but not documented: {body}"
                );
            }
        }
    }
    // The other direction (every route the router has is in the document) holds by
    // construction: routes are added only through `routes!`, which needs the handler's
    // `#[utoipa::path]` (crates/manage/src/routes/doc.rs has the test that keeps it so).
    assert!(
        operations >= 84,
        "only {operations} operations in the document"
    );
    let ids: std::collections::BTreeSet<&str> = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    assert_eq!(ids.len(), operations, "operation ids are unique");
    // Unknown paths under /admin/v1 are the fallback's problem, not a route.
    let resp = s
        .admin(Method::GET, "/admin/v1/no-such-route")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        header_str(&resp, header::CONTENT_TYPE),
        Some("application/problem+json")
    );
    s.stop().await;
}

/// The schemathesis in `target/schemathesis-venv`; `None` (said loudly) outside CI.
fn schemathesis() -> Option<PathBuf> {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/schemathesis-venv/bin/schemathesis");
    if bin.exists() {
        return Some(bin);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "schemathesis is required in CI: .ci/run creates target/schemathesis-venv"
    );
    eprintln!(
        "SKIPPED: schemathesis is not installed (python3 -m venv target/schemathesis-venv && \
         target/schemathesis-venv/bin/pip install schemathesis)"
    );
    None
}

/// Seeds an API with plans and policies, a client with a grant and an API key, a developer
/// with an application subscribed to the API; returns the values schemathesis should use
/// for each path parameter (besides what it generates).
async fn seed(s: &TestServer) -> Value {
    let api = s
        .create_api("orders", ORDERS, &["orders:read", "orders:write"])
        .await;
    let client = s.create_client("billing", "client_secret_basic").await;
    s.grant(&client.id, "orders", &["orders:read"]).await;
    let call = |method: Method, path: String, body: Value| async move {
        let (status, v) = s.admin_json(method.clone(), &path, Some(body)).await;
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    };
    let key = call(
        Method::POST,
        format!("/admin/v1/clients/{}/api-keys", client.id),
        json!({}),
    )
    .await;
    let user = call(
        Method::POST,
        "/admin/v1/users".into(),
        json!({"email": "dev@example.com", "name": "Dev", "role": "developer",
            "password": "correct horse battery staple"}),
    )
    .await;
    for (plan, approval) in [("free", false), ("gold", true)] {
        call(
            Method::PUT,
            format!("/admin/v1/apis/orders/plans/{plan}"),
            json!({"scopes": ["orders:read"], "requires_approval": approval}),
        )
        .await;
    }
    let app = call(
        Method::POST,
        "/admin/v1/applications".into(),
        json!({"name": "shop", "owner": "dev@example.com"}),
    )
    .await;
    let app_id = app["client_id"].as_str().unwrap().to_owned();
    let sub = call(
        Method::POST,
        format!("/admin/v1/applications/{app_id}/subscriptions"),
        json!({"api": "orders", "plan": "gold"}),
    )
    .await;
    let module = "package orders\nimport rego.v1\n\ndefault allow := true\n";
    for path in [
        "/admin/v1/policies/global",
        "/admin/v1/apis/orders/policy",
        "/admin/v1/apis/orders/operations/list/policy",
    ] {
        call(Method::PUT, path.into(), json!({"module": module})).await;
    }
    let keys = call(Method::GET, "/admin/v1/keys".into(), Value::Null).await;
    json!({
        "api": ["orders", api["id"], ORDERS],
        "id": [client.id, app_id, user["user"]["id"], "dev@example.com", sub["id"]],
        "client": [client.id, app_id],
        "key": [key["id"]],
        "kid": [keys["items"][0]["kid"]],
        "op": ["list"],
        "plan": ["free", "gold"],
        "serial": ["0a1b2c"],
    })
}

/// schemathesis' configuration: each path parameter takes a seeded value most of the time,
/// and a generated one otherwise.
fn config(values: &Value) -> String {
    let mut dictionaries = String::new();
    let mut parameters = String::from("[parameters]\n");
    for (name, v) in values.as_object().unwrap() {
        dictionaries.push_str(&format!("[dictionaries.{name}]\nvalues = {v}\n"));
        parameters.push_str(&format!(
            "\"path.{name}\" = {{ dictionary = \"{name}\", probability = 0.8 }}\n"
        ));
    }
    format!("{dictionaries}{parameters}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let Some(bin) = schemathesis() else { return };
    let s = unlimited_server().await;
    let values = seed(&s).await;
    let dir = gatehouse_testkit::temp_dir();
    let config_file = dir.path().join("schemathesis.toml");
    std::fs::write(&config_file, config(&values)).unwrap();
    // Everything but deletions first, so the seeded records stay for every other operation;
    // then the deletions.
    for methods in [
        ["--exclude-method", "DELETE"],
        ["--include-method", "DELETE"],
    ] {
        let mut cmd = tokio::process::Command::new(&bin);
        cmd.arg("--config-file")
            .arg(&config_file)
            .arg("--no-color")
            .arg("run")
            .arg(s.at("/admin/v1/openapi.json"))
            .arg("--header")
            .arg(format!("Authorization: Bearer {}", s.admin_token))
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,\
                 response_headers_conformance,response_schema_conformance",
                "--max-examples",
                "60",
                "--seed",
                "1",
                "--workers",
                "2",
                "--generation-with-security-parameters",
                "false",
                "--generation-database",
                "none",
                "--request-timeout",
                "30",
            ])
            .args(methods);
        for (id, _why) in EXCLUDED {
            cmd.args(["--exclude-operation-id", id]);
        }
        cmd.current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("LANG", "C.UTF-8")
            .env("NO_PROXY", "*")
            .kill_on_drop(true);
        let run = tokio::time::timeout(SCHEMATHESIS_BOUND, cmd.output()).await;
        let out = run
            .unwrap_or_else(|_| panic!("schemathesis ran longer than {SCHEMATHESIS_BOUND:?}"))
            .expect("schemathesis runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!("{stdout}");
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            out.status.success(),
            "schemathesis ({methods:?}) found problems (exit {:?}); see its report above",
            out.status.code()
        );
        // It really tested the API.
        assert!(stdout.contains(" passed"), "no summary in: {stdout}");
    }
    s.stop().await;
}

/// Found by schemathesis: `to=-9223372036854775808` overflowed the default range (a panic,
/// so a dropped connection) instead of being refused.
#[tokio::test]
async fn usage_ranges_outside_year_0_to_9999_are_refused_not_a_crash() {
    let s = TestServer::start().await;
    let client = s.orders_with_client().await;
    for query in [
        "to=-9223372036854775808",
        "from=-9223372036854775808",
        "from=0&to=9223372036854775807",
        "to=253402300800",
    ] {
        for path in [
            format!("/admin/v1/clients/{}/usage?{query}", client.id),
            format!("/admin/v1/apis/orders/usage?{query}"),
            format!("/admin/v1/applications/{}/usage?{query}", client.id),
        ] {
            let resp = s.admin(Method::GET, &path).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(
                header_str(&resp, header::CONTENT_TYPE),
                Some("application/problem+json")
            );
        }
    }
    let resp = s
        .admin(
            Method::GET,
            &format!("/admin/v1/clients/{}/usage?from=0&to=86400", client.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    s.stop().await;
}

/// Found by schemathesis (`--checks all`): a JSON array was read as the object's members in
/// order, so `PATCH /admin/v1/applications/{id}` with `[null, null]` answered 200.
#[tokio::test]
async fn a_json_array_body_is_refused_not_read_as_an_object() {
    let s = TestServer::start().await;
    let client = s.orders_with_client().await;
    for (method, path, body) in [
        (
            Method::POST,
            "/admin/v1/apis".to_owned(),
            "[\"x\", \"https://x.example\"]",
        ),
        (
            Method::POST,
            format!("/admin/v1/clients/{}/rotate-secret", client.id),
            "[]",
        ),
        (Method::POST, "/admin/v1/keys/rotate".to_owned(), "[null]"),
        (Method::PUT, "/admin/v1/grants".to_owned(), "\"orders\""),
    ] {
        let resp = s
            .admin(method.clone(), &path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::BAD_REQUEST,
            "{method} {path} {body}"
        );
        let problem = json_body(resp).await;
        assert_eq!(problem["detail"], "the request body must be a JSON object");
    }
    // An optional body may still be empty or null.
    for body in ["", "null"] {
        let resp = s
            .admin(
                Method::POST,
                &format!("/admin/v1/clients/{}/rotate-secret", client.id),
            )
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{body:?}");
    }
    s.stop().await;
}
