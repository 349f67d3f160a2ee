//! Serving a router on a listener with graceful drain.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

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
/// in-flight requests finish. Handlers see the peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
