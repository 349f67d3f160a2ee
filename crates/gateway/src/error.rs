//! Every way a gateway request can fail, tagged by origin (client, upstream, internal), and the
//! one place that turns them into RFC 9457 problem responses with the RFC 6750 challenges.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The realm in `WWW-Authenticate` challenges.
const REALM: &str = "gatehouse";

/// A request the gateway refuses or cannot complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// Client: no credential was sent (401, bare challenge, RFC 6750 §3.1).
    #[error("credentials required")]
    MissingCredentials(Schemes),
    /// Client: the credential was invalid, expired, revoked or for another audience (401).
    #[error("invalid credentials")]
    InvalidCredentials(Schemes),
    /// Client: the token lacks scopes (403 `insufficient_scope`).
    #[error("insufficient scope")]
    InsufficientScope {
        /// Scopes the operation needs, space-separated.
        required: String,
    },
    /// Client: no approved subscription for this API (403).
    #[error("no approved subscription for this API")]
    NotSubscribed,
    /// Client: rate limit exceeded (429).
    #[error("rate limit exceeded")]
    RateLimited {
        /// Seconds until the next request may pass.
        retry_after: u64,
        /// The limit's burst size.
        limit: u32,
    },
    /// Client: a policy refused the request (403, or the status the policy chose).
    #[error("{}", reason.as_deref().unwrap_or("denied by policy"))]
    PolicyDenied {
        /// Status, 400..=599.
        status: u16,
        /// The policy's reason, shown to the caller.
        reason: Option<String>,
    },
    /// Client: no route (404).
    #[error("no route for this request")]
    NotFound,
    /// Client: route exists, method does not (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Client: body over the API's limit (413).
    #[error("request body too large")]
    PayloadTooLarge,
    /// Upstream: connection or protocol failure (502).
    #[error("upstream unavailable")]
    BadGateway,
    /// Upstream: no answer in time (504).
    #[error("upstream timed out")]
    GatewayTimeout,
    /// Internal: a standalone gateway's data from the control plane is missing or older than
    /// its staleness limit (503).
    #[error("the gateway cannot reach its control plane")]
    Unavailable,
    /// Internal: e.g. the configured API is not registered (500); detail only in logs.
    #[error("internal error")]
    Internal,
}

/// The credential schemes an API accepts, for the `WWW-Authenticate` challenges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Schemes {
    /// `Authorization: Bearer`.
    pub bearer: bool,
    /// An API key header.
    pub api_key: bool,
    /// HTTP Basic with the client id and a client secret (legacy).
    pub basic: bool,
    /// A TLS client certificate (no HTTP challenge exists for it).
    pub mtls: bool,
}

impl GatewayError {
    fn status(&self) -> StatusCode {
        match self {
            Self::MissingCredentials(_) | Self::InvalidCredentials(_) => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope { .. } | Self::NotSubscribed => StatusCode::FORBIDDEN,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PolicyDenied { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::FORBIDDEN)
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadGateway => StatusCode::BAD_GATEWAY,
            Self::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn challenges(&self) -> Vec<String> {
        let schemes = |s: &Schemes, invalid: bool| {
            let mut out = Vec::new();
            if s.bearer {
                out.push(if invalid {
                    format!("Bearer realm=\"{REALM}\", error=\"invalid_token\"")
                } else {
                    format!("Bearer realm=\"{REALM}\"")
                });
            }
            if s.api_key {
                out.push(format!("ApiKey realm=\"{REALM}\""));
            }
            if s.basic {
                out.push(format!("Basic realm=\"{REALM}\""));
            }
            out
        };
        match self {
            Self::MissingCredentials(s) => schemes(s, false),
            Self::InvalidCredentials(s) => schemes(s, true),
            Self::InsufficientScope { required } => vec![format!(
                "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{required}\""
            )],
            _ => Vec::new(),
        }
    }
}

/// An RFC 9457 `application/problem+json` response (every error this crate answers).
pub(crate) fn problem(status: StatusCode, detail: &str) -> Response {
    gatehouse_net::problem(status, Some(detail), None)
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let mut resp = problem(self.status(), &self.to_string());
        let h = resp.headers_mut();
        for c in self.challenges() {
            if let Ok(v) = HeaderValue::from_str(&c) {
                h.append(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Self::RateLimited { retry_after, limit } = self {
            for (name, value) in [
                ("retry-after", retry_after.to_string()),
                ("ratelimit-limit", limit.to_string()),
                ("ratelimit-remaining", "0".to_owned()),
                ("ratelimit-reset", retry_after.to_string()),
            ] {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    h.insert(name, v);
                }
            }
        }
        resp
    }
}
