//! Legacy HTTP Basic at the gateway: the client id and one of its client secrets, holding the
//! scopes of the application's subscription; off unless the API accepts `basic`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code fails loudly"
)]

use crate::common;

use common::TestServer;
use gatehouse_testkit::echo::Echo;
use serde_json::Value;

#[tokio::test]
async fn basic_credentials_work_only_where_accepted_and_only_with_a_valid_secret() {
    let echo = Echo::start().await;
    let toml = format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
[[gateway.apis]]
api = "legacy"
upstreams = ["{up}"]
accept = ["basic"]
[[gateway.apis.routes]]
operation = "get"
path = "/legacy"
[[gateway.apis]]
api = "modern"
upstreams = ["{up}"]
[[gateway.apis.routes]]
operation = "get"
path = "/modern"
"#,
        up = echo.url()
    );
    let s = TestServer::start_with_config(&toml).await;
    s.create_api("legacy", "https://legacy.example", &[]).await;
    s.create_api("modern", "https://modern.example", &[]).await;
    let c = s.create_client("old-app", "client_secret_basic").await;
    let get = |path: &str, user: &str, pass: &str| {
        s.http.get(s.gw(path)).basic_auth(user, Some(pass)).send()
    };

    // No subscription yet: authenticated but not allowed.
    assert_eq!(
        get("/legacy", &c.id, c.secret()).await.unwrap().status(),
        403
    );
    s.grant(&c.id, "legacy", &[]).await;
    s.grant(&c.id, "modern", &[]).await;
    let r = get("/legacy", &c.id, c.secret()).await.unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-gatehouse-client-id"], c.id.as_str());
    assert!(
        seen["headers"].get("authorization").is_none(),
        "credentials never reach the backend"
    );

    let wrong = get("/legacy", &c.id, "gatehouse_cs_wrong").await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.headers()["www-authenticate"],
        "Basic realm=\"gatehouse\""
    );
    assert_eq!(
        get("/legacy", "app_unknown", c.secret())
            .await
            .unwrap()
            .status(),
        401
    );
    // An API that does not accept basic refuses it even with the right secret.
    assert_eq!(
        get("/modern", &c.id, c.secret()).await.unwrap().status(),
        401
    );
    s.stop().await;
}
