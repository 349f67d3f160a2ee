//! An echo upstream for gateway tests: answers every request with a JSON description of what it
//! received (method, path, query, headers, body length), on `127.0.0.1:0`.
//!
//! Special paths: `/slow?ms=N` waits N milliseconds before answering; `/status/N` answers N;
//! [`WS_PATH`] accepts a WebSocket upgrade (offering the [`WS_PROTOCOL`] subprotocol), sends the
//! same JSON description of the upgrade request as its first text message, then echoes every
//! text and binary message; the text message [`WS_CLOSE`] makes it close the connection itself
//! (a `GET` there that is no upgrade is refused; other methods are echoed).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// The path of the WebSocket echo.
pub const WS_PATH: &str = "/ws";
/// The subprotocol the WebSocket echo selects when the client offers it.
pub const WS_PROTOCOL: &str = "echo";
/// The text message after which the WebSocket echo closes the connection itself.
pub const WS_CLOSE: &str = "close";

/// A running echo server; stops when dropped.
#[derive(Debug)]
pub struct Echo {
    /// Its address.
    pub addr: SocketAddr,
    sockets: Arc<Sockets>,
    task: tokio::task::JoinHandle<()>,
}

/// WebSocket connections of the echo server.
#[derive(Debug, Default)]
struct Sockets {
    accepted: AtomicUsize,
    open: AtomicUsize,
}

/// Counts a WebSocket connection as open for as long as it lives.
struct OpenGuard(Arc<Sockets>);

impl Echo {
    /// Starts an echo server on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind echo");
        let addr = listener.local_addr().expect("echo addr");
        let sockets = Arc::new(Sockets::default());
        let app = axum::Router::new()
            .route(WS_PATH, axum::routing::get(websocket).fallback(echo))
            .fallback(echo)
            .with_state(Arc::clone(&sockets));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            sockets,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// WebSocket connections accepted so far.
    pub fn websockets_accepted(&self) -> usize {
        self.sockets.accepted.load(Ordering::SeqCst)
    }

    /// WebSocket connections open now (one ends when its peer closes or goes away).
    pub fn websockets_open(&self) -> usize {
        self.sockets.open.load(Ordering::SeqCst)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn websocket(
    State(sockets): State<Arc<Sockets>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let seen = describe(&method, &uri, &headers, 0).to_string();
    ws.protocols([WS_PROTOCOL]).on_upgrade(move |socket| {
        sockets.accepted.fetch_add(1, Ordering::SeqCst);
        sockets.open.fetch_add(1, Ordering::SeqCst);
        echo_messages(socket, seen, OpenGuard(sockets))
    })
}

/// Sends `seen`, then echoes until the connection closes (the peer's close, or the echo's own
/// after [`WS_CLOSE`]).
async fn echo_messages(mut socket: WebSocket, seen: String, _open: OpenGuard) {
    if socket.send(Message::text(seen)).await.is_err() {
        return;
    }
    while let Some(Ok(msg)) = socket.recv().await {
        let reply = match msg {
            // Reading on after a close completes the closing handshake: the stream then ends.
            Message::Text(t) if t.as_str() == WS_CLOSE => Message::Close(None),
            Message::Text(_) | Message::Binary(_) => msg,
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => continue,
        };
        if socket.send(reply).await.is_err() {
            return;
        }
    }
}

/// The JSON description of a request the echo sends back.
fn describe(method: &Method, uri: &Uri, headers: &HeaderMap, body_len: usize) -> serde_json::Value {
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                serde_json::Value::String(v.to_str().unwrap_or("").to_owned()),
            )
        })
        .collect();
    serde_json::json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query().unwrap_or(""),
        "headers": headers,
        "body_len": body_len,
    })
}

async fn echo(req: Request) -> impl IntoResponse {
    let (parts, body) = req.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    if path == "/slow" {
        let ms = query
            .strip_prefix("ms=")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let status = path
        .strip_prefix("/status/")
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let json = describe(&parts.method, &parts.uri, &parts.headers, body.len());
    (status, axum::Json(json))
}
