//! Forwarding to the backend over pooled HTTP/1.1 connections, with a timeout until the
//! response head arrives; bodies stream both ways.
//!
//! Plain `http://` APIs share the gateway's one pool. An API with `https://` upstreams gets its
//! own pool, built on first use from the API's [`UpstreamTls`] (trusted CA, client certificate),
//! so one API's client identity is never presented to another API's backend.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use http::{Request, Response, Uri};
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;

use crate::GatewayError;
use crate::spec::ApiSpec;
use crate::tls::UpstreamTls;

/// Round-robin upstream selection for one API, and its TLS pool when its upstreams are `https://`.
#[derive(Debug)]
pub struct Upstreams {
    bases: Vec<Uri>,
    next: AtomicUsize,
    tls: OnceLock<TlsClient>,
}

/// The shared connection pool for plain `http://` upstreams.
pub type HttpClient = Client<HttpConnector, Body>;

/// One API's pool of TLS connections.
pub type TlsClient = Client<HttpsConnector<HttpConnector>, Body>;

/// The pool a request goes through.
#[derive(Debug, Clone, Copy)]
pub enum Pool<'a> {
    /// The gateway's shared plain-HTTP pool.
    Plain(&'a HttpClient),
    /// The API's own TLS pool.
    Tls(&'a TlsClient),
}

/// A client with keep-alive pooling.
pub fn http_client() -> HttpClient {
    pooled(tcp_connector())
}

thread_local! {
    /// This thread's pool for plain upstreams. A gateway worker thread (one runtime per CPU)
    /// thus keeps every upstream connection it uses on its own thread.
    static PLAIN: HttpClient = http_client();
}

/// The calling thread's plain-HTTP pool (a cheap handle).
pub fn thread_client() -> HttpClient {
    PLAIN.with(HttpClient::clone)
}

/// A pooled client for one API's `https://` upstreams (HTTP/1.1 over TLS).
pub fn tls_client(tls: &UpstreamTls) -> TlsClient {
    // No ALPN: the pool speaks HTTP/1.1 only. hyper-rustls sets ALPN itself when asked for h2
    // and panics on a config that already has some, so clear it whatever the spec holds.
    let mut config = (*tls.config).clone();
    config.alpn_protocols.clear();
    let builder = HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only();
    let builder = match &tls.server_name {
        Some(name) => builder.with_server_name_resolver(FixedServerNameResolver::new(name.clone())),
        None => builder,
    };
    let mut tcp = tcp_connector();
    tcp.enforce_http(false);
    pooled(builder.enable_http1().wrap_connector(tcp))
}

fn tcp_connector() -> HttpConnector {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    connector
}

fn pooled<C: Connect + Clone>(connector: C) -> Client<C, Body> {
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector)
}

// === impl Upstreams ===

impl Upstreams {
    /// Upstreams from base URLs (validated by the spec).
    pub fn new(bases: Vec<Uri>) -> Self {
        Self {
            bases,
            next: AtomicUsize::new(0),
            tls: OnceLock::new(),
        }
    }

    /// The pool for `api` (whose upstreams these are): its TLS pool when it has TLS settings,
    /// otherwise the shared `plain` one.
    pub fn pool<'a>(&'a self, plain: &'a HttpClient, api: &ApiSpec) -> Pool<'a> {
        match &api.upstream_tls {
            Some(tls) => Pool::Tls(self.tls.get_or_init(|| tls_client(tls))),
            None => Pool::Plain(plain),
        }
    }

    /// The backend URI for a request path and query, on the next upstream.
    pub fn target(&self, path_and_query: &str) -> Result<Uri, GatewayError> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let base = self
            .bases
            .get(n % self.bases.len().max(1))
            .ok_or(GatewayError::Internal)?;
        let prefix = base.path().trim_end_matches('/');
        let authority = base.authority().ok_or(GatewayError::Internal)?;
        let scheme = base.scheme_str().unwrap_or("http");
        format!("{scheme}://{authority}{prefix}{path_and_query}")
            .parse()
            .map_err(|_| GatewayError::Internal)
    }
}

/// Sends `req` through `pool` and waits for the response head at most `timeout`.
pub async fn send<'a>(
    pool: impl Into<Pool<'a>>,
    req: Request<Body>,
    timeout: Duration,
) -> Result<Response<Body>, GatewayError> {
    let pending = match pool.into() {
        Pool::Plain(client) => client.request(req),
        Pool::Tls(client) => client.request(req),
    };
    match tokio::time::timeout(timeout, pending).await {
        Err(_) => Err(GatewayError::GatewayTimeout),
        Ok(Err(e)) if body_over_limit(&e) => Err(GatewayError::PayloadTooLarge),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "upstream request failed");
            Err(GatewayError::BadGateway)
        }
        Ok(Ok(resp)) => Ok(resp.map(Body::new)),
    }
}

impl<'a> From<&'a HttpClient> for Pool<'a> {
    fn from(client: &'a HttpClient) -> Self {
        Self::Plain(client)
    }
}

/// Whether a failed upstream request failed because the client's (streamed) body passed the
/// API's limit: a client fault (413), not an upstream one.
fn body_over_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}
