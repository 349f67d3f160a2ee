//! The portal's HTML pages driven like a browser without JavaScript: plain form posts with
//! the CSRF field, cookies kept by hand, redirects followed by hand (so each 303 is checked).
//! The whole developer → owner → gateway → usage story, and the refusals around it.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    reason = "integration tests and their helpers: a broken expectation must fail loudly"
)]

use std::collections::BTreeMap;

use crate::common;

use common::{ORDERS, TestServer};
use gatehouse_testkit::echo::Echo;
use reqwest::{Method, StatusCode, header, redirect};
use serde_json::json;

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A cookie-keeping, non-redirecting client: one browser.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

/// A page as the browser got it.
struct Page {
    status: StatusCode,
    location: Option<String>,
    headers: header::HeaderMap,
    body: String,
}

impl Page {
    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        hidden(&self.body, "csrf").expect("the page has a form with a csrf field")
    }

    /// The text of the one-time secret block.
    fn secret(&self) -> String {
        let start = self
            .body
            .find(r#"<code class="secret-value" id="secret-value">"#)
            .expect("a secret is shown");
        let rest = &self.body[start..];
        let rest = &rest[rest.find('>').unwrap() + 1..];
        rest[..rest.find("</code>").unwrap()].to_owned()
    }
}

fn hidden(body: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = body.find(&marker)? + marker.len();
    Some(body[start..start + body[start..].find('"')?].to_owned())
}

impl Browser {
    fn new(s: &TestServer) -> Self {
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            base: s.at(""),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, method: Method, path: &str, form: &[(&str, &str)]) -> Page {
        let url = format!("{}{path}", self.base.trim_end_matches('/'));
        let mut r = self.http.request(method.clone(), url);
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            r = r.header(header::COOKIE, c.join("; "));
        }
        if method == Method::POST {
            r = r.form(form);
        }
        let resp = r.send().await.unwrap();
        for v in resp.headers().get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        Page {
            status: resp.status(),
            location: resp
                .headers()
                .get(header::LOCATION)
                .map(|v| v.to_str().unwrap().to_owned()),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, &[]).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, form).await
    }

    /// Posts, expects a 303, and follows it.
    async fn post_then_follow(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let p = self.post(path, form).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{path}: {}", p.body);
        let to = p.location.unwrap();
        self.get(&to).await
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/portal/signin").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post(
            "/portal/signin",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await
    }
}

pub(crate) async fn create_user(s: &TestServer, email: &str) {
    let (status, v) = s
        .admin_json(
            Method::POST,
            "/admin/v1/users",
            Some(json!({"email": email, "name": email, "role": "developer", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

async fn orders_api(s: &TestServer, owner: &str) {
    s.create_api("orders", ORDERS, &["orders:read"]).await;
    let (status, v) = s
        .admin_json(
            Method::PUT,
            "/admin/v1/apis/orders/listing",
            Some(
                json!({"description": "Orders of the <shop>", "credentials": ["api_key"],
                "owners": [owner]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = s
        .admin_json(
            Method::PUT,
            "/admin/v1/apis/orders/plans/gold",
            Some(json!({"scopes": ["orders:read"], "requires_approval": true,
                "rate_limit_per_second": 50})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

/// A gateway in front of `echo` for `orders`, by API key.
pub(crate) fn gateway_config(echo: &Echo) -> String {
    format!(
        r#"
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
"#,
        echo.url()
    )
}

#[tokio::test]
async fn a_developer_subscribes_an_owner_approves_and_the_key_works_at_the_gateway() {
    let echo = Echo::start().await;
    let s = TestServer::start_with_config(&gateway_config(&echo)).await;
    create_user(&s, "owner@example.com").await;
    create_user(&s, "dev@example.com").await;
    orders_api(&s, "owner@example.com").await;

    let mut dev = Browser::new(&s);
    let signed_in = dev.sign_in("dev@example.com", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.location.as_deref(), Some("/portal/apis"));
    assert!(dev.cookies.contains_key("gatehouse_session"));
    assert!(
        !dev.cookies.contains_key("gatehouse_signin"),
        "pre-session ended"
    );

    let catalog = dev.get("/portal/apis").await;
    assert_eq!(catalog.status, StatusCode::OK);
    assert!(
        catalog
            .body
            .contains(r#"<a href="/portal/apis/orders">orders</a>"#)
    );
    assert!(
        catalog.body.contains("Orders of the &#60;shop&#62;")
            || catalog.body.contains("Orders of the &lt;shop&gt;")
    );
    for h in ["content-security-policy", "x-frame-options"] {
        assert!(catalog.headers.contains_key(h), "{h}");
    }
    assert_eq!(catalog.headers[header::CACHE_CONTROL], "no-store");

    // Create an application: its client secret is on the answer, once.
    let new = dev.get("/portal/apps/new").await;
    let created = dev
        .post(
            "/portal/apps",
            &[
                ("csrf", &new.csrf()),
                ("name", "billing"),
                ("description", "bills <b>people</b>"),
                ("contact_email", "billing-team@example.com"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let secret = created.secret();
    assert!(secret.len() >= 32, "{secret}");
    let app_id = hidden(&created.body, "csrf").map(|_| ()).and_then(|()| {
        let m = r#"<code id="client-id">"#;
        let i = created.body.find(m)? + m.len();
        Some(created.body[i..i + created.body[i..].find('<')?].to_owned())
    });
    let app_id = app_id.unwrap();
    let again = dev.get(&format!("/portal/apps/{app_id}")).await;
    assert!(
        !again.body.contains(&secret),
        "a secret is never shown twice"
    );
    assert!(
        again.body.contains("bills &#60;b&#62;people&#60;/b&#62;")
            || again.body.contains("bills &lt;b&gt;people&lt;/b&gt;")
    );

    // Subscribe to the approval plan: pending.
    let api_page = dev.get("/portal/apis/orders").await;
    let after = dev
        .post_then_follow(
            "/portal/apis/orders/subscribe",
            &[
                ("csrf", &api_page.csrf()),
                ("application", &app_id),
                ("plan", "gold"),
            ],
        )
        .await;
    assert!(
        after.body.contains("waits for the API owner"),
        "{}",
        after.body
    );
    assert!(
        after
            .body
            .contains(r#"<span class="badge badge-pending">pending</span>"#)
    );

    // The key does not work before approval.
    let key_page = dev
        .post(
            &format!("/portal/apps/{app_id}/api-keys"),
            &[("csrf", &after.csrf()), ("expires_in", "90d")],
        )
        .await;
    assert_eq!(key_page.status, StatusCode::OK, "{}", key_page.body);
    let api_key = key_page.secret();
    let call = |key: String| {
        let http = s.http.clone();
        let url = s.gw("/orders/7");
        async move {
            http.get(url)
                .header("x-api-key", key)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(call(api_key.clone()).await, StatusCode::FORBIDDEN);

    // The developer cannot see the owner's pages.
    let refused = dev.get("/portal/owner/apis/orders").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // The owner approves from the dashboard's queue.
    let mut owner = Browser::new(&s);
    assert_eq!(
        owner.sign_in("owner@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let dash = owner.get("/portal/owner").await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.body.contains("billing"));
    assert!(dash.body.contains("mailto:billing-team@example.com"));
    let sub_id = {
        let m = "/portal/subscriptions/";
        let i = dash.body.find(m).unwrap() + m.len();
        dash.body[i..i + dash.body[i..].find('/').unwrap()].to_owned()
    };
    // Without the CSRF field nothing happens.
    let forged = owner
        .post(&format!("/portal/subscriptions/{sub_id}/approve"), &[])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(call(api_key.clone()).await, StatusCode::FORBIDDEN);
    // The developer's own session cannot approve.
    let by_dev = dev
        .post(
            &format!("/portal/subscriptions/{sub_id}/approve"),
            &[("csrf", &after.csrf())],
        )
        .await;
    assert_eq!(by_dev.status, StatusCode::FORBIDDEN, "{}", by_dev.body);
    let approved = owner
        .post_then_follow(
            &format!("/portal/subscriptions/{sub_id}/approve"),
            &[("csrf", &dash.csrf()), ("back", "/portal/owner")],
        )
        .await;
    assert!(approved.body.contains("Subscription approved."));
    assert!(approved.body.contains("No subscription is waiting"));

    // The key works within the sync interval.
    let mut status = StatusCode::FORBIDDEN;
    for _ in 0..40 {
        status = call(api_key.clone()).await;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK);
    s.flush_usage().await;

    // The owner sees the call in the usage chart.
    let usage = owner.get("/portal/owner/apis/orders?days=7").await;
    assert_eq!(usage.status, StatusCode::OK);
    assert!(usage.body.contains("<svg"), "a real chart");
    assert!(usage.body.contains("billing"));
    assert!(
        usage.body.contains("1 request in the last 7 days"),
        "{}",
        usage.body
    );

    // Revoke the key from the application page: refused at the gateway.
    let app_page = dev.get(&format!("/portal/apps/{app_id}")).await;
    let key_id = {
        let m = "/api-keys/";
        let i = app_page.body.find(m).unwrap() + m.len();
        app_page.body[i..i + app_page.body[i..].find('/').unwrap()].to_owned()
    };
    let revoked = dev
        .post_then_follow(
            &format!("/portal/apps/{app_id}/api-keys/{key_id}/revoke"),
            &[("csrf", &app_page.csrf())],
        )
        .await;
    assert!(revoked.body.contains("API key revoked."));
    let mut status = StatusCode::OK;
    for _ in 0..40 {
        status = call(api_key.clone()).await;
        if status != StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pages_refuse_strangers_forged_forms_and_bad_sign_ins() {
    let s = TestServer::start().await;
    create_user(&s, "a@example.com").await;
    create_user(&s, "b@example.com").await;

    // Signed out: every page sends to the sign-in page and comes back.
    let mut anon = Browser::new(&s);
    let p = anon.get("/portal/apps").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(
        p.location.as_deref(),
        Some("/portal/signin?next=/portal/apps")
    );
    let p = anon.post("/portal/apps", &[("name", "x")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);

    // A sign-in form without the pre-session is refused (login CSRF).
    let mut fresh = Browser::new(&s);
    let p = fresh
        .post(
            "/portal/signin",
            &[
                ("email", "a@example.com"),
                ("password", PASSWORD),
                ("csrf", "x"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(!fresh.cookies.contains_key("gatehouse_session"));

    // Wrong password: the same generic answer as an unknown email.
    let wrong = anon.sign_in("a@example.com", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Email or password is incorrect."));
    let unknown = anon.sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.body.contains("Email or password is incorrect."));

    // `next` only goes to portal pages.
    let form = anon.get("/portal/signin?next=//evil.example/portal").await;
    assert!(!form.body.contains("evil.example"));
    let mut a = Browser::new(&s);
    let form = a.get("/portal/signin?next=/portal/apps/new").await;
    let p = a
        .post(
            "/portal/signin",
            &[
                ("email", "a@example.com"),
                ("password", PASSWORD),
                ("csrf", &form.csrf()),
                ("next", &hidden(&form.body, "next").unwrap()),
            ],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some("/portal/apps/new"));

    // A forged form (no or someone else's CSRF token) creates nothing.
    let mut b = Browser::new(&s);
    b.sign_in("b@example.com", PASSWORD).await;
    let b_form = b.get("/portal/apps/new").await;
    let p = a
        .post(
            "/portal/apps",
            &[("name", "forged"), ("csrf", &b_form.csrf())],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = a.post("/portal/apps", &[("name", "forged")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let (_, apps) = s
        .admin_json(Method::GET, "/admin/v1/applications", None)
        .await;
    assert!(!apps.to_string().contains("forged"), "{apps}");

    // Bad input: re-shown with the reason, nothing created; a hostile name is escaped.
    let a_form = a.get("/portal/apps/new").await;
    let long = "x".repeat(5000);
    let p = a
        .post("/portal/apps", &[("name", &long), ("csrf", &a_form.csrf())])
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("name must be"), "{}", p.body);
    let p = a
        .post(
            "/portal/apps",
            &[
                ("name", "<script>alert(1)</script>"),
                ("csrf", &a_form.csrf()),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(!p.body.contains("<script>alert(1)"));
    let a_app = {
        let m = r#"<code id="client-id">"#;
        let i = p.body.find(m).unwrap() + m.len();
        p.body[i..i + p.body[i..].find('<').unwrap()].to_owned()
    };

    // Another developer's application does not exist for b; admin pages are refused.
    let p = b.get(&format!("/portal/apps/{a_app}")).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let p = b
        .post(
            &format!("/portal/apps/{a_app}/api-keys"),
            &[("csrf", &b_form.csrf())],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let p = b.get("/portal/admin").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(!b.get("/portal/apis").await.body.contains("/portal/admin\""));

    // Signing out ends the session for the API too.
    let page = a.get("/portal/apps").await;
    let cookie = a.cookies["gatehouse_session"].clone();
    let out = a
        .post_then_follow("/portal/signout", &[("csrf", &page.csrf())])
        .await;
    assert!(out.body.contains("You are signed out."));
    let resp = s
        .http
        .get(s.at("/admin/v1/me"))
        .header(header::COOKIE, format!("gatehouse_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // Assets are served from the binary with an ETag.
    let css = anon.get("/portal/assets/portal.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers.contains_key(header::ETAG));
}
