//! Admin API errors, rendered as RFC 9457 `application/problem+json` in one place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_proto::admin::Problem;
use gatehouse_store::StoreError;

/// A management operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManageError {
    /// The request is malformed or breaks a rule (400).
    #[error("{0}")]
    Invalid(String),
    /// Missing or wrong admin token (401).
    #[error("admin authentication required")]
    Unauthenticated,
    /// Authenticated, but not allowed to do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such record (404).
    #[error("{0} not found")]
    NotFound(String),
    /// Duplicate name, audience or id (409).
    #[error("{0}")]
    Conflict(String),
    /// Too many requests (429).
    #[error("too many requests")]
    RateLimited,
    /// Too many failed sign-ins from this email or address (429 with `Retry-After`).
    #[error("too many failed sign-ins; try again in {0} s")]
    LockedOut(u64),
    /// Wrong email or password, or a disabled user (401).
    #[error("email or password is wrong")]
    SignInFailed,
    /// Internal fault (500); detail only in logs.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ManageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::NotFound => Self::NotFound("record".into()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<gatehouse_oauth::KeyServiceError> for ManageError {
    fn from(e: gatehouse_oauth::KeyServiceError) -> Self {
        match e {
            gatehouse_oauth::KeyServiceError::UnknownKey(k) => Self::NotFound(format!("key {k}")),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl ManageError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited | Self::LockedOut(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::SignInFailed => StatusCode::UNAUTHORIZED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem+json response; internal details are logged, not sent.
    pub fn to_response(&self, request_id: &str) -> Response {
        let status = self.status();
        let detail = match self {
            Self::Internal(d) => {
                tracing::error!(request_id, detail = %d, "admin request failed");
                None
            }
            other => Some(other.to_string()),
        };
        let problem = Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("error").to_owned(),
            status: status.as_u16(),
            detail,
            request_id: (status.is_server_error()).then(|| request_id.to_owned()),
        };
        let mut resp = (status, axum::Json(problem)).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match self {
            Self::Unauthenticated => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"gatehouse-admin\""),
                );
            }
            Self::RateLimited => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::LockedOut(secs) => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            _ => {}
        }
        resp
    }
}

impl IntoResponse for ManageError {
    fn into_response(self) -> Response {
        self.to_response("")
    }
}
