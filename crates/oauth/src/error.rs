//! The OAuth error surface: every failure of the token, introspection and revocation endpoints
//! is one of these values, turned into an RFC 6749 §5.2 JSON response in one place.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_proto::{OAuthErrorBody, OAuthErrorCode};

/// A protocol error, mapped 1:1 to RFC 6749 §5.2, RFC 8707 and RFC 7009 codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// `invalid_client` (401). `basic` adds `WWW-Authenticate: Basic` (the client used Basic).
    #[error("invalid_client: {description}")]
    InvalidClient {
        /// Whether the client tried HTTP Basic.
        basic: bool,
        /// Safe description.
        description: &'static str,
    },
    /// `invalid_grant`.
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    /// `invalid_request`.
    #[error("invalid_request: {0}")]
    InvalidRequest(Cow<'static, str>),
    /// `invalid_scope`.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// `invalid_target` (RFC 8707).
    #[error("invalid_target: {0}")]
    InvalidTarget(String),
    /// `server_error` (500); the body carries only the request id, the detail goes to logs.
    #[error("server_error")]
    ServerError,
    /// `temporarily_unavailable` with 429 and `Retry-After` (lockout after failed authentications).
    #[error("too many failed attempts; retry after {retry_after}s")]
    TooManyAttempts {
        /// Seconds until the lockout ends.
        retry_after: u64,
    },
    /// `unauthorized_client`.
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(&'static str),
    /// `unsupported_grant_type`.
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// `unsupported_token_type` (RFC 7009).
    #[error("unsupported_token_type")]
    UnsupportedTokenType,
}

impl OAuthError {
    /// Shorthand for `InvalidRequest` with a static message.
    pub fn invalid_request(msg: &'static str) -> Self {
        Self::InvalidRequest(Cow::Borrowed(msg))
    }

    /// The wire code.
    pub fn code(&self) -> OAuthErrorCode {
        match self {
            Self::InvalidClient { .. } => OAuthErrorCode::InvalidClient,
            Self::InvalidGrant(_) => OAuthErrorCode::InvalidGrant,
            Self::InvalidRequest(_) => OAuthErrorCode::InvalidRequest,
            Self::InvalidScope(_) => OAuthErrorCode::InvalidScope,
            Self::InvalidTarget(_) => OAuthErrorCode::InvalidTarget,
            Self::ServerError => OAuthErrorCode::ServerError,
            Self::TooManyAttempts { .. } => OAuthErrorCode::TemporarilyUnavailable,
            Self::UnauthorizedClient(_) => OAuthErrorCode::UnauthorizedClient,
            Self::UnsupportedGrantType => OAuthErrorCode::UnsupportedGrantType,
            Self::UnsupportedTokenType => OAuthErrorCode::UnsupportedTokenType,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn description(&self) -> Option<String> {
        match self {
            Self::InvalidClient { description, .. } => Some((*description).to_owned()),
            Self::InvalidGrant(d) | Self::UnauthorizedClient(d) => Some((*d).to_owned()),
            Self::InvalidRequest(d) => Some(d.to_string()),
            Self::InvalidScope(d) | Self::InvalidTarget(d) => Some(d.clone()),
            Self::TooManyAttempts { .. } => Some(self.to_string()),
            Self::ServerError | Self::UnsupportedGrantType | Self::UnsupportedTokenType => None,
        }
    }

    /// The HTTP response, with `request_id` in the description of server errors.
    pub fn to_response(&self, request_id: &str) -> Response {
        let description = match self {
            Self::ServerError => Some(format!("internal error; request id {request_id}")),
            _ => self.description(),
        };
        let body = OAuthErrorBody {
            error: self.code(),
            error_description: description,
        };
        let mut resp = (self.status(), axum::Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match self {
            Self::InvalidClient { basic: true, .. } => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"gatehouse\""),
                );
            }
            Self::TooManyAttempts { retry_after } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    h.insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(resp: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn invalid_client_with_basic_is_401_with_www_authenticate() {
        let r = OAuthError::InvalidClient {
            basic: true,
            description: "bad",
        }
        .to_response("r1");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(
            r.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(body_json(r).await["error"], "invalid_client");
    }

    #[tokio::test]
    async fn server_error_carries_only_the_request_id() {
        let r = OAuthError::ServerError.to_response("req-42");
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let v = body_json(r).await;
        assert_eq!(v["error"], "server_error");
        assert_eq!(v["error_description"], "internal error; request id req-42");
    }

    #[tokio::test]
    async fn lockout_is_429_with_retry_after() {
        let r = OAuthError::TooManyAttempts { retry_after: 30 }.to_response("r");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "30");
    }
}
