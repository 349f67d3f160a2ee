//! The request path, one step per module, always in this order:
//! route → authenticate → authorize (scopes, subscription) → rate limit → identity headers →
//! forward.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use gatehouse_core::{ScopeSet, SubscriptionStatus};
use gatehouse_oauth::OAuthState;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::header;
use http_body_util::Limited;

use crate::GatewayError;
use crate::authn::{TokenCache, bearer};
use crate::identity::{Identity, rewrite_request, strip_hop_by_hop};
use crate::route::{RouteMiss, RouteTable};
use crate::spec::GatewaySpec;
use crate::upstream::{HttpClient, Upstreams, http_client, send};

/// A per-application limiter and its burst size.
type Limiter = (DefaultKeyedRateLimiter<String>, u32);

/// The gateway: its validated spec, compiled routes, caches and connection pool.
#[derive(Debug)]
pub struct Gateway {
    spec: GatewaySpec,
    routes: RouteTable,
    required: Vec<Vec<ScopeSet>>,
    upstreams: Vec<Upstreams>,
    limiters: Vec<Option<Limiter>>,
    state: Arc<OAuthState>,
    tokens: TokenCache,
    client: HttpClient,
}

impl Gateway {
    /// A gateway for `spec`, verifying tokens against the authorization server's `state`.
    pub fn new(spec: GatewaySpec, state: Arc<OAuthState>) -> Self {
        let routes = RouteTable::build(&spec);
        let required = spec
            .apis
            .iter()
            .map(|api| {
                api.routes
                    .iter()
                    .map(|r| api.scopes.union(&r.scopes))
                    .collect()
            })
            .collect();
        let upstreams = spec
            .apis
            .iter()
            .map(|a| Upstreams::new(a.upstreams.clone()))
            .collect();
        let limiters = spec
            .apis
            .iter()
            .map(|a| {
                a.rate_limit.and_then(|(rate, burst)| {
                    let quota = Quota::per_second(NonZeroU32::new(rate)?)
                        .allow_burst(NonZeroU32::new(burst)?);
                    Some((RateLimiter::keyed(quota), burst))
                })
            })
            .collect();
        Self {
            spec,
            routes,
            required,
            upstreams,
            limiters,
            state,
            tokens: TokenCache::new(),
            client: http_client(),
        }
    }

    /// The spec.
    pub fn spec(&self) -> &GatewaySpec {
        &self.spec
    }

    /// Number of verified tokens cached.
    pub fn cached_tokens(&self) -> usize {
        self.tokens.len()
    }

    async fn handle(&self, req: Request) -> Result<Response, GatewayError> {
        let (mut parts, body) = req.into_parts();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let original_host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        let host = original_host
            .as_deref()
            .map(|h| h.rsplit_once(':').map_or(h, |(name, _)| name));

        // route
        let m = self
            .routes
            .find(&self.spec, host, &parts.method, parts.uri.path())
            .map_err(|miss| match miss {
                RouteMiss::NotFound => GatewayError::NotFound,
                RouteMiss::MethodNotAllowed => GatewayError::MethodNotAllowed,
            })?;
        let api_spec = self.spec.apis.get(m.api).ok_or(GatewayError::Internal)?;
        let route = api_spec.routes.get(m.route).ok_or(GatewayError::Internal)?;
        let catalog = self.state.catalog.get();
        let Some(api) = catalog.find_api(&api_spec.api) else {
            tracing::error!(api = %api_spec.api, "gateway API is not registered in the store");
            return Err(GatewayError::Internal);
        };

        // authenticate
        let token = bearer(&parts.headers)?.ok_or(GatewayError::MissingCredentials)?;
        let now = self.state.now();
        let ring = self.state.keys.ring();
        let t = self.tokens.authenticate(
            token,
            api.audience.as_str(),
            &ring,
            &catalog,
            &self.state.config.issuer,
            now,
        )?;
        let entry = catalog
            .client(&t.client_id)
            .ok_or(GatewayError::InvalidToken)?;

        // authorize
        let granted = ScopeSet::parse_space_separated(
            t.claims.get("scope").and_then(|s| s.as_str()).unwrap_or(""),
        )
        .map_err(|_| GatewayError::InvalidToken)?;
        let required = self
            .required
            .get(m.api)
            .and_then(|r| r.get(m.route))
            .ok_or(GatewayError::Internal)?;
        if !granted.is_superset(required) {
            return Err(GatewayError::InsufficientScope {
                required: required.to_space_separated(),
            });
        }
        if api_spec.require_subscription
            && !entry
                .subscriptions
                .get(&api.id)
                .is_some_and(|s| s.status == SubscriptionStatus::Approved)
        {
            return Err(GatewayError::NotSubscribed);
        }

        // rate limit
        if let Some(Some((limiter, burst))) = self.limiters.get(m.api)
            && let Err(not_until) = limiter.check_key(&t.client_id)
        {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(GatewayError::RateLimited {
                retry_after: retry_after.max(1),
                limit: *burst,
            });
        }

        // identity headers
        let content_length = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if content_length.is_some_and(|l| l > api_spec.max_body_bytes) {
            return Err(GatewayError::PayloadTooLarge);
        }
        let identity = Identity {
            client_id: &t.client_id,
            application: &entry.client.name,
            scopes: &granted.to_space_separated(),
            subject: t
                .claims
                .get("sub")
                .and_then(|s| s.as_str())
                .unwrap_or(&t.client_id),
            operation: &route.operation,
        };
        rewrite_request(
            &mut parts.headers,
            &self.spec.strip_headers,
            &identity,
            peer,
            original_host.as_deref(),
        );
        parts.headers.remove(header::HOST);

        // forward
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        parts.uri = self
            .upstreams
            .get(m.api)
            .ok_or(GatewayError::Internal)?
            .target(&path_and_query)?;
        parts.version = http::Version::HTTP_11;
        let max = usize::try_from(api_spec.max_body_bytes).unwrap_or(usize::MAX);
        let req = Request::from_parts(parts, Body::new(Limited::new(body, max)));
        let mut resp = send(&self.client, req, api_spec.timeout).await?;
        strip_hop_by_hop(resp.headers_mut());
        Ok(resp)
    }
}

/// The axum handler for every gateway request.
pub(crate) async fn handle(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    match gw.handle(req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}
