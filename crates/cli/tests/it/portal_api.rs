//! People and the developer portal's model through the admin API: sign-in sessions with CSRF,
//! roles (admin, developer, API owner), applications with owners, plans, subscriptions with
//! approval, credentials, usage, and the audit export. Every role boundary is tested from the
//! side that must be refused.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    reason = "integration tests and their helpers: a broken expectation must fail loudly"
)]

use crate::common;

use common::{CLIENT_CREDENTIALS, ORDERS, TestServer, header_str, json_body};
use gatehouse_testkit::echo::Echo;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

/// A signed-in user: the session cookie and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
    user: Value,
}

impl Session {
    fn req(&self, s: &TestServer, method: Method, path: &str) -> reqwest::RequestBuilder {
        let unsafe_method = method != Method::GET;
        let mut r = s
            .http
            .request(method, s.at(path))
            .header(header::COOKIE, format!("gatehouse_session={}", self.cookie));
        if unsafe_method {
            r = r.header("x-csrf-token", &self.csrf);
        }
        r
    }

    async fn call(
        &self,
        s: &TestServer,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self.req(s, method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            },
        )
    }
}

async fn create_user(s: &TestServer, email: &str, role: &str) {
    let (status, v) = s
        .admin_json(
            Method::POST,
            "/admin/v1/users",
            Some(json!({"email": email, "name": email, "role": role, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert!(v["user"].get("password_hash").is_none(), "{v}");
    assert!(
        v.get("password").is_none(),
        "a given password is not echoed: {v}"
    );
}

async fn sign_in_raw(s: &TestServer, email: &str, password: &str) -> reqwest::Response {
    s.http
        .post(s.at("/admin/v1/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn sign_in(s: &TestServer, email: &str) -> Session {
    let resp = sign_in_raw(s, email, PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let set_cookie = header_str(&resp, header::SET_COOKIE).unwrap().to_owned();
    let cookie = set_cookie
        .strip_prefix("gatehouse_session=")
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let body = json_body(resp).await;
    Session {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        user: body["user"].clone(),
    }
}

/// A user of `role` signed in.
async fn user(s: &TestServer, email: &str, role: &str) -> Session {
    create_user(s, email, role).await;
    sign_in(s, email).await
}

/// The orders API owned by `owner`, with a `free` plan (open, read) and a `gold` plan
/// (approval, read + write).
async fn orders_api(s: &TestServer, owner: &str) {
    s.create_api("orders", ORDERS, &["orders:read", "orders:write"])
        .await;
    let (status, v) = s
        .admin_json(
            Method::PUT,
            "/admin/v1/apis/orders/listing",
            Some(
                json!({"description": "Orders of the shop", "credentials": ["api_key", "bearer"],
                "owners": [owner], "docs_url": "https://docs.example/orders"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    for (plan, scopes, approval) in [
        ("free", json!(["orders:read"]), false),
        ("gold", json!(["orders:read", "orders:write"]), true),
    ] {
        let (status, v) = s
            .admin_json(
                Method::PUT,
                &format!("/admin/v1/apis/orders/plans/{plan}"),
                Some(json!({"scopes": scopes, "requires_approval": approval,
                    "rate_limit_per_second": 5, "daily_quota": 1000})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
}

/// Creates an application as `who`; returns (id, secret).
async fn create_app(s: &TestServer, who: &Session, name: &str) -> (String, String) {
    let (status, v) = who
        .call(
            s,
            Method::POST,
            "/admin/v1/applications",
            Some(json!({"name": name, "description": "does things",
                "contact_email": "team@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    (
        v["client_id"].as_str().unwrap().to_owned(),
        v["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn token_status(s: &TestServer, id: &str, secret: &str, scope: &str) -> (StatusCode, Value) {
    let resp = s
        .http
        .post(s.at("/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[CLIENT_CREDENTIALS, ("resource", ORDERS), ("scope", scope)])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, json_body(resp).await)
}

// === sessions ===

#[tokio::test]
async fn signing_in_gives_an_httponly_session_that_works_for_the_api_until_signed_out() {
    let s = TestServer::start().await;
    create_user(&s, "ana@example.com", "developer").await;

    let resp = sign_in_raw(&s, " Ana@Example.com ", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let set_cookie = header_str(&resp, header::SET_COOKIE).unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/"), "{set_cookie}");
    assert!(
        !set_cookie.contains("Secure"),
        "an http issuer cannot use Secure cookies: {set_cookie}"
    );
    assert_eq!(header_str(&resp, header::CACHE_CONTROL), Some("no-store"));
    drop(resp);

    let ana = sign_in(&s, "ana@example.com").await;
    assert_eq!(ana.user["email"], "ana@example.com");
    assert_eq!(ana.user["role"], "developer");
    let (status, me) = ana.call(&s, Method::GET, "/admin/v1/me", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "ana@example.com");
    assert!(me.get("password_hash").is_none());
    let (status, sess) = ana.call(&s, Method::GET, "/admin/v1/session", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sess["csrf_token"], ana.csrf.as_str());

    // Sign out: the cookie is cleared and the session is gone on the server too.
    let resp = ana
        .req(&s, Method::DELETE, "/admin/v1/session")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(
        header_str(&resp, header::SET_COOKIE)
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _) = ana.call(&s, Method::GET, "/admin/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test]
async fn wrong_passwords_and_unknown_emails_fail_alike_and_lock_out() {
    let s = TestServer::start_with_config(
        "[client_auth]\nlockout_max_failures = 3\nlockout_window = \"1m\"\nlockout_duration = \"5m\"\n",
    )
    .await;
    create_user(&s, "ana@example.com", "developer").await;
    let mut details = Vec::new();
    for (email, pw) in [
        ("ana@example.com", "wrong password!!"),
        ("nobody@example.com", PASSWORD),
    ] {
        let resp = sign_in_raw(&s, email, pw).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(header_str(&resp, header::SET_COOKIE).is_none());
        details.push(json_body(resp).await["detail"].clone());
    }
    assert_eq!(details[0], details[1], "no hint which part was wrong");
    for bad in [
        json!({"email": "ana@example.com"}),
        json!("x"),
        json!({"email": 1, "password": 2}),
    ] {
        let resp = s
            .http
            .post(s.at("/admin/v1/session"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    // Two more failures for ana: locked out, even with the right password.
    for _ in 0..2 {
        sign_in_raw(&s, "ana@example.com", "wrong password!!").await;
    }
    let resp = sign_in_raw(&s, "ana@example.com", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header_str(&resp, header::RETRY_AFTER).is_some());
    s.advance(301);
    // The address was locked too (four failures from 127.0.0.1); both have expired now.
    assert_eq!(
        sign_in_raw(&s, "ana@example.com", PASSWORD).await.status(),
        StatusCode::CREATED
    );
    s.stop().await;
}

#[tokio::test]
async fn unsafe_requests_under_a_cookie_need_the_csrf_token_and_change_nothing_without_it() {
    let s = TestServer::start().await;
    let ana = user(&s, "ana@example.com", "developer").await;
    let body = json!({"name": "billing"});
    for csrf in [None, Some("wrong"), Some("")] {
        let mut r = s
            .http
            .post(s.at("/admin/v1/applications"))
            .header(header::COOKIE, format!("gatehouse_session={}", ana.cookie))
            .json(&body);
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        let resp = r.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{csrf:?}");
        assert_eq!(
            header_str(&resp, header::CONTENT_TYPE),
            Some("application/problem+json")
        );
    }
    let (status, list) = ana
        .call(&s, Method::GET, "/admin/v1/applications", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    // Another session's token is not this session's.
    create_user(&s, "bo@example.com", "developer").await;
    let bo = sign_in(&s, "bo@example.com").await;
    let resp = s
        .http
        .post(s.at("/admin/v1/applications"))
        .header(header::COOKIE, format!("gatehouse_session={}", ana.cookie))
        .header("x-csrf-token", &bo.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // A forged cookie is no session.
    let resp = s
        .http
        .get(s.at("/admin/v1/me"))
        .header(header::COOKIE, "gatehouse_session=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    s.stop().await;
}

// === roles ===

#[tokio::test]
async fn developers_see_only_their_applications_and_no_admin_routes() {
    let s = TestServer::start().await;
    let ana = user(&s, "ana@example.com", "developer").await;
    let bo = user(&s, "bo@example.com", "developer").await;
    let (ana_app, _) = create_app(&s, &ana, "ana-app").await;
    let (bo_app, _) = create_app(&s, &bo, "bo-app").await;

    let (_, list) = ana
        .call(&s, Method::GET, "/admin/v1/applications", None)
        .await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["client"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ana_app.as_str()]);
    assert_eq!(list["items"][0]["profile"]["owner"], ana.user["id"]);

    // Bo's application does not exist for Ana, whatever she tries.
    for (method, path, body) in [
        (
            Method::GET,
            format!("/admin/v1/applications/{bo_app}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/admin/v1/applications/{bo_app}"),
            Some(json!({"description": "mine"})),
        ),
        (
            Method::DELETE,
            format!("/admin/v1/applications/{bo_app}"),
            None,
        ),
        (
            Method::GET,
            format!("/admin/v1/applications/{bo_app}/secrets"),
            None,
        ),
        (
            Method::POST,
            format!("/admin/v1/applications/{bo_app}/secrets/rotate"),
            None,
        ),
        (
            Method::POST,
            format!("/admin/v1/applications/{bo_app}/api-keys"),
            None,
        ),
        (
            Method::GET,
            format!("/admin/v1/applications/{bo_app}/usage"),
            None,
        ),
        (
            Method::GET,
            format!("/admin/v1/applications/{bo_app}/usage/daily"),
            None,
        ),
    ] {
        let (status, v) = ana.call(&s, method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {v}");
    }
    // The admin-only routes refuse developers.
    for (method, path) in [
        (Method::GET, "/admin/v1/clients"),
        (Method::GET, "/admin/v1/users"),
        (Method::GET, "/admin/v1/audit"),
        (Method::GET, "/admin/v1/audit.csv"),
        (Method::POST, "/admin/v1/apis"),
        (Method::POST, "/admin/v1/keys/rotate"),
        (Method::PUT, "/admin/v1/grants"),
    ] {
        let (status, v) = ana.call(&s, method.clone(), path, Some(json!({}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {v}");
    }
    let (status, _) = ana
        .call(
            &s,
            Method::POST,
            "/admin/v1/users",
            Some(json!({"email": "x@example.com", "name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nothing of Bo's changed.
    let (status, v) = bo
        .call(
            &s,
            Method::GET,
            &format!("/admin/v1/applications/{bo_app}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["profile"]["description"], "does things");
    assert_eq!(v["profile"]["contact_email"], "team@example.com");
    // An admin user sees both.
    let admin = user(&s, "root@example.com", "admin").await;
    let (_, list) = admin
        .call(&s, Method::GET, "/admin/v1/applications", None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
    let (status, _) = admin.call(&s, Method::GET, "/admin/v1/clients", None).await;
    assert_eq!(status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn subscribing_to_an_approval_plan_waits_for_the_owner_and_only_the_owner_decides() {
    let s = TestServer::start().await;
    let owner = user(&s, "owner@example.com", "developer").await;
    let other_owner = user(&s, "mallory@example.com", "developer").await;
    let dev = user(&s, "dev@example.com", "developer").await;
    orders_api(&s, "owner@example.com").await;
    let (app, secret) = create_app(&s, &dev, "billing").await;

    // The catalog shows the API with its plans; Mallory does not own it.
    let (_, cat) = dev.call(&s, Method::GET, "/admin/v1/catalog", None).await;
    let names: Vec<&str> = cat["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["api"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["orders"],
        "built-in APIs are not listed for developers"
    );
    assert_eq!(cat["items"][0]["plans"].as_array().unwrap().len(), 2);
    assert_eq!(cat["items"][0]["owned"], false);

    let (status, sub) = dev
        .call(
            &s,
            Method::POST,
            &format!("/admin/v1/applications/{app}/subscriptions"),
            Some(json!({"api": "orders", "plan": "gold"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sub}");
    assert_eq!(sub["status"], "pending");
    assert_eq!(sub["scopes"], json!(["orders:read", "orders:write"]));
    let sub_id = sub["id"].as_str().unwrap().to_owned();
    // Pending grants no token.
    let (status, body) = token_status(&s, &app, &secret, "orders:read").await;
    assert_ne!(status, StatusCode::OK, "{body}");
    // Subscribing again to the same plan is a conflict.
    let (status, _) = dev
        .call(
            &s,
            Method::POST,
            &format!("/admin/v1/applications/{app}/subscriptions"),
            Some(json!({"api": "orders", "plan": "gold"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The developer cannot approve their own request; Mallory cannot see it.
    let approve = format!("/admin/v1/subscriptions/{sub_id}/approve");
    let (status, _) = dev.call(&s, Method::POST, &approve, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = other_owner.call(&s, Method::POST, &approve, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = other_owner
        .call(&s, Method::GET, "/admin/v1/apis/orders/subscriptions", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The owner's queue names the application and how to reach its people.
    let (status, queue) = owner
        .call(
            &s,
            Method::GET,
            "/admin/v1/apis/orders/subscriptions?status=pending",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let item = &queue["items"][0];
    assert_eq!(item["id"], sub_id.as_str());
    assert_eq!(item["application_name"], "billing");
    assert_eq!(item["contact_email"], "team@example.com");
    assert_eq!(item["owner_email"], "dev@example.com");
    let (status, v) = owner
        .call(
            &s,
            Method::POST,
            &approve,
            Some(json!({"reason": "known team"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "approved");
    let (status, _) = owner.call(&s, Method::POST, &approve, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "approving twice");
    let (status, body) = token_status(&s, &app, &secret, "orders:write").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Revocation stops new tokens at once.
    let (status, v) = owner
        .call(
            &s,
            Method::POST,
            &format!("/admin/v1/subscriptions/{sub_id}/revoke"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, _) = token_status(&s, &app, &secret, "orders:read").await;
    assert_ne!(status, StatusCode::OK);

    // The open plan is approved at once with its own scopes.
    let (status, sub) = dev
        .call(
            &s,
            Method::POST,
            &format!("/admin/v1/applications/{app}/subscriptions"),
            Some(json!({"api": "orders", "plan": "free"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    assert_eq!(sub["status"], "approved");
    assert_eq!(
        token_status(&s, &app, &secret, "orders:read").await.0,
        StatusCode::OK
    );
    assert_ne!(
        token_status(&s, &app, &secret, "orders:write").await.0,
        StatusCode::OK
    );

    // The audit log says who did what.
    let (_, audit) = s
        .admin_json(Method::GET, "/admin/v1/audit?limit=100", None)
        .await;
    let actions: Vec<(String, String)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for want in [
        ("user:owner@example.com", "subscription.approve"),
        ("user:owner@example.com", "subscription.revoke"),
        ("user:dev@example.com", "subscription.request"),
        ("user:dev@example.com", "client.create"),
    ] {
        assert!(
            actions.iter().any(|(a, b)| a == want.0 && b == want.1),
            "{want:?} in {actions:?}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn owners_manage_their_apis_plans_and_listing_but_not_the_owner_list() {
    let s = TestServer::start().await;
    let owner = user(&s, "owner@example.com", "developer").await;
    let dev = user(&s, "dev@example.com", "developer").await;
    orders_api(&s, "owner@example.com").await;

    let (status, plan) = owner
        .call(
            &s,
            Method::PUT,
            "/admin/v1/apis/orders/plans/silver",
            Some(json!({"scopes": ["orders:read"], "rate_limit_per_second": 20})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["rate_limit"], json!({"per_second": 20, "burst": 40}));
    // PUT is idempotent: same id, same record.
    let (_, again) = owner
        .call(
            &s,
            Method::PUT,
            "/admin/v1/apis/orders/plans/silver",
            Some(json!({"scopes": ["orders:read"], "rate_limit_per_second": 20})),
        )
        .await;
    assert_eq!(again, plan);
    for (body, why) in [
        (json!({"scopes": ["payments:read"]}), "unknown scope"),
        (json!({"scopes": [], "burst": 5}), "burst without a rate"),
        (
            json!({"scopes": [], "rate_limit_per_second": 0}),
            "zero rate",
        ),
        (json!({"scopes": [], "daily_quota": 0}), "zero quota"),
        (json!({"scopes": [], "colour": "red"}), "unknown field"),
    ] {
        let (status, v) = owner
            .call(
                &s,
                Method::PUT,
                "/admin/v1/apis/orders/plans/bad",
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {v}");
    }
    let (status, _) = owner
        .call(
            &s,
            Method::PUT,
            "/admin/v1/apis/orders/plans/a%20b",
            Some(json!({"scopes": []})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "plan names are URL-safe");

    // A developer who does not own the API can read plans but not write them.
    let (status, _) = dev
        .call(&s, Method::GET, "/admin/v1/apis/orders/plans", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = dev
        .call(
            &s,
            Method::PUT,
            "/admin/v1/apis/orders/plans/free",
            Some(json!({"scopes": []})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = dev
        .call(
            &s,
            Method::PUT,
            "/admin/v1/apis/orders/listing",
            Some(json!({"description": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The owner edits the listing, but cannot hand the API to someone else.
    let (status, v) = owner
        .call(
            &s,
            Method::PUT,
            "/admin/v1/apis/orders/listing",
            Some(json!({"description": "Orders v2", "credentials": ["api_key"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["owners"], json!([owner.user["id"]]));
    let (status, _) = owner
        .call(
            &s,
            Method::PUT,
            "/admin/v1/apis/orders/listing",
            Some(json!({"owners": ["dev@example.com"]})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A hidden API disappears for developers (404), stays for its owner.
    owner
        .call(
            &s,
            Method::PUT,
            "/admin/v1/apis/orders/listing",
            Some(json!({"description": "Orders v2", "visible": false})),
        )
        .await;
    let (status, _) = dev
        .call(&s, Method::GET, "/admin/v1/catalog/orders", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v) = owner
        .call(&s, Method::GET, "/admin/v1/catalog/orders", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["owned"], true);

    // A plan with subscribers cannot be deleted; an unused one can.
    let (app, _) = create_app(&s, &owner, "owner-tool").await;
    let (status, _) = owner
        .call(
            &s,
            Method::POST,
            &format!("/admin/v1/applications/{app}/subscriptions"),
            Some(json!({"api": "orders", "plan": "gold"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "an owner's own subscription needs no approval"
    );
    let (status, _) = owner
        .call(&s, Method::DELETE, "/admin/v1/apis/orders/plans/gold", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = owner
        .call(
            &s,
            Method::DELETE,
            "/admin/v1/apis/orders/plans/silver",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    s.stop().await;
}

// === credentials ===

#[tokio::test]
async fn developers_rotate_secrets_with_a_grace_period_and_manage_api_keys_shown_once() {
    let s = TestServer::start().await;
    let dev = user(&s, "dev@example.com", "developer").await;
    orders_api(&s, "dev@example.com").await;
    let (app, old) = create_app(&s, &dev, "billing").await;
    dev.call(
        &s,
        Method::POST,
        &format!("/admin/v1/applications/{app}/subscriptions"),
        Some(json!({"api": "orders", "plan": "free"})),
    )
    .await;

    let (status, rotated) = dev
        .call(
            &s,
            Method::POST,
            &format!("/admin/v1/applications/{app}/secrets/rotate"),
            Some(json!({"grace": "1h"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let new = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        token_status(&s, &app, &old, "orders:read").await.0,
        StatusCode::OK
    );
    assert_eq!(
        token_status(&s, &app, &new, "orders:read").await.0,
        StatusCode::OK
    );
    s.advance(3601);
    assert_ne!(
        token_status(&s, &app, &old, "orders:read").await.0,
        StatusCode::OK
    );
    assert_eq!(
        token_status(&s, &app, &new, "orders:read").await.0,
        StatusCode::OK
    );
    let (_, secrets) = dev
        .call(
            &s,
            Method::GET,
            &format!("/admin/v1/applications/{app}/secrets"),
            None,
        )
        .await;
    let secrets = secrets["items"].as_array().unwrap().clone();
    assert_eq!(secrets.len(), 2);
    let valid: Vec<bool> = secrets.iter().map(|s| s["valid"] == true).collect();
    assert_eq!(valid.iter().filter(|v| **v).count(), 1, "{secrets:?}");
    assert!(!serde_json::to_string(&secrets).unwrap().contains(&new));

    let (status, key) = dev
        .call(
            &s,
            Method::POST,
            &format!("/admin/v1/applications/{app}/api-keys"),
            Some(json!({"expires_in": "30d"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key_value = key["api_key"].as_str().unwrap().to_owned();
    let key_id = key["id"].as_str().unwrap().to_owned();
    let (_, keys) = dev
        .call(
            &s,
            Method::GET,
            &format!("/admin/v1/applications/{app}/api-keys"),
            None,
        )
        .await;
    assert_eq!(keys["items"][0]["valid"], true);
    assert!(
        !keys.to_string().contains(&key_value),
        "listed without the key"
    );
    let (status, _) = dev
        .call(
            &s,
            Method::DELETE,
            &format!("/admin/v1/applications/{app}/api-keys/{key_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, keys) = dev
        .call(
            &s,
            Method::GET,
            &format!("/admin/v1/applications/{app}/api-keys"),
            None,
        )
        .await;
    assert_eq!(keys["items"][0]["valid"], false);
    s.stop().await;
}

// === users ===

#[tokio::test]
async fn admins_manage_users_and_a_disabled_user_loses_their_session() {
    let s = TestServer::start().await;
    let admin = user(&s, "root@example.com", "admin").await;
    let (status, created) = admin
        .call(
            &s,
            Method::POST,
            "/admin/v1/users",
            Some(json!({"email": "New@Example.com", "name": "New"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["user"]["email"], "new@example.com");
    let generated = created["password"].as_str().unwrap().to_owned();
    assert!(generated.len() >= 20);
    let resp = sign_in_raw(&s, "new@example.com", &generated).await;
    assert_eq!(resp.status(), StatusCode::CREATED);

    for (body, want) in [
        (
            json!({"email": "new@example.com", "name": "Dup"}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"email": "short@example.com", "name": "S", "password": "short"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "not-an-email", "name": "S"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "r@example.com", "name": "R", "role": "owner"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "r@example.com", "name": "R", "extra": 1}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, v) = admin
            .call(&s, Method::POST, "/admin/v1/users", Some(body.clone()))
            .await;
        assert_eq!(status, want, "{body}: {v}");
    }

    let victim = user(&s, "dev@example.com", "developer").await;
    let (status, _) = victim.call(&s, Method::GET, "/admin/v1/me", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = admin
        .call(
            &s,
            Method::PATCH,
            "/admin/v1/users/dev@example.com",
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["disabled"], true);
    let (status, _) = victim.call(&s, Method::GET, "/admin/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in_raw(&s, "dev@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // An admin cannot lock themselves out.
    let me = admin.user["id"].as_str().unwrap().to_owned();
    for body in [json!({"disabled": true}), json!({"role": "developer"})] {
        let (status, _) = admin
            .call(
                &s,
                Method::PATCH,
                &format!("/admin/v1/users/{me}"),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    // Changing one's own password needs the current one and ends the session.
    let (status, _) = admin
        .call(
            &s,
            Method::PUT,
            "/admin/v1/me/password",
            Some(json!({"current": "not it at all", "new": "another long password"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = admin
        .call(
            &s,
            Method::PUT,
            "/admin/v1/me/password",
            Some(json!({"current": PASSWORD, "new": "another long password"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = admin.call(&s, Method::GET, "/admin/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in_raw(&s, "root@example.com", "another long password")
            .await
            .status(),
        StatusCode::CREATED
    );
    s.stop().await;
}

#[tokio::test]
async fn the_audit_log_exports_as_csv_with_formula_cells_defused() {
    let s = TestServer::start().await;
    create_user(&s, "=cmd@example.com", "developer").await;
    let resp = s
        .admin(Method::GET, "/admin/v1/audit.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header_str(&resp, header::CONTENT_TYPE),
        Some("text/csv; charset=utf-8")
    );
    assert!(
        header_str(&resp, header::CONTENT_DISPOSITION)
            .unwrap()
            .contains("attachment")
    );
    let csv = resp.text().await.unwrap();
    let mut lines = csv.split("\r\n");
    assert_eq!(lines.next(), Some("id,at,time,actor,action,target,detail"));
    let row = csv
        .split("\r\n")
        .find(|l| l.contains("user.create"))
        .unwrap();
    assert!(row.contains("\"admin-token\""), "{row}");
    assert!(
        row.contains("\"\"email\"\":\"\"=cmd@example.com\"\""),
        "quotes doubled: {row}"
    );
    s.stop().await;
}

// === usage and plans at the gateway ===

/// A gateway in front of `echo` for the orders API, by API key.
fn gateway_config(echo: &Echo) -> String {
    format!(
        r#"
[client_auth]
lockout_max_failures = 1000

[gateway]
listen = "127.0.0.1:0"

[[gateway.apis]]
api = "orders"
upstreams = ["{}"]
accept = ["api_key"]

[[gateway.apis.routes]]
operation = "get"
path = "/orders/{{id}}"
methods = ["GET"]

[[gateway.apis.routes]]
operation = "status"
path = "/status/*"
"#,
        echo.url()
    )
}

/// An application of `dev` subscribed to `plan` of orders, and its API key.
async fn subscribed_key(s: &TestServer, dev: &Session, plan: &str) -> String {
    let (app, _) = create_app(s, dev, "billing").await;
    let (status, v) = dev
        .call(
            s,
            Method::POST,
            &format!("/admin/v1/applications/{app}/subscriptions"),
            Some(json!({"api": "orders", "plan": plan})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (_, key) = dev
        .call(
            s,
            Method::POST,
            &format!("/admin/v1/applications/{app}/api-keys"),
            None,
        )
        .await;
    key["api_key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_plans_rate_limit_and_daily_quota_apply_at_the_gateway_and_follow_plan_changes() {
    let echo = Echo::start().await;
    let s = TestServer::start_with_config(&gateway_config(&echo)).await;
    let owner = user(&s, "owner@example.com", "developer").await;
    let dev = user(&s, "dev@example.com", "developer").await;
    orders_api(&s, "owner@example.com").await;
    owner
        .call(
            &s,
            Method::PUT,
            "/admin/v1/apis/orders/plans/free",
            Some(json!({"scopes": ["orders:read"], "rate_limit_per_second": 1, "burst": 2})),
        )
        .await;
    let key = subscribed_key(&s, &dev, "free").await;
    let get = || {
        s.http
            .get(s.gw("/orders/1"))
            .header("x-api-key", &key)
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(get().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429], "burst 2 of the plan");

    // The owner changes the plan to a daily quota without a rate: the gateway follows.
    let (status, v) = owner
        .call(
            &s,
            Method::PUT,
            "/admin/v1/apis/orders/plans/free",
            Some(json!({"scopes": ["orders:read"], "daily_quota": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get().await.unwrap().status().as_u16());
    }
    // Requests count towards a daily quota from when one applies.
    assert_eq!(statuses, [200, 200, 200, 429]);
    let resp = get().await.unwrap();
    let retry: i64 = header_str(&resp, header::RETRY_AFTER)
        .unwrap()
        .parse()
        .unwrap();
    let midnight = (s.now().div_euclid(86_400) + 1) * 86_400;
    assert_eq!(retry, midnight - s.now(), "until the next UTC midnight");
    s.advance(retry);
    assert_eq!(get().await.unwrap().status(), StatusCode::OK, "a new day");
    s.stop().await;
}

#[tokio::test]
async fn owners_and_developers_read_daily_usage_of_their_api_and_app_only() {
    let echo = Echo::start().await;
    let s = TestServer::start_with_config(&gateway_config(&echo)).await;
    let owner = user(&s, "owner@example.com", "developer").await;
    let dev = user(&s, "dev@example.com", "developer").await;
    let stranger = user(&s, "x@example.com", "developer").await;
    orders_api(&s, "owner@example.com").await;
    let (app, _) = create_app(&s, &dev, "billing").await;
    dev.call(
        &s,
        Method::POST,
        &format!("/admin/v1/applications/{app}/subscriptions"),
        Some(json!({"api": "orders", "plan": "free"})),
    )
    .await;
    let (_, key) = dev
        .call(
            &s,
            Method::POST,
            &format!("/admin/v1/applications/{app}/api-keys"),
            None,
        )
        .await;
    let key = key["api_key"].as_str().unwrap().to_owned();
    for path in ["/orders/1", "/orders/2", "/orders/3", "/status/500"] {
        s.http
            .get(s.gw(path))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
    }
    s.flush_usage().await;

    let (status, daily) = owner
        .call(
            &s,
            Method::GET,
            "/admin/v1/apis/orders/usage/daily?days=7",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{daily}");
    assert_eq!(daily["days"].as_array().unwrap().len(), 7);
    let series = &daily["series"][0];
    assert_eq!(series["key"], app.as_str());
    assert_eq!(series["name"], "billing");
    assert_eq!(series["counts"][6], 4, "today is the last day: {daily}");
    assert_eq!(daily["error_rate"][6], 25.0);
    assert!(daily["p99_ms"][6].is_u64());
    assert!(daily["p99_ms"][0].is_null());

    let (status, mine) = dev
        .call(
            &s,
            Method::GET,
            &format!("/admin/v1/applications/{app}/usage/daily"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["series"][0]["name"], "orders");
    assert_eq!(mine["days"].as_array().unwrap().len(), 14);
    let (status, report) = owner
        .call(&s, Method::GET, "/admin/v1/apis/orders/usage", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["total"], 4);

    for path in [
        "/admin/v1/apis/orders/usage/daily".to_owned(),
        "/admin/v1/apis/orders/usage".to_owned(),
    ] {
        let (status, _) = stranger.call(&s, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = stranger
        .call(
            &s,
            Method::GET,
            &format!("/admin/v1/applications/{app}/usage/daily"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in ["days=0", "days=91", "days=x"] {
        let (status, _) = owner
            .call(
                &s,
                Method::GET,
                &format!("/admin/v1/apis/orders/usage/daily?{bad}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    s.stop().await;
}
