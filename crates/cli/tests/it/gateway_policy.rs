//! Rego policies at the gateway: decisions on claims, path parameters, methods, time and data
//! documents; updates that apply to the next request; uploads refused with the compiler's
//! message; runtime errors under both failure modes; owners confined to their own APIs;
//! per-caller caching; the decision log; forward-auth.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code fails loudly"
)]

use crate::common;

use common::{ORDERS, TestClient, TestServer, json_body};
use gatehouse_testkit::echo::Echo;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Tenants' orders, a create operation and a public health check, on the echo upstream.
async fn start(echo: &Echo) -> TestServer {
    let toml = format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
forward_auth = {{ trusted_peers = ["127.0.0.1/32"] }}
[[gateway.apis]]
api = "orders"
upstreams = ["{}"]
[[gateway.apis.routes]]
operation = "list"
path = "/tenants/{{tenant}}/orders"
methods = ["GET"]
[[gateway.apis.routes]]
operation = "create"
path = "/tenants/{{tenant}}/orders"
methods = ["POST"]
[[gateway.apis.routes]]
operation = "health"
path = "/health"
accept = ["none"]
"#,
        echo.url()
    );
    let s = TestServer::start_with_config(&toml).await;
    s.create_api_json(json!({
        "name": "orders", "audience": ORDERS,
        "scopes": ["orders:read", "orders:write"],
        "copy_metadata": ["tenant"],
    }))
    .await;
    s
}

/// An application of `tenant` granted `scopes` on orders, and a token for it.
async fn tenant_app(s: &TestServer, tenant: &str, scopes: &[&str]) -> (TestClient, String) {
    let c = s
        .create_client_json(json!({
            "name": format!("{tenant}-app"),
            "metadata": {"tenant": tenant},
        }))
        .await;
    s.grant(&c.id, "orders", scopes).await;
    let t = s.access_token(&c, &[("resource", ORDERS)]).await;
    (c, t)
}

async fn put_policy(s: &TestServer, path: &str, body: Value) -> (StatusCode, Value) {
    s.admin_json(Method::PUT, path, Some(body)).await
}

async fn get(s: &TestServer, path: &str, token: &str) -> reqwest::Response {
    s.http
        .get(s.gw(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

const TENANT_POLICY: &str = r#"package orders.tenancy
import rego.v1

default allow := false

allow if {
    input.principal.claims.tenant == input.request.params.tenant
    "orders:read" in input.principal.scopes
}
"#;

#[tokio::test]
async fn tenant_claim_must_match_the_path_parameter() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let (_, acme) = tenant_app(&s, "acme", &["orders:read"]).await;
    let (status, p) = put_policy(
        &s,
        "/admin/v1/apis/orders/policy",
        json!({"module": TENANT_POLICY}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(p["version"], 1);

    assert_eq!(get(&s, "/tenants/acme/orders", &acme).await.status(), 200);
    let r = get(&s, "/tenants/globex/orders", &acme).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body = json_body(r).await;
    assert_eq!(body["detail"], "denied by policy");
    // The public operation is under the API policy too: it has no principal, so it is denied.
    let r = s.http.get(s.gw("/health")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    s.stop().await;
}

#[tokio::test]
async fn operation_policy_adds_to_the_api_policy_and_can_use_methods_data_and_status() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let (_, acme) = tenant_app(&s, "acme", &["orders:read", "orders:write"]).await;
    let (_, reader) = tenant_app(&s, "acme", &["orders:read"]).await;
    put_policy(
        &s,
        "/admin/v1/apis/orders/policy",
        json!({"module": TENANT_POLICY}),
    )
    .await;
    // Writes need a role from the data document, and answer 429 with a reason otherwise.
    let create = r#"package orders.create
import rego.v1

decision := {"allow": true, "headers": {"x-order-quota": "standard"}} if {
    input.request.method == "POST"
    some role in data.writers
    role in input.principal.scopes
}

decision := {"allow": false, "status": 429, "reason": "writes are limited to writers"} if {
    not writer
}

writer if {
    some role in data.writers
    role in input.principal.scopes
}
"#;
    let (status, p) = put_policy(
        &s,
        "/admin/v1/apis/orders/operations/create/policy",
        json!({"module": create, "data": {"writers": ["orders:write"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");

    let post = |token: String| {
        let s = &s;
        async move {
            s.http
                .post(s.gw("/tenants/acme/orders"))
                .bearer_auth(token)
                .header("x-order-quota", "spoofed")
                .send()
                .await
                .unwrap()
        }
    };
    let r = post(acme.clone()).await;
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(
        seen["headers"]["x-order-quota"], "standard",
        "the policy's header replaces the caller's"
    );
    let r = post(reader.clone()).await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        json_body(r).await["detail"],
        "writes are limited to writers"
    );
    // The list operation is not under the create policy.
    assert_eq!(get(&s, "/tenants/acme/orders", &reader).await.status(), 200);
    s.stop().await;
}

#[tokio::test]
async fn time_based_policy_follows_the_gateway_clock() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let (_, acme) = tenant_app(&s, "acme", &["orders:read"]).await;
    let until = s.now() + 600;
    let module = format!(
        "package orders.window\nimport rego.v1\nallow if input.time.unix < {until}\n\
         allow if time.weekday(input.time.unix_ns) == \"Never\"\n"
    );
    let (status, p) = put_policy(
        &s,
        "/admin/v1/apis/orders/policy",
        json!({"module": module}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(get(&s, "/tenants/acme/orders", &acme).await.status(), 200);
    s.advance(601);
    // The token (default 1h lifetime) is still valid; the policy's window is over.
    assert_eq!(get(&s, "/tenants/acme/orders", &acme).await.status(), 403);
    s.stop().await;
}

#[tokio::test]
async fn an_update_applies_to_the_next_request_and_a_bad_upload_changes_nothing() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let (_, acme) = tenant_app(&s, "acme", &["orders:read"]).await;
    let path = "/admin/v1/apis/orders/policy";
    let allow_all = "package orders.p\nimport rego.v1\nallow := true\n";
    let deny_all = "package orders.p\nimport rego.v1\nallow := false\n";
    put_policy(&s, path, json!({"module": allow_all})).await;
    assert_eq!(get(&s, "/tenants/acme/orders", &acme).await.status(), 200);

    // The same policy again is not a new version.
    let (status, p) = put_policy(&s, path, json!({"module": allow_all})).await;
    assert_eq!((status, p["version"].clone()), (StatusCode::OK, json!(1)));

    let (status, p) = put_policy(&s, path, json!({"module": deny_all, "if_version": 1})).await;
    assert_eq!((status, p["version"].clone()), (StatusCode::OK, json!(2)));
    assert_eq!(get(&s, "/tenants/acme/orders", &acme).await.status(), 403);

    // A stale writer is refused.
    let (status, _) = put_policy(&s, path, json!({"module": allow_all, "if_version": 1})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Malformed: refused with the compiler's message (line 3), version 2 stays in force.
    let broken = "package orders.p\nimport rego.v1\nallow if { input.x == }\n";
    let (status, p) = put_policy(&s, path, json!({"module": broken})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("policy refused") && detail.contains(":3:"),
        "{detail}"
    );
    for bad in [
        json!({"module": "package orders.p\nimport rego.v1\nx := 1\n"}),
        json!({"module": allow_all, "data": [1, 2]}),
        json!({"module": allow_all, "on_error": "maybe"}),
        json!({"module": allow_all, "headers": ["authorization"]}),
        json!({"module": allow_all, "log_permille": 1001}),
        json!({"module": allow_all, "surprise": true}),
        json!({"module": "x".repeat(70 * 1024)}),
    ] {
        let (status, p) = put_policy(&s, path, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {p}");
        assert_eq!(p["status"], 400);
    }
    let (_, current) = s.admin_json(Method::GET, path, None).await;
    assert_eq!(current["version"], 2);
    assert_eq!(get(&s, "/tenants/acme/orders", &acme).await.status(), 403);

    let (_, versions) = s
        .admin_json(Method::GET, &format!("{path}/versions"), None)
        .await;
    let v: Vec<&Value> = versions["items"].as_array().unwrap().iter().collect();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["module"], allow_all);

    // Detached: no policy, the request passes again.
    let (status, _) = s.admin_json(Method::DELETE, path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(get(&s, "/tenants/acme/orders", &acme).await.status(), 200);
    let (status, _) = s.admin_json(Method::GET, path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.stop().await;
}

#[tokio::test]
async fn a_runtime_error_follows_the_failure_mode_and_is_counted() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let (_, acme) = tenant_app(&s, "acme", &["orders:read"]).await;
    let path = "/admin/v1/apis/orders/policy";
    // Compiles, fails when evaluated (a number from a tenant name).
    let failing =
        "package orders.p\nimport rego.v1\nallow if to_number(input.request.params.tenant) > 0\n";
    put_policy(&s, path, json!({"module": failing})).await;
    let r = get(&s, "/tenants/acme/orders", &acme).await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        json_body(r).await["detail"],
        "the access policy could not be evaluated"
    );
    put_policy(&s, path, json!({"module": failing, "on_error": "allow"})).await;
    assert_eq!(get(&s, "/tenants/acme/orders", &acme).await.status(), 200);

    let metrics = s
        .http
        .get(s.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let errors = metrics
        .lines()
        .find(|l| {
            l.starts_with("gatehouse_gateway_policy_decisions_total")
                && l.contains("outcome=\"error\"")
                && l.contains("api=\"orders\"")
        })
        .unwrap_or_else(|| panic!("no error counter in\n{metrics}"));
    assert!(errors.ends_with(" 2"), "{errors}");
    s.stop().await;
}

#[tokio::test]
async fn owners_manage_only_their_apis_policies() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    s.create_api("payments", "https://payments.example", &["pay"])
        .await;
    let owner = s
        .create_client("orders-team-ci", "client_secret_basic")
        .await;
    let outsider = s
        .create_client("other-team-ci", "client_secret_basic")
        .await;
    for c in [&owner, &outsider] {
        s.grant(&c.id, "gatehouse-policies", &["policies:write"])
            .await;
    }
    let (status, api) = s
        .admin_json(
            Method::PUT,
            "/admin/v1/apis/orders/owners",
            Some(json!({"clients": [owner.id]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{api}");
    assert_eq!(api["owners"], json!([owner.id]));
    let token = |c: &TestClient| {
        let c = c.clone();
        let s = &s;
        async move {
            s.access_token(&c, &[("resource", "urn:gatehouse:policies")])
                .await
        }
    };
    let owner_token = token(&owner).await;
    let outsider_token = token(&outsider).await;
    let put = |path: &'static str, token: String| {
        let s = &s;
        async move {
            s.http
                .put(s.at(path))
                .bearer_auth(token)
                .json(&json!({"module": "package t\nimport rego.v1\nallow := true\n"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        put("/admin/v1/apis/orders/policy", owner_token.clone()).await,
        StatusCode::CREATED
    );
    assert_eq!(
        put(
            "/admin/v1/apis/orders/operations/create/policy",
            owner_token.clone()
        )
        .await,
        StatusCode::CREATED
    );
    for (path, who) in [
        ("/admin/v1/apis/payments/policy", owner_token.clone()),
        ("/admin/v1/policies/global", owner_token.clone()),
        ("/admin/v1/apis/orders/policy", outsider_token.clone()),
    ] {
        assert_eq!(put(path, who).await, StatusCode::FORBIDDEN, "{path}");
    }
    // The owner token is no admin token.
    let r = s
        .http
        .get(s.at("/admin/v1/clients"))
        .bearer_auth(&owner_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A token for the API itself, or without the scope, manages nothing.
    let (_, orders_token) = tenant_app(&s, "acme", &["orders:read"]).await;
    assert_eq!(
        put("/admin/v1/apis/orders/policy", orders_token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        put("/admin/v1/apis/orders/policy", "garbage".into()).await,
        StatusCode::UNAUTHORIZED
    );
    // The outsider sees none of orders' policies; the owner sees both.
    let list = |token: String| {
        let s = &s;
        async move {
            let r = s
                .http
                .get(s.at("/admin/v1/policies"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            json_body(r).await["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(list(owner_token.clone()).await, 2);
    assert_eq!(list(outsider_token.clone()).await, 0);
    // The audit log names the owner.
    let (_, audit) = s.admin_json(Method::GET, "/admin/v1/audit", None).await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "policy.put" && e["actor"] == format!("owner:{}", owner.id)),
        "{audit}"
    );
    s.stop().await;
}

#[tokio::test]
async fn per_caller_decisions_are_cached_and_cannot_see_the_request() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let (_, acme) = tenant_app(&s, "acme", &["orders:read"]).await;
    let (_, globex) = tenant_app(&s, "globex", &["orders:read"]).await;
    let module = "package orders.p\nimport rego.v1\nallow if {\n  not input.request\n  not input.time\n  input.principal.claims.tenant == \"acme\"\n}\n";
    let (status, p) = put_policy(
        &s,
        "/admin/v1/apis/orders/policy",
        json!({"module": module, "caching": "per_caller"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    for _ in 0..3 {
        assert_eq!(get(&s, "/tenants/acme/orders", &acme).await.status(), 200);
        assert_eq!(get(&s, "/tenants/x/orders", &globex).await.status(), 403);
    }
    let metrics = s
        .http
        .get(s.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |outcome: &str, cached: &str| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("gatehouse_gateway_policy_decisions_total")
                    && l.contains(&format!("outcome=\"{outcome}\""))
                    && l.contains(&format!("cached=\"{cached}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .map(|n| n.parse::<u64>().unwrap())
            .unwrap_or(0)
    };
    assert_eq!((count("allow", "false"), count("allow", "true")), (1, 2));
    assert_eq!((count("deny", "false"), count("deny", "true")), (1, 2));
    s.stop().await;
}

#[tokio::test]
async fn decisions_are_logged_for_the_owner_and_forward_auth_enforces_policies() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let (acme_app, acme) = tenant_app(&s, "acme", &["orders:read"]).await;
    let module = r#"package orders.p
import rego.v1
default decision := {"allow": false, "reason": "wrong tenant"}
decision := {"allow": true, "headers": {"x-tenant": input.principal.claims.tenant}} if {
    input.principal.claims.tenant == input.request.params.tenant
}
"#;
    put_policy(
        &s,
        "/admin/v1/apis/orders/policy",
        json!({"module": module, "log_permille": 1000}),
    )
    .await;
    assert_eq!(get(&s, "/tenants/acme/orders", &acme).await.status(), 200);
    assert_eq!(get(&s, "/tenants/globex/orders", &acme).await.status(), 403);

    // Forward-auth: the same decision, with the policy's headers in the answer.
    let fa = |path: &'static str| {
        let s = &s;
        let acme = acme.clone();
        async move {
            s.http
                .get(s.gw("/.gatehouse/forward-auth"))
                .bearer_auth(acme)
                .header("x-forwarded-method", "GET")
                .header("x-forwarded-uri", path)
                .send()
                .await
                .unwrap()
        }
    };
    let ok = fa("/tenants/acme/orders").await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-tenant"], "acme");
    assert_eq!(fa("/tenants/globex/orders").await.status(), 403);

    s.flush_usage().await;
    let (status, log) = s
        .admin_json(
            Method::GET,
            "/admin/v1/apis/orders/decisions?limit=10",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{log}");
    let newest = &items[0];
    assert_eq!(newest["outcome"], "deny");
    assert_eq!(newest["reason"], "wrong tenant");
    assert_eq!(newest["client_id"], acme_app.id.as_str());
    assert_eq!(newest["path"], "/tenants/globex/orders");
    assert_eq!(newest["operation"], "list");
    assert_eq!(items.iter().filter(|d| d["outcome"] == "allow").count(), 2);
    let (status, _) = s
        .admin_json(Method::GET, "/admin/v1/apis/orders/decisions?bogus=1", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.stop().await;
}
