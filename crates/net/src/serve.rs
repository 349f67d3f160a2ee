//! Serving a router on a listener: HTTP/1.1 and HTTP/2 (prior knowledge), a header read timeout
//! against slow clients, a cap on header size, and graceful drain on shutdown.
//!
//! One accept loop ([`serve_connections`]) serves every listener; what differs between plain TCP
//! and TLS is the [`Handshake`] run in each connection's task before HTTP starts.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// Connection limits of a listener.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// How long a client may take to send a request's headers (slow clients are cut off).
    pub header_read_timeout: Duration,
    /// Largest request head (request line and headers) accepted, in bytes.
    pub max_header_bytes: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
        }
    }
}
/// How long in-flight requests may take to finish after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A listener that must not be opened as configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListenError {
    /// Plain HTTP requested on a non-loopback address without the explicit opt-in.
    #[error(
        "refusing to serve plain HTTP on non-loopback address {0}: configure TLS, listen on 127.0.0.1, or pass --insecure-http"
    )]
    PlainHttpNotLoopback(SocketAddr),
}

/// Plain HTTP is allowed only on loopback, unless the operator explicitly opts in.
pub fn check_plain_http_allowed(addr: SocketAddr, insecure_http: bool) -> Result<(), ListenError> {
    if addr.ip().is_loopback() || insecure_http {
        Ok(())
    } else {
        Err(ListenError::PlainHttpNotLoopback(addr))
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and lets
/// in-flight requests finish (up to 30 s). Handlers see the peer as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, shutdown, ServeOptions::default()).await
}

/// [`serve`] with explicit connection limits.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> std::io::Result<()> {
    serve_connections(listener, router, shutdown, options, PlainTcp).await
}

/// Turns an accepted TCP connection into the stream HTTP is served on (plain TCP as is, or a
/// TLS session), plus what every request on that connection carries as extensions.
///
/// Runs in the connection's own task, never in the accept loop, so a slow peer stalls only
/// itself. `None` drops the connection (the implementation logs why).
pub(crate) trait Handshake: Send + Sync + 'static {
    /// The stream HTTP is served on.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// Per-connection facts added to each request's extensions.
    type Info: ConnectionInfo;

    /// Completes the handshake on `tcp`, accepted from `peer`.
    fn handshake(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
    ) -> impl Future<Output = Option<(Self::Io, Self::Info)>> + Send;
}

/// Per-connection facts copied into the extensions of every request on the connection.
pub(crate) trait ConnectionInfo: Clone + Send + Sync + 'static {
    /// Adds this connection's facts to one request's extensions.
    fn insert_into(&self, extensions: &mut http::Extensions);
}

/// Plain TCP: no handshake, nothing beyond the peer address.
struct PlainTcp;

/// The accept loop shared by plain and TLS listeners: accepts until `shutdown` resolves, runs
/// each connection (handshake, then HTTP/1.1 or HTTP/2) in its own task, then drains.
pub(crate) async fn serve_connections<H: Handshake>(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
    handshake: H,
) -> std::io::Result<()> {
    let builder = Arc::new(http_builder(options));
    let handshake = Arc::new(handshake);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            Arc::clone(&builder),
            Arc::clone(&handshake),
            graceful.watcher(),
            router.clone(),
            stream,
            peer,
        ));
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within 30s of shutdown");
    }
    Ok(())
}

/// HTTP/1.1 and HTTP/2 (detected from the first bytes) with the listener's limits.
fn http_builder(options: ServeOptions) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(options.max_header_bytes);
    builder.http2().timer(TokioTimer::new());
    builder
}

/// One connection, in its own task: the handshake, then HTTP until the peer leaves or the drain
/// (announced through `watcher`) closes it. Each request carries `ConnectInfo<SocketAddr>` and
/// the handshake's [`ConnectionInfo`].
async fn serve_connection<H: Handshake>(
    builder: Arc<Builder<TokioExecutor>>,
    handshake: Arc<H>,
    watcher: Watcher,
    router: Router,
    stream: TcpStream,
    peer: SocketAddr,
) {
    let Some((io, info)) = handshake.handshake(stream, peer).await else {
        return;
    };
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        info.insert_into(req.extensions_mut());
        router.clone().oneshot(req.map(axum::body::Body::new))
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

// === impl PlainTcp ===

impl Handshake for PlainTcp {
    type Io = TcpStream;
    type Info = ();

    async fn handshake(&self, tcp: TcpStream, _peer: SocketAddr) -> Option<(TcpStream, ())> {
        Some((tcp, ()))
    }
}

impl ConnectionInfo for () {
    fn insert_into(&self, _extensions: &mut http::Extensions) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn plain_http_is_refused_off_loopback_without_opt_in() {
        let lo: SocketAddr = "127.0.0.1:7070".parse().unwrap();
        let lo6: SocketAddr = "[::1]:7070".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:7070".parse().unwrap();
        assert!(check_plain_http_allowed(lo, false).is_ok());
        assert!(check_plain_http_allowed(lo6, false).is_ok());
        assert!(check_plain_http_allowed(any, false).is_err());
        assert!(check_plain_http_allowed(any, true).is_ok());
    }

    async fn start() -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        start_with(ServeOptions::default()).await
    }

    async fn start_with(
        options: ServeOptions,
    ) -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route(
            "/peer",
            axum::routing::get(|ConnectInfo(p): ConnectInfo<SocketAddr>| async move {
                p.ip().to_string()
            }),
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve_with(
            listener,
            router,
            async move {
                let _ = rx.await;
            },
            options,
        ));
        (addr, tx, task)
    }

    #[tokio::test]
    async fn handlers_see_the_peer_address() {
        let (addr, stop, task) = start().await;
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /peer HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.ends_with("127.0.0.1"), "{out}");
        stop.send(()).unwrap();
        task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn oversized_request_head_is_refused() {
        let (addr, _stop, _task) = start().await;
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let big = format!(
            "GET /peer HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
            "a".repeat(ServeOptions::default().max_header_bytes * 2)
        );
        let _ = s.write_all(big.as_bytes()).await;
        let mut out = String::new();
        let _ = s.read_to_string(&mut out).await;
        assert!(out.is_empty() || out.starts_with("HTTP/1.1 431"), "{out}");
    }

    #[tokio::test]
    async fn slow_client_is_cut_off_after_the_header_read_timeout() {
        let options = ServeOptions {
            header_read_timeout: Duration::from_millis(200),
            ..ServeOptions::default()
        };
        let (addr, _stop, _task) = start_with(options).await;
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /peer HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
        assert!(
            read.is_ok(),
            "the server must close a connection whose headers never complete"
        );
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
}
