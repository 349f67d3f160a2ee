//! WebSockets through the gateway: the upgrade is routed, authenticated, authorized and given
//! identity headers like any request; a `101` from the backend becomes a tunnel that ends when
//! either side closes; any other answer comes back as it is.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code fails loudly"
)]

use crate::common;

use std::time::Duration;

use common::{ORDERS, TestClient, TestServer};
use futures_util::{SinkExt as _, StreamExt as _};
use gatehouse_testkit::echo::{Echo, WS_CLOSE, WS_PATH, WS_PROTOCOL};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::{self, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Nothing here may take long: a hang is a failure.
const PATIENCE: Duration = Duration::from_secs(10);

/// A server whose gateway protects `orders` (which needs `orders:read`) on the echo upstream:
/// `/ws` is the WebSocket operation, every other path a plain one.
async fn start(echo: &Echo) -> TestServer {
    let toml = format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
[[gateway.apis]]
api = "orders"
upstreams = ["{}"]
scopes = ["orders:read"]
[[gateway.apis.routes]]
operation = "stream"
path = "{WS_PATH}"
methods = ["GET"]
[[gateway.apis.routes]]
operation = "any"
path = "/*"
"#,
        echo.url()
    );
    let s = TestServer::start_with_config(&toml).await;
    s.create_api("orders", ORDERS, &["orders:read", "orders:write"])
        .await;
    s
}

/// A client granted `scopes` on orders, and a token for it.
async fn client_token(s: &TestServer, scopes: &[&str]) -> (TestClient, String) {
    let c = s.create_client("billing", "client_secret_basic").await;
    s.grant(&c.id, "orders", scopes).await;
    let t = s.access_token(&c, &[("resource", ORDERS)]).await;
    (c, t)
}

/// Opens a WebSocket to `path` on the gateway, with `headers` on the upgrade request.
async fn connect(
    s: &TestServer,
    path: &str,
    headers: &[(&'static str, String)],
) -> Result<(Ws, http::Response<Option<Vec<u8>>>), WsError> {
    let url = s.gw(path).replacen("http://", "ws://", 1);
    let mut req = url.into_client_request().unwrap();
    for (name, value) in headers {
        req.headers_mut()
            .insert(*name, HeaderValue::from_str(value).unwrap());
    }
    tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(req))
        .await
        .expect("the upgrade is answered")
}

/// The gateway's answer to an upgrade it (or the backend) refused.
async fn refused(
    s: &TestServer,
    path: &str,
    headers: &[(&'static str, String)],
) -> http::Response<Option<Vec<u8>>> {
    match connect(s, path, headers).await {
        Err(WsError::Http(resp)) => *resp,
        Err(e) => panic!("expected an HTTP answer, got {e}"),
        Ok((_, resp)) => panic!("expected a refusal, got {}", resp.status()),
    }
}

/// The next message, within [`PATIENCE`].
async fn next(ws: &mut Ws) -> Option<Message> {
    tokio::time::timeout(PATIENCE, ws.next())
        .await
        .expect("a message or the end in time")
        .map(|m| m.expect("a well-formed message"))
}

/// Reads to the end of the stream: at most a close frame, then nothing, the closing handshake
/// complete (a connection dropped without it fails).
async fn ended(ws: &mut Ws) {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next()).await {
            Err(_) => panic!("the WebSocket did not end"),
            Ok(None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed))) => return,
            Ok(Some(Ok(Message::Close(_)))) => {}
            Ok(Some(Ok(m))) => panic!("message after the close: {m:?}"),
            Ok(Some(Err(e))) => panic!("unexpected error: {e}"),
        }
    }
}

/// Waits until `done` holds, within [`PATIENCE`].
async fn eventually(what: &str, done: impl Fn() -> bool) {
    tokio::time::timeout(PATIENCE, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting until {what}"));
}

fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

#[tokio::test]
async fn websocket_echoes_through_the_gateway_with_verified_identity_only() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let (c, token) = client_token(&s, &["orders:read"]).await;
    let (mut ws, resp) = connect(
        &s,
        WS_PATH,
        &[
            bearer(&token),
            ("x-gatehouse-client-id", "spoofed".into()),
            ("sec-websocket-protocol", WS_PROTOCOL.into()),
        ],
    )
    .await
    .expect("upgrade through the gateway");
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    // The backend's Sec-WebSocket-* answer reaches the client (tungstenite checked the accept key).
    assert_eq!(resp.headers()["sec-websocket-protocol"], WS_PROTOCOL);

    // What the backend saw: the verified identity, the upgrade, never the caller's credential.
    let Some(Message::Text(seen)) = next(&mut ws).await else {
        panic!("the echo reports the upgrade request first");
    };
    let seen: Value = serde_json::from_str(&seen).unwrap();
    let h = &seen["headers"];
    assert_eq!(seen["path"], WS_PATH);
    assert_eq!(h["x-gatehouse-client-id"], c.id.as_str(), "{seen}");
    assert_eq!(h["x-gatehouse-operation"], "stream");
    assert_eq!(h["x-gatehouse-scopes"], "orders:read");
    assert!(h.get("authorization").is_none(), "{seen}");
    assert_eq!(h["upgrade"], "websocket");
    assert_eq!(h["connection"], "upgrade");
    assert_eq!(h["sec-websocket-version"], "13");
    assert!(h.get("sec-websocket-key").is_some());
    assert_eq!(h["sec-websocket-protocol"], WS_PROTOCOL);

    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::text("hello")));
    let bytes = vec![0u8, 1, 2, 0xfe, 0xff];
    ws.send(Message::binary(bytes.clone())).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::binary(bytes)));

    // The client closes: the close reaches the backend, which ends its side.
    ws.close(None).await.unwrap();
    ended(&mut ws).await;
    eventually("the backend saw the close", || echo.websockets_open() == 0).await;
    assert_eq!(echo.websockets_accepted(), 1);

    // The gateway still serves, on fresh connections both sides.
    let r = s
        .http
        .get(s.gw("/orders/1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (mut ws, _) = connect(&s, WS_PATH, &[bearer(&token)]).await.unwrap();
    assert!(matches!(next(&mut ws).await, Some(Message::Text(_))));
    drop(ws);
    eventually("the backend saw the client go away", || {
        echo.websockets_open() == 0
    })
    .await;

    // The 101s are counted like any other answer.
    s.flush_usage().await;
    let usage: Value = s
        .admin(
            reqwest::Method::GET,
            "/admin/v1/apis/orders/usage?by=operation",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stream = usage["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "stream")
        .unwrap_or_else(|| panic!("stream in {usage}"));
    assert_eq!(stream["by_class"], json!({"1xx": 2}), "{usage}");
    s.stop().await;
}

#[tokio::test]
async fn backend_closing_the_websocket_ends_the_tunnel() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let (_, token) = client_token(&s, &["orders:read"]).await;
    let (mut ws, _) = connect(&s, WS_PATH, &[bearer(&token)]).await.unwrap();
    assert!(matches!(next(&mut ws).await, Some(Message::Text(_))));
    ws.send(Message::text(WS_CLOSE)).await.unwrap();
    assert!(matches!(next(&mut ws).await, Some(Message::Close(_))));
    ended(&mut ws).await;
    eventually("the backend closed", || echo.websockets_open() == 0).await;
    s.stop().await;
}

#[tokio::test]
async fn websocket_upgrade_without_a_token_is_challenged_and_not_upgraded() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let resp = refused(&s, WS_PATH, &[]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");

    let resp = refused(&s, WS_PATH, &[bearer("not-a-token")]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert_eq!(echo.websockets_accepted(), 0, "nothing reached the backend");
    s.stop().await;
}

#[tokio::test]
async fn websocket_upgrade_with_a_token_lacking_the_scope_is_forbidden() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let (_, token) = client_token(&s, &["orders:write"]).await;
    let resp = refused(&s, WS_PATH, &[bearer(&token)]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    assert_eq!(echo.websockets_accepted(), 0);
    s.stop().await;
}

#[tokio::test]
async fn backend_refusing_the_upgrade_answers_the_client_without_a_hang() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let (_, token) = client_token(&s, &["orders:read"]).await;
    // A path that is no WebSocket endpoint: the backend answers with a status, not 101.
    let resp = refused(&s, "/status/400", &[bearer(&token)]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = refused(&s, "/orders/1", &[bearer(&token)]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // Neither answer left a broken connection in the gateway's pool.
    for _ in 0..3 {
        let r = s
            .http
            .get(s.gw("/orders/1"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    s.stop().await;
}

#[tokio::test]
async fn other_upgrade_protocols_are_forwarded_as_plain_requests() {
    let echo = Echo::start().await;
    let s = start(&echo).await;
    let (_, token) = client_token(&s, &["orders:read"]).await;
    let addr = s.gw("").trim_start_matches("http://").to_owned();
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "GET /orders/1 HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         connection: upgrade, close\r\nupgrade: h2c\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let body = text.split_once("\r\n\r\n").unwrap().1;
    let seen: Value = serde_json::from_str(body).unwrap();
    assert!(seen["headers"].get("upgrade").is_none(), "{seen}");
    assert!(seen["headers"].get("connection").is_none(), "{seen}");
    s.stop().await;
}
