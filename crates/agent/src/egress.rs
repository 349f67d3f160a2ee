//! Egress: for applications that cannot change their code. Each configured destination gets a
//! loopback listener; the application calls it in plain HTTP as if it were the API, and the
//! agent forwards the request to the real upstream with `Authorization: Bearer <a token for
//! that destination's audience>` (replacing any the application sent), optionally presenting
//! the workload certificate for mTLS. Request bodies are buffered (up to 16 MiB); responses
//! are streamed back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use gatehouse_client::{TokenCache, TokenKey};
use http::{HeaderMap, HeaderName, StatusCode, header};
use parking_lot::Mutex;

use crate::certs::CertManager;

/// Largest request body forwarded.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// One destination.
#[derive(Debug, Clone)]
pub struct EgressRoute {
    /// Loopback address the application calls.
    pub listen: SocketAddr,
    /// Where requests go (`https://orders.internal`); the request path is appended.
    pub upstream: url::Url,
    /// The token audience for this destination.
    pub audience: String,
    /// Scopes to ask for (empty: all granted).
    pub scopes: Vec<String>,
    /// Present the workload certificate to the upstream.
    pub client_certificate: bool,
    /// Request timeout.
    pub timeout: Duration,
}

#[derive(Debug)]
struct Egress {
    route: EgressRoute,
    cache: Arc<TokenCache>,
    certs: Option<Arc<CertManager>>,
    /// The HTTP client, rebuilt when the workload certificate changes (by serial).
    client: Mutex<Option<(String, reqwest::Client)>>,
}

/// Why an egress route could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EgressError {
    /// Binding failed.
    #[error("egress {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let error = match status {
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::GATEWAY_TIMEOUT => "upstream_timeout",
        StatusCode::BAD_GATEWAY => "upstream_unavailable",
        _ => "invalid_request",
    };
    crate::routes::json_error(status, error, detail)
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) and what the agent sets itself.
fn skip(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authorization"
            | "proxy-authenticate"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "authorization"
            | "content-length"
    )
}

impl Egress {
    fn client(&self) -> Result<reqwest::Client, String> {
        let serial = match (&self.certs, self.route.client_certificate) {
            (Some(c), true) => match c.current() {
                Some(cert) => Some(cert),
                None => return Err("no workload certificate yet".into()),
            },
            (None, true) => return Err("client_certificate needs [agent.certificate]".into()),
            _ => None,
        };
        let wanted = serial
            .as_ref()
            .map_or_else(String::new, |c| c.signed.serial.clone());
        let mut slot = self.client.lock();
        if let Some((s, c)) = slot.as_ref()
            && *s == wanted
        {
            return Ok(c.clone());
        }
        let client = match &serial {
            // The same mTLS client the agent's own token requests use.
            Some(cert) => {
                let pem = format!("{}\n{}", cert.key_pem.as_str(), cert.signed.chain);
                gatehouse_client::mtls_client(&pem, &cert.signed.bundle, self.route.timeout)?
            }
            None => reqwest::Client::builder()
                .no_proxy()
                .connect_timeout(Duration::from_secs(5))
                .timeout(self.route.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| e.to_string())?,
        };
        *slot = Some((wanted, client.clone()));
        Ok(client)
    }

    async fn forward(&self, req: Request) -> Response {
        let mut url = self.route.upstream.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{}", req.uri().path()));
        url.set_query(req.uri().query());
        self.forward_to(req, url).await
    }

    async fn forward_to(&self, req: Request, url: url::Url) -> Response {
        let (parts, body) = req.into_parts();
        let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
            return problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body over 16 MiB or unreadable",
            );
        };
        let key = TokenKey::new(self.route.audience.clone(), self.route.scopes.clone());
        let token = match self.cache.get(&key).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(audience = %self.route.audience, error = %e, "egress: no token");
                return problem(StatusCode::BAD_GATEWAY, "no token for this destination");
            }
        };
        let client = match self.client() {
            Ok(c) => c,
            Err(e) => return problem(StatusCode::BAD_GATEWAY, &e),
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &parts.headers {
            if !skip(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        let resp = client
            .request(parts.method, url)
            .headers(headers)
            .bearer_auth(&*token.access_token)
            .body(body)
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return problem(
                    StatusCode::GATEWAY_TIMEOUT,
                    "the upstream did not answer in time",
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "egress: upstream unreachable");
                return problem(StatusCode::BAD_GATEWAY, "the upstream is unreachable");
            }
        };
        let mut out = Response::builder().status(resp.status());
        for (name, value) in resp.headers() {
            if !skip(name) || name == header::CONTENT_LENGTH {
                out = out.header(name, value);
            }
        }
        let stream = futures_util::stream::unfold(resp, |mut r| async move {
            match r.chunk().await {
                Ok(Some(bytes)) => Some((Ok::<_, reqwest::Error>(bytes), r)),
                Ok(None) => None,
                Err(e) => Some((Err(e), r)),
            }
        });
        out.body(Body::from_stream(stream))
            .unwrap_or_else(|_| problem(StatusCode::BAD_GATEWAY, "bad upstream response"))
    }
}

/// Non-loopback peers and browser pages (`Origin`) may not use egress.
fn refused(req: &Request) -> Option<Response> {
    let loopback = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback());
    if !loopback {
        return Some(problem(StatusCode::FORBIDDEN, "loopback callers only"));
    }
    if req.headers().contains_key(header::ORIGIN) {
        return Some(problem(
            StatusCode::FORBIDDEN,
            "cross-origin requests are refused",
        ));
    }
    None
}

async fn handle(State(e): State<Arc<Egress>>, req: Request) -> Response {
    if let Some(refusal) = refused(&req) {
        return refusal;
    }
    e.forward(req).await
}

/// The forward proxy (`HTTP_PROXY=http://127.0.0.1:PORT`): plain-HTTP requests in absolute
/// form to a configured host get that destination's token; other hosts, and `CONNECT` (HTTPS,
/// which a proxy cannot add headers to: use a per-destination listener), are refused.
#[derive(Debug)]
struct ForwardProxy {
    by_host: Vec<(String, Egress)>,
}

async fn proxy_handle(State(p): State<Arc<ForwardProxy>>, req: Request) -> Response {
    if let Some(refusal) = refused(&req) {
        return refusal;
    }
    if req.method() == http::Method::CONNECT {
        return problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "CONNECT is not supported: a proxy cannot add a token inside TLS; use an [[agent.egress]] listener for HTTPS destinations",
        );
    }
    let (Some(scheme), Some(authority)) = (req.uri().scheme_str(), req.uri().authority()) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "expected an absolute-form request (use this as HTTP_PROXY)",
        );
    };
    if scheme != "http" {
        return problem(StatusCode::BAD_REQUEST, "only http:// through the proxy");
    }
    let host = authority.as_str().to_ascii_lowercase();
    let Some((_, egress)) = p.by_host.iter().find(|(h, _)| *h == host) else {
        return problem(
            StatusCode::FORBIDDEN,
            "this destination is not configured for the agent's proxy",
        );
    };
    let Ok(url) = url::Url::parse(&req.uri().to_string()) else {
        return problem(StatusCode::BAD_REQUEST, "bad request URI");
    };
    egress.forward_to(req, url).await
}

/// Starts the forward proxy on `listen` for `destinations` (host[:port] → route).
pub async fn start_proxy(
    listen: SocketAddr,
    destinations: Vec<(String, EgressRoute)>,
    cache: Arc<TokenCache>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<SocketAddr, EgressError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| EgressError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| EgressError::Bind {
        addr: listen,
        source,
    })?;
    let by_host = destinations
        .into_iter()
        .map(|(host, route)| {
            (
                host.to_ascii_lowercase(),
                Egress {
                    route,
                    cache: Arc::clone(&cache),
                    certs: None,
                    client: Mutex::new(None),
                },
            )
        })
        .collect();
    let app = Router::new()
        .fallback(proxy_handle)
        .with_state(Arc::new(ForwardProxy { by_host }));
    tokio::spawn(gatehouse_net::serve(listener, app, stop));
    Ok(addr)
}

/// Starts one egress listener; returns its address.
pub async fn start(
    route: EgressRoute,
    cache: Arc<TokenCache>,
    certs: Option<Arc<CertManager>>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<SocketAddr, EgressError> {
    let listener = tokio::net::TcpListener::bind(route.listen)
        .await
        .map_err(|source| EgressError::Bind {
            addr: route.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| EgressError::Bind {
        addr: route.listen,
        source,
    })?;
    let state = Arc::new(Egress {
        route,
        cache,
        certs,
        client: Mutex::new(None),
    });
    let app = Router::new().fallback(handle).with_state(state);
    tokio::spawn(gatehouse_net::serve(listener, app, stop));
    Ok(addr)
}
