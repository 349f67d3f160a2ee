//! The gateway listener, shared by `gatehouse serve` and `gatehouse gateway`: plain HTTP (on
//! loopback unless `--insecure-http`), or TLS with the certificate from `[gateway.tls]`
//! (reloaded on SIGHUP) and client certificates requested when an API accepts `mtls`.
//!
//! By default the listener is served by one single-threaded runtime per CPU, each accepting on
//! its own `SO_REUSEPORT` socket bound to the same address (the nginx worker model). A
//! connection then lives on one thread from accept to upstream response: the proxy's hops
//! between the client connection, the upstream connection (from that thread's own pool) and the
//! response body are wake-ups on the same thread, never cross-thread hand-offs. `workers = 0`
//! serves it on the process's shared runtime instead.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use gatehouse_gateway::GatewaySpec;
use gatehouse_net::{CertResolver, ClientCerts, TlsSettings, check_plain_http_allowed};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The listener's TLS: the swappable certificate and where it is read from.
#[derive(Debug, Clone)]
pub struct GatewayTls {
    /// The certificate in use (swapped by [`GatewayTls::reload`]).
    pub resolver: Arc<CertResolver>,
    /// Its files.
    pub settings: TlsSettings,
    config: Arc<rustls::ServerConfig>,
}

/// The bound gateway sockets: one per worker (all on one address), or one for the shared
/// runtime.
#[derive(Debug)]
pub struct Bound {
    /// The address every socket is bound to.
    pub addr: SocketAddr,
    sockets: Vec<std::net::TcpListener>,
    workers: usize,
}

impl GatewayTls {
    /// Reads the certificate files again; on error the old certificate stays.
    pub fn reload(&self) -> Result<(), gatehouse_net::TlsConfigError> {
        self.resolver.reload(&self.settings)
    }
}

/// Checks the listener settings and loads the TLS certificate (before binding anything).
pub fn prepare(spec: &GatewaySpec, insecure_http: bool) -> anyhow::Result<Option<GatewayTls>> {
    let Some(tls) = &spec.tls else {
        check_plain_http_allowed(spec.listen, insecure_http)?;
        return Ok(None);
    };
    let settings = TlsSettings::new(&tls.cert_file, &tls.key_file);
    let resolver = Arc::new(CertResolver::load(&settings).context("gateway.tls")?);
    let client_certs = if tls.request_client_certs {
        ClientCerts::Request
    } else {
        ClientCerts::Off
    };
    let config =
        gatehouse_net::server_config(Arc::clone(&resolver), client_certs).context("gateway.tls")?;
    Ok(Some(GatewayTls {
        resolver,
        settings,
        config,
    }))
}

/// Binds `spec.listen`: `spec.workers` sockets sharing the address with `SO_REUSEPORT` (the
/// first one resolves a port 0), or a single socket when `workers` is 0.
pub fn bind(spec: &GatewaySpec) -> anyhow::Result<Bound> {
    let what = || format!("binding gateway.listen {}", spec.listen);
    if spec.workers > 0 && spec.listen.port() != 0 {
        // SO_REUSEPORT would let a second gateway on this port share the traffic silently
        // (an old process still running an old config): a plain bind first fails if anyone
        // listens there already.
        drop(socket(spec.listen, false).with_context(what)?);
    }
    let first = socket(spec.listen, spec.workers > 0).with_context(what)?;
    let addr = first.local_addr().with_context(what)?;
    let mut sockets = vec![first];
    for _ in 1..spec.workers {
        sockets.push(socket(addr, true).with_context(what)?);
    }
    Ok(Bound {
        addr,
        sockets,
        workers: spec.workers,
    })
}

fn socket(addr: SocketAddr, reuse_port: bool) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    #[cfg(not(unix))]
    let _ = reuse_port;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Serves `app` on the bound sockets until `stop` turns true; the handle resolves when every
/// worker has drained.
pub fn spawn(
    bound: Bound,
    tls: Option<&GatewayTls>,
    app: Router,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let tls = tls.map(|t| Arc::clone(&t.config));
    if bound.workers == 0 {
        let std_listener = bound
            .sockets
            .into_iter()
            .next()
            .context("no gateway socket")?;
        let listener = TcpListener::from_std(std_listener)?;
        return Ok(tokio::spawn(serve(listener, tls, app, stop)));
    }
    let mut done = Vec::with_capacity(bound.workers);
    for (i, std_listener) in bound.sockets.into_iter().enumerate() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (tls, app, stop) = (tls.clone(), app.clone(), stop.clone());
        std::thread::Builder::new()
            .name(format!("gateway-{i}"))
            .spawn(move || {
                let result = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .and_then(|rt| {
                        rt.block_on(async move {
                            let listener = TcpListener::from_std(std_listener)?;
                            serve(listener, tls, app, stop).await
                        })
                    });
                let _ = tx.send(result);
            })
            .context("starting a gateway worker thread")?;
        done.push(rx);
    }
    Ok(tokio::spawn(async move {
        for rx in done {
            match rx.await {
                Ok(result) => result?,
                Err(_) => return Err(std::io::Error::other("a gateway worker thread died")),
            }
        }
        Ok(())
    }))
}

async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    match tls {
        Some(config) => gatehouse_net::serve_tls(listener, config, app, shutdown).await,
        None => gatehouse_net::serve(listener, app, shutdown).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(listen: SocketAddr, workers: usize) -> GatewaySpec {
        gatehouse_gateway::RawGateway {
            listen: Some(listen.to_string()),
            workers: Some(workers),
            ..Default::default()
        }
        .validate()
        .unwrap()
        .unwrap()
    }

    #[test]
    fn workers_share_one_address_but_never_one_taken_by_another_process() {
        let bound = bind(&spec("127.0.0.1:0".parse().unwrap(), 2)).unwrap();
        assert_ne!(bound.addr.port(), 0);
        assert_eq!(bound.sockets.len(), 2);
        // Someone else (a plain listener, or another gateway) holds the port: refuse.
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        assert!(bind(&spec(addr, 2)).is_err());
        assert!(bind(&spec(bound.addr, 2)).is_err());
        assert_eq!(
            bind(&spec("127.0.0.1:0".parse().unwrap(), 0))
                .unwrap()
                .sockets
                .len(),
            1
        );
    }
}
