//! For services built on axum: [`RequireScopes`], a layer that verifies the bearer token
//! (401 `invalid_token` with an RFC 6750 challenge) and the scopes (403
//! `insufficient_scope`), and the [`Authenticated`] extractor for the [`Principal`] it found.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Request, StatusCode, header};

use crate::verify::{Principal, Verifier};

/// Verifies the bearer token and requires scopes; puts the [`Principal`] in the request's
/// extensions.
#[derive(Debug, Clone)]
pub struct RequireScopes {
    verifier: Arc<Verifier>,
    scopes: Arc<[String]>,
}

impl RequireScopes {
    /// Tokens verified by `verifier`, carrying every scope of `scopes`.
    pub fn new<I, S>(verifier: Arc<Verifier>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            verifier,
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }

    async fn check(&self, headers: &http::HeaderMap) -> Result<Principal, Response> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(challenge(StatusCode::UNAUTHORIZED, "Bearer".into()));
        };
        let principal = self.verifier.verify(token).await.map_err(|e| {
            tracing::debug!(error = %e, "bearer token refused");
            challenge(
                StatusCode::UNAUTHORIZED,
                "Bearer error=\"invalid_token\"".into(),
            )
        })?;
        if !self.scopes.iter().all(|s| principal.has_scope(s)) {
            return Err(challenge(
                StatusCode::FORBIDDEN,
                format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                    self.scopes.join(" ")
                ),
            ));
        }
        Ok(principal)
    }
}

fn challenge(status: StatusCode, value: String) -> Response {
    let mut resp = status.into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

impl<S> tower::Layer<S> for RequireScopes {
    type Service = RequireScopesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopesService {
            inner,
            config: self.clone(),
        }
    }
}

/// The service [`RequireScopes`] wraps around a handler.
#[derive(Debug, Clone)]
pub struct RequireScopesService<S> {
    inner: S,
    config: RequireScopes,
}

impl<S> tower::Service<Request<Body>> for RequireScopesService<S>
where
    S: tower::Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        // The clone that was made ready serves this request (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        Box::pin(async move {
            match config.check(req.headers()).await {
                Ok(principal) => {
                    req.extensions_mut().insert(principal);
                    inner.call(req).await
                }
                Err(resp) => Ok(resp),
            }
        })
    }
}

/// The caller [`RequireScopes`] verified (401 if the layer is not in front of the handler).
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = StatusCode;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Authenticated)
            .ok_or(StatusCode::UNAUTHORIZED)
    }
}
