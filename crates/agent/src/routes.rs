//! The front doors, all answering from one [`TokenCache`]:
//!
//! - Azure App Service: `GET /msi/token?api-version=2019-08-01&resource=…` with
//!   `X-IDENTITY-HEADER` (`IDENTITY_ENDPOINT` / `IDENTITY_HEADER`);
//! - Azure IMDS: `GET /{secret}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=…`
//!   with `Metadata: true` (`AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:PORT/{secret}`),
//!   and, only when enabled, the bare path for SDKs that cannot carry a path;
//! - native: `GET /v1/token?audience=…[&scope=…]` with `X-IDENTITY-HEADER`.
//!
//! Every request must come from a loopback address and carry neither `X-Forwarded-For`,
//! `Forwarded` nor `Origin`, so a server-side request forgery in the application (which can
//! rarely set headers or reach a secret path) cannot reach the agent. Errors are always JSON;
//! a resource the workload is not entitled to is a 400, which Azure SDKs read as "this
//! identity is unavailable" (a 404 or 5xx makes them retry for about a minute).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use subtle::ConstantTimeEq;

use gatehouse_client::{CacheError, FetchError, Fetched, TokenCache, TokenKey};

/// The header every front door but IMDS checks.
pub const IDENTITY_HEADER: &str = "x-identity-header";

/// Whether the bare IMDS path (no secret in it) is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImdsMode {
    /// Only `/{secret}/metadata/identity/oauth2/token`.
    #[default]
    Prefixed,
    /// Also `/metadata/identity/oauth2/token`, guarded only by loopback, `Metadata: true` and
    /// the absence of forwarding headers (as Azure's own IMDS is).
    Open,
    /// No IMDS front door.
    Off,
}

/// What the routes share.
#[derive(Debug)]
pub struct AgentState {
    /// The cache.
    pub cache: Arc<TokenCache>,
    /// The secret of `X-IDENTITY-HEADER` and of the IMDS path.
    pub secret: String,
    /// The workload's client id (reported as `client_id`, checked when a caller names one).
    pub client_id: String,
    /// IMDS exposure.
    pub imds: ImdsMode,
    /// The workload certificate, when configured.
    pub certs: Option<Arc<crate::certs::CertManager>>,
}

/// A refusal, in JSON.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl Refusal {
    fn bad_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        json_error(self.status, self.error, &self.description)
    }
}

/// Every error the agent answers: `{"error", "error_description"}`, never cached.
pub(crate) fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut resp = (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

impl From<CacheError> for Refusal {
    fn from(e: CacheError) -> Self {
        match e {
            CacheError::Fetch(FetchError::NotEntitled(d)) => Self {
                status: StatusCode::BAD_REQUEST,
                error: "invalid_resource",
                description: format!("this identity may not get a token for it: {d}"),
            },
            CacheError::Fetch(FetchError::Credential) => Self {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                error: "server_error",
                description: "the agent's own credential was refused; see the agent's log".into(),
            },
            CacheError::Fetch(FetchError::Unavailable(_)) => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: "temporarily_unavailable",
                description: "the authorization server is unreachable and no valid token is cached"
                    .into(),
            },
            CacheError::Full => Self::bad_request(e.to_string()),
            _ => Self {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                error: "server_error",
                description: "internal error".into(),
            },
        }
    }
}

/// The agent's routes.
pub fn router(state: Arc<AgentState>) -> Router {
    let mut r = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/msi/token", get(app_service))
        .route("/v1/token", get(native))
        .route("/v1/certificate", get(certificate));
    if state.imds != ImdsMode::Off {
        r = r
            .route(
                "/{prefix}/metadata/identity/oauth2/token",
                get(imds_prefixed),
            )
            .route(
                "/{prefix}/metadata/identity/oauth2/token/",
                get(imds_prefixed),
            );
    }
    // The bare IMDS path: served when open; otherwise a 400 (not a 404, which Azure SDKs
    // retry for about a minute) that says what to do.
    let bare = match state.imds {
        ImdsMode::Open => get(imds_open),
        ImdsMode::Prefixed => get(|| async {
            Refusal::bad_request(
                "this agent serves IMDS under a secret path: set AZURE_POD_IDENTITY_AUTHORITY_HOST from the agent's env file",
            )
        }),
        ImdsMode::Off => get(|| async {
            Refusal::bad_request("the IMDS protocol is off on this agent: use IDENTITY_ENDPOINT")
        }),
    };
    r = r
        .route("/metadata/identity/oauth2/token", bare.clone())
        .route("/metadata/identity/oauth2/token/", bare);
    r.fallback(|| async {
        Refusal {
            status: StatusCode::NOT_FOUND,
            error: "not_found",
            description: "no such endpoint".into(),
        }
    })
    .layer(middleware::from_fn(guard))
    .with_state(state)
}

/// Loopback peers only, and no sign of a forwarded or browser request.
/// Marks requests that came over the agent's Unix socket (local by construction; the
/// socket file is 0600).
#[derive(Debug, Clone, Copy)]
pub struct LocalSocket;

async fn guard(req: Request, next: Next) -> Response {
    let loopback = req.extensions().get::<LocalSocket>().is_some()
        || req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|c| c.0.ip().is_loopback());
    if !loopback {
        return Refusal {
            status: StatusCode::FORBIDDEN,
            error: "forbidden",
            description: "the agent answers loopback callers only".into(),
        }
        .into_response();
    }
    let h = req.headers();
    if h.contains_key("x-forwarded-for")
        || h.contains_key(header::FORWARDED)
        || h.contains_key(header::ORIGIN)
    {
        return Refusal {
            status: StatusCode::FORBIDDEN,
            error: "forbidden",
            description: "forwarded and cross-origin requests are refused".into(),
        }
        .into_response();
    }
    next.run(req).await
}

fn secret_matches(state: &AgentState, given: &[u8]) -> bool {
    given.ct_eq(state.secret.as_bytes()).into()
}

fn check_header(state: &AgentState, headers: &HeaderMap) -> Result<(), Refusal> {
    let ok = headers
        .get(IDENTITY_HEADER)
        .is_some_and(|v| secret_matches(state, v.as_bytes()));
    if ok {
        Ok(())
    } else {
        Err(Refusal::bad_request(
            "missing or wrong X-IDENTITY-HEADER (see IDENTITY_HEADER in the agent's env file)",
        ))
    }
}

/// Query parameters, first value of each (percent-decoded).
fn params(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The Azure `resource`: an audience, or a scope ending in `/.default` (some clients send one).
fn azure_key(
    state: &AgentState,
    p: &[(String, String)],
    version: &str,
) -> Result<TokenKey, Refusal> {
    match param(p, "api-version") {
        Some(v) if v == version => {}
        Some(v) => {
            return Err(Refusal::bad_request(format!(
                "api-version {v} is not supported; use {version}"
            )));
        }
        None => return Err(Refusal::bad_request("api-version is required")),
    }
    for id_param in [
        "client_id",
        "object_id",
        "principal_id",
        "mi_res_id",
        "msi_res_id",
    ] {
        if let Some(v) = param(p, id_param)
            && !(id_param == "client_id" && v == state.client_id)
        {
            return Err(Refusal::bad_request(format!(
                "this agent holds one identity ({}); {id_param}={v} is not it",
                state.client_id
            )));
        }
    }
    let resource = param(p, "resource")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| Refusal::bad_request("resource is required"))?;
    let audience = resource.strip_suffix("/.default").unwrap_or(resource);
    if audience.len() > 2048 {
        return Err(Refusal::bad_request("resource is too long"));
    }
    Ok(TokenKey::new(audience, Vec::new()))
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn azure_body(state: &AgentState, t: &Fetched, resource: &str, now: i64) -> serde_json::Value {
    json!({
        "access_token": &*t.access_token,
        "refresh_token": "",
        "expires_in": (t.expires_at - now).max(0).to_string(),
        "expires_on": t.expires_at.to_string(),
        "not_before": t.issued_at.to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": state.client_id,
    })
}

async fn app_service(
    State(s): State<Arc<AgentState>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, Refusal> {
    check_header(&s, &headers)?;
    let p = params(uri.query());
    let key = azure_key(&s, &p, "2019-08-01")?;
    let t = s.cache.get(&key).await?;
    let resource = param(&p, "resource").unwrap_or_default();
    Ok(no_store(
        Json(azure_body(&s, &t, resource, s.cache.now())).into_response(),
    ))
}

async fn imds(
    s: &AgentState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> Result<Response, Refusal> {
    let metadata = headers
        .get("metadata")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
    if !metadata {
        return Err(Refusal::bad_request("Metadata: true is required"));
    }
    let p = params(uri.query());
    let key = azure_key(s, &p, "2018-02-01")?;
    let t = s.cache.get(&key).await?;
    let resource = param(&p, "resource").unwrap_or_default();
    Ok(no_store(
        Json(azure_body(s, &t, resource, s.cache.now())).into_response(),
    ))
}

async fn imds_prefixed(
    State(s): State<Arc<AgentState>>,
    Path(prefix): Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, Refusal> {
    if !secret_matches(&s, prefix.as_bytes()) {
        return Err(Refusal::bad_request(
            "unknown IMDS path (see AZURE_POD_IDENTITY_AUTHORITY_HOST in the agent's env file)",
        ));
    }
    imds(&s, &headers, &uri).await
}

async fn imds_open(
    State(s): State<Arc<AgentState>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, Refusal> {
    imds(&s, &headers, &uri).await
}

async fn native(
    State(s): State<Arc<AgentState>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, Refusal> {
    check_header(&s, &headers)?;
    let p = params(uri.query());
    let audience = param(&p, "audience")
        .filter(|a| !a.is_empty() && a.len() <= 2048)
        .ok_or_else(|| Refusal::bad_request("audience is required"))?;
    let scopes = param(&p, "scope")
        .unwrap_or("")
        .split(' ')
        .map(str::to_owned)
        .collect::<Vec<_>>();
    if scopes.len() > 64 {
        return Err(Refusal::bad_request("too many scopes"));
    }
    let key = TokenKey::new(audience, scopes);
    let t = s.cache.get(&key).await?;
    let now = s.cache.now();
    Ok(no_store(
        Json(json!({
            "access_token": &*t.access_token,
            "token_type": "Bearer",
            "expires_in": (t.expires_at - now).max(0),
            "expires_on": t.expires_at,
            "audience": key.audience,
            "scope": t.scope,
        }))
        .into_response(),
    ))
}

async fn certificate(
    State(s): State<Arc<AgentState>>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    check_header(&s, &headers)?;
    let Some(certs) = &s.certs else {
        return Err(Refusal::bad_request(
            "this agent keeps no certificate (configure [agent.certificate])",
        ));
    };
    let Some(c) = certs.current() else {
        return Err(Refusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "no certificate yet: the CA has not answered".into(),
        });
    };
    Ok(no_store(
        Json(json!({
            "certificate_chain": c.signed.chain,
            "private_key": c.key_pem.as_str(),
            "bundle": c.signed.bundle,
            "serial": c.signed.serial,
            "spiffe_id": c.signed.spiffe_id,
            "dns_names": c.signed.dns_names,
            "not_before": c.signed.not_before,
            "not_after": c.signed.not_after,
        }))
        .into_response(),
    ))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::body::Body;
    use gatehouse_core::{FakeClock, UnixTime};
    use tower::ServiceExt;

    use super::*;
    use gatehouse_client::Fetch;
    use gatehouse_client::source::FetchFuture;

    #[derive(Debug)]
    struct Fixed;

    impl Fetch for Fixed {
        fn fetch<'a>(&'a self, _key: &'a TokenKey, now: i64) -> FetchFuture<'a> {
            Box::pin(async move {
                Ok(Fetched {
                    access_token: "t".into(),
                    scope: String::new(),
                    issued_at: now,
                    expires_at: now + 3600,
                })
            })
        }
    }

    fn app() -> Router {
        let clock = Arc::new(FakeClock::new(UnixTime(1_800_000_000)));
        router(Arc::new(AgentState {
            cache: TokenCache::new(Arc::new(Fixed), clock),
            secret: "s3cret".into(),
            client_id: "app_1".into(),
            imds: ImdsMode::Prefixed,
            certs: None,
        }))
    }

    fn from(peer: &str, path: &str) -> axum::http::Request<Body> {
        let mut req = axum::http::Request::get(path)
            .header("x-identity-header", "s3cret")
            .header("metadata", "true")
            .body(Body::empty())
            .unwrap();
        let addr: SocketAddr = peer.parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
        req
    }

    #[tokio::test]
    async fn non_loopback_peers_are_refused_before_anything_else() {
        let path = "/v1/token?audience=https://orders.example";
        for peer in ["10.0.0.7:4000", "[2001:db8::1]:4000", "0.0.0.0:1"] {
            let resp = app().oneshot(from(peer, path)).await.unwrap();
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{peer}");
        }
        for peer in ["127.0.0.1:4000", "[::1]:4000"] {
            let resp = app().oneshot(from(peer, path)).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{peer}");
        }
        // No peer information at all: refused.
        let req = axum::http::Request::get(path)
            .header("x-identity-header", "s3cret")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            app().oneshot(req).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn imds_needs_the_secret_path_and_the_bare_path_says_so_with_a_400() {
        let q = "metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://o.example";
        let ok = app()
            .oneshot(from("127.0.0.1:1", &format!("/s3cret/{q}")))
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        for path in [format!("/wrong/{q}"), format!("/{q}")] {
            let resp = app().oneshot(from("127.0.0.1:1", &path)).await.unwrap();
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
        }
        let resp = app().oneshot(from("127.0.0.1:1", "/nope")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
}
