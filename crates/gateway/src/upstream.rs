//! Forwarding to the backend over pooled HTTP/1.1 connections, with a timeout until the
//! response head arrives; bodies stream both ways.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use http::{Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::GatewayError;

/// A pooled HTTP client and round-robin upstream selection for one API.
#[derive(Debug)]
pub struct Upstreams {
    bases: Vec<Uri>,
    next: AtomicUsize,
}

/// The shared connection pool.
pub type HttpClient = Client<HttpConnector, Body>;

/// A client with keep-alive pooling.
pub fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector)
}

impl Upstreams {
    /// Upstreams from base URLs (validated by the spec).
    pub fn new(bases: Vec<Uri>) -> Self {
        Self {
            bases,
            next: AtomicUsize::new(0),
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

/// Sends `req` and waits for the response head at most `timeout`.
pub async fn send(
    client: &HttpClient,
    req: Request<Body>,
    timeout: Duration,
) -> Result<Response<Body>, GatewayError> {
    match tokio::time::timeout(timeout, client.request(req)).await {
        Err(_) => Err(GatewayError::GatewayTimeout),
        Ok(Err(e)) if body_over_limit(&e) => Err(GatewayError::PayloadTooLarge),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "upstream request failed");
            Err(GatewayError::BadGateway)
        }
        Ok(Ok(resp)) => Ok(resp.map(Body::new)),
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
