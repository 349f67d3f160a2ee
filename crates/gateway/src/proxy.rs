//! The request path, one step per module, always in this order:
//! route → authenticate → authorize (scopes, subscription) → rate limit → identity headers →
//! forward. [`Gateway::decide`] runs everything up to the identity; the proxy and the
//! forward-auth endpoint share it.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use gatehouse_core::{Plan, PlanId, PlanRate, ScopeSet, SubscriptionStatus};
use gatehouse_store::ClientEntry;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::{HeaderMap, Method, header};
use http_body_util::Limited;

use crate::GatewayError;
use crate::authn::{self, TokenCache};
use crate::error::Schemes;
use crate::identity::{Identity, rewrite_request, strip_hop_by_hop};
use crate::metrics::{ApiLabels, GatewayMetrics, RequestLabels, class_label};
use crate::policy::{PolicyEnforcer, Subject};
use crate::quota::{DailyCounters, QuotaCheck};
use crate::route::{RouteMiss, RouteTable};
use crate::source::{ControlPlane, View};
use crate::spec::{ApiSpec, CredentialKind, GatewaySpec, RouteSpec};
use crate::upstream::{Upstreams, send, thread_client};
use crate::usage::{OpSlot, UsageRecorder};

/// A per-application limiter and its burst size.
type Limiter = (DefaultKeyedRateLimiter<String>, u32);

/// The rate limits and daily quotas of one API.
#[derive(Debug)]
struct ApiLimits {
    rate: Option<Limiter>,
    per_day: Option<u64>,
    overrides: std::collections::HashMap<String, (Option<Limiter>, Option<u64>)>,
    /// One limiter per plan (its id and rate), made on the plan's first request; a plan whose
    /// rate changes gets a fresh limiter.
    plans: ArcSwap<std::collections::HashMap<(PlanId, PlanRate), Arc<Limiter>>>,
    plan_insert: parking_lot::Mutex<()>,
    daily: DailyCounters,
}

impl ApiLimits {
    /// The limiter of `plan` at rate `rate`.
    fn plan_limiter(&self, plan: &PlanId, rate: PlanRate) -> Option<Arc<Limiter>> {
        let key = (plan.clone(), rate);
        if let Some(l) = self.plans.load().get(&key) {
            return Some(Arc::clone(l));
        }
        let _guard = self.plan_insert.lock();
        if let Some(l) = self.plans.load().get(&key) {
            return Some(Arc::clone(l));
        }
        let fresh = Arc::new(limiter(Some((rate.per_second, rate.burst)))?);
        let mut next: std::collections::HashMap<_, _> = self
            .plans
            .load()
            .iter()
            // Limiters of the same plan at an older rate are dropped.
            .filter(|((id, _), _)| id != plan)
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        next.insert(key, Arc::clone(&fresh));
        self.plans.store(Arc::new(next));
        Some(fresh)
    }
}

fn limiter(rate: Option<(u32, u32)>) -> Option<Limiter> {
    let (per_second, burst) = rate?;
    let quota =
        Quota::per_second(NonZeroU32::new(per_second)?).allow_burst(NonZeroU32::new(burst)?);
    Some((RateLimiter::keyed(quota), burst))
}

/// The gateway: its validated spec, compiled routes, caches and connection pool.
#[derive(Debug)]
pub struct Gateway {
    spec: GatewaySpec,
    routes: RouteTable,
    required: Vec<Vec<ScopeSet>>,
    upstreams: Vec<Upstreams>,
    limits: Vec<ApiLimits>,
    control: Arc<dyn ControlPlane>,
    tokens: TokenCache,
    policies: PolicyEnforcer,
    usage: Vec<Vec<Arc<OpSlot>>>,
    metrics: Arc<GatewayMetrics>,
    /// Per (API, route): counters by status class 1xx..5xx, and the API's latency histogram;
    /// resolved once so the request path does no label hashing.
    metric_handles: Vec<Vec<RouteMetrics>>,
}

/// The metric handles of one route.
#[derive(Debug, Clone)]
struct RouteMetrics {
    by_class: [prometheus_client::metrics::counter::Counter; 5],
    latency: prometheus_client::metrics::histogram::Histogram,
}

fn route_metrics(metrics: &GatewayMetrics, spec: &GatewaySpec) -> Vec<Vec<RouteMetrics>> {
    spec.apis
        .iter()
        .map(|api| {
            let latency = metrics
                .latency
                .get_or_create(&ApiLabels {
                    api: api.api.clone(),
                })
                .clone();
            api.routes
                .iter()
                .map(|r| RouteMetrics {
                    by_class: [100u16, 200, 300, 400, 500].map(|status| {
                        let labels = RequestLabels {
                            api: api.api.clone(),
                            operation: r.operation.clone(),
                            class: class_label(status),
                        };
                        metrics.requests.get_or_create(&labels).clone()
                    }),
                    latency: latency.clone(),
                })
                .collect()
        })
        .collect()
}

/// What the caller asked for, wherever it came from (a proxied request or forward-auth headers).
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// Method.
    pub method: &'a Method,
    /// Host without port.
    pub host: Option<&'a str>,
    /// Path.
    pub path: &'a str,
    /// Query string.
    pub query: Option<&'a str>,
    /// Headers carrying the credentials.
    pub headers: &'a HeaderMap,
    /// The client certificate chain (end-entity first): presented at this connection's TLS
    /// handshake, or forwarded by a trusted proxy to the forward-auth endpoint.
    pub client_cert: Option<&'a [rustls::pki_types::CertificateDer<'static>]>,
    /// `gatehouse_ca::chain_digest` of `client_cert` when already known (computed once per TLS
    /// connection); computed per request otherwise.
    pub client_cert_digest: Option<&'a [u8; 32]>,
}

/// Who is calling, as established by authentication.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Client (application) id.
    pub client_id: String,
    /// Subject.
    pub subject: String,
    /// Scopes the caller holds on this API.
    pub scopes: ScopeSet,
    /// The application.
    pub entry: Arc<ClientEntry>,
    /// The credential used.
    pub kind: CredentialKind,
    /// The verified token, for a bearer credential.
    pub token: Option<Arc<gatehouse_oauth::verify::AccessToken>>,
    /// The verified client certificate, for an mTLS credential.
    pub certificate: Option<Arc<gatehouse_ca::CertIdentity>>,
}

/// The outcome of the pipeline up to forwarding.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Index of the API in the spec.
    pub api: usize,
    /// Index of the route in the API.
    pub route: usize,
    /// The caller; `None` on a public operation (`accept = ["none"]`).
    pub principal: Option<Principal>,
    /// The control-plane view the decision was made with.
    pub view: View,
    /// Headers the policies add to the forwarded request.
    pub added_headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

impl Gateway {
    /// A gateway for `spec`, verifying credentials against what `control` knows.
    pub fn new(
        spec: GatewaySpec,
        control: Arc<dyn ControlPlane>,
        recorder: &UsageRecorder,
    ) -> Self {
        let usage = spec
            .apis
            .iter()
            .map(|api| {
                api.routes
                    .iter()
                    .map(|r| recorder.slot(&api.api, &r.operation))
                    .collect()
            })
            .collect();
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
        let limits = spec
            .apis
            .iter()
            .map(|a| ApiLimits {
                rate: limiter(a.rate_limit.rate),
                per_day: a.rate_limit.per_day,
                overrides: a
                    .rate_limit_overrides
                    .iter()
                    .map(|(client, l)| (client.clone(), (limiter(l.rate), l.per_day)))
                    .collect(),
                plans: ArcSwap::default(),
                plan_insert: parking_lot::Mutex::new(()),
                daily: DailyCounters::default(),
            })
            .collect();
        Self {
            spec,
            routes,
            required,
            upstreams,
            limits,
            control,
            tokens: TokenCache::new(),
            policies: PolicyEnforcer::new(recorder.decisions()),
            usage,
            metrics: Arc::new(GatewayMetrics::default()),
            metric_handles: Vec::new(),
        }
        .with_metrics(Arc::new(GatewayMetrics::default()))
    }

    /// Counts into `metrics` (shared across reloads and registered by the server).
    pub fn with_metrics(mut self, metrics: Arc<GatewayMetrics>) -> Self {
        self.metric_handles = route_metrics(&metrics, &self.spec);
        self.metrics = metrics;
        self
    }

    /// The spec.
    pub fn spec(&self) -> &GatewaySpec {
        &self.spec
    }

    /// Number of verified tokens cached.
    pub fn cached_tokens(&self) -> usize {
        self.tokens.len()
    }

    /// Routes, authenticates, authorizes and rate-limits a request.
    pub fn decide(&self, r: &RequestInfo<'_>) -> Result<Decision, GatewayError> {
        let m = self
            .routes
            .find(&self.spec, r.host, r.method, r.path)
            .map_err(|miss| match miss {
                RouteMiss::NotFound => GatewayError::NotFound,
                RouteMiss::MethodNotAllowed => GatewayError::MethodNotAllowed,
            })?;
        let api_spec = self.spec.apis.get(m.api).ok_or(GatewayError::Internal)?;
        let route = api_spec.routes.get(m.route).ok_or(GatewayError::Internal)?;
        let view = self.control.view().map_err(|_| GatewayError::Unavailable)?;
        let Some(api) = view.catalog.find_api(&api_spec.api) else {
            tracing::error!(api = %api_spec.api, "gateway API is not registered in the store");
            return Err(GatewayError::Internal);
        };

        if route.accept.is_empty() {
            // A public operation: no credential is asked for and none is forwarded.
            let added_headers =
                self.enforce_policies(api_spec, route, api, &m.params, None, &view, r)?;
            return Ok(Decision {
                api: m.api,
                route: m.route,
                principal: None,
                view,
                added_headers,
            });
        }

        // authenticate
        let principal = self.authenticate(api_spec, route, api.audience.as_str(), &view, r)?;

        // authorize
        let entry = Arc::clone(&principal.entry);
        let subscribed = entry
            .subscriptions
            .get(&api.id)
            .filter(|s| s.status == SubscriptionStatus::Approved)
            .map(|s| &s.scopes);
        let principal = match principal.kind {
            // An API key, Basic credential or client certificate carries no scopes: it holds
            // what its application's subscription grants.
            CredentialKind::ApiKey | CredentialKind::Basic | CredentialKind::Mtls => {
                let scopes = subscribed.ok_or(GatewayError::NotSubscribed)?.clone();
                Principal {
                    scopes,
                    ..principal
                }
            }
            CredentialKind::Bearer => {
                if route.require_subscription && subscribed.is_none() {
                    return Err(GatewayError::NotSubscribed);
                }
                principal
            }
        };
        let required = self
            .required
            .get(m.api)
            .and_then(|r| r.get(m.route))
            .ok_or(GatewayError::Internal)?;
        if !principal.scopes.is_superset(required) {
            return Err(GatewayError::InsufficientScope {
                required: required.to_space_separated(),
            });
        }

        // policies
        let added_headers =
            self.enforce_policies(api_spec, route, api, &m.params, Some(&principal), &view, r)?;

        // rate limit: the application's override, else its plan's limits, else the API's
        if let Some(limits) = self.limits.get(m.api) {
            let plan = entry
                .subscriptions
                .get(&api.id)
                .filter(|s| s.status == SubscriptionStatus::Approved)
                .and_then(|s| view.catalog.plan(&api.id, &s.plan));
            self.limit(limits, &principal.client_id, plan.map(|p| &**p))?;
        }
        Ok(Decision {
            api: m.api,
            route: m.route,
            principal: Some(principal),
            view,
            added_headers,
        })
    }

    /// The Rego policies attached to the operation (none: nothing to do).
    #[expect(clippy::too_many_arguments, reason = "the parts of one decision")]
    fn enforce_policies(
        &self,
        api_spec: &ApiSpec,
        route: &RouteSpec,
        api: &gatehouse_core::Api,
        params: &[(String, String)],
        principal: Option<&Principal>,
        view: &View,
        r: &RequestInfo<'_>,
    ) -> Result<Vec<(http::HeaderName, http::HeaderValue)>, GatewayError> {
        let policies = view.catalog.policies_for(&api.id);
        if policies.is_empty() {
            return Ok(Vec::new());
        }
        let subject = Subject {
            api_name: &api.name,
            api_id: &api.id,
            audience: api.audience.as_str(),
            operation: &route.operation,
            params,
            principal,
            request: r,
            api_key_header: api_spec.api_key_header.as_str(),
            catalog: &view.catalog,
            now: self.control.now(),
        };
        self.policies.enforce(policies, &subject, &self.metrics)
    }

    /// Rate limit, then daily quota (a refused request does not use quota). A per-application
    /// override in the config wins; then the subscription's plan, for what the plan sets; then
    /// the API's defaults. `client` is a `&String` because the keyed limiter looks up by
    /// `&String` (no copy).
    fn limit(
        &self,
        limits: &ApiLimits,
        client: &String,
        plan: Option<&Plan>,
    ) -> Result<(), GatewayError> {
        let plan_limiter;
        let (rate, per_day) = match (limits.overrides.get(client), plan) {
            (Some((rate, per_day)), _) => (rate.as_ref(), *per_day),
            (None, Some(plan)) => {
                plan_limiter = plan
                    .rate_limit
                    .and_then(|r| limits.plan_limiter(&plan.id, r));
                (
                    plan_limiter.as_deref().or(limits.rate.as_ref()),
                    plan.daily_quota.or(limits.per_day),
                )
            }
            (None, None) => (limits.rate.as_ref(), limits.per_day),
        };
        if let Some((limiter, burst)) = rate
            && let Err(not_until) = limiter.check_key(client)
        {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(GatewayError::RateLimited {
                retry_after: retry_after.max(1),
                limit: *burst,
            });
        }
        if let Some(quota) = per_day
            && let QuotaCheck::Exhausted { retry_after } =
                limits.daily.check(client, quota, self.control.now())
        {
            return Err(GatewayError::RateLimited {
                retry_after,
                limit: u32::try_from(quota).unwrap_or(u32::MAX),
            });
        }
        Ok(())
    }

    fn authenticate(
        &self,
        api_spec: &ApiSpec,
        route: &RouteSpec,
        audience: &str,
        view: &View,
        r: &RequestInfo<'_>,
    ) -> Result<Principal, GatewayError> {
        let schemes = Schemes {
            bearer: route.accept.contains(&CredentialKind::Bearer),
            api_key: route.accept.contains(&CredentialKind::ApiKey),
            basic: route.accept.contains(&CredentialKind::Basic),
            mtls: route.accept.contains(&CredentialKind::Mtls),
        };
        let invalid = GatewayError::InvalidCredentials(schemes);
        let catalog = &view.catalog;
        let now = self.control.now();
        if schemes.basic
            && let Some(value) = r.headers.get(header::AUTHORIZATION)
            && value.as_bytes().len() > 6
            && value
                .as_bytes()
                .get(..6)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"basic "))
        {
            let value = value.to_str().map_err(|_| invalid.clone())?;
            let (id, secret) =
                gatehouse_oauth::client_auth::parse_basic(value).ok_or(invalid.clone())?;
            let entry = catalog.client(&id).ok_or(invalid.clone())?;
            if !entry.client.auth_method.uses_secret()
                || !gatehouse_oauth::client_auth::secret_matches(entry, &secret, now)
            {
                return Err(invalid);
            }
            return Ok(Principal {
                client_id: entry.client.id.to_string(),
                subject: entry.client.id.to_string(),
                scopes: ScopeSet::default(),
                entry: Arc::clone(entry),
                kind: CredentialKind::Basic,
                token: None,
                certificate: None,
            });
        }
        let token = if schemes.bearer {
            authn::bearer(r.headers).map_err(|_| invalid.clone())?
        } else {
            None
        };
        if let Some(token) = token {
            let t = self
                .tokens
                .authenticate(token, audience, view, self.control.as_ref(), now)
                .map_err(|_| invalid.clone())?;
            if !authn::binding_holds(&t, r.client_cert) {
                return Err(invalid);
            }
            let entry = catalog.client(&t.client_id).ok_or(invalid.clone())?;
            let scopes = ScopeSet::parse_space_separated(
                t.claims.get("scope").and_then(|s| s.as_str()).unwrap_or(""),
            )
            .map_err(|_| invalid.clone())?;
            let subject = t
                .claims
                .get("sub")
                .and_then(|s| s.as_str())
                .unwrap_or(&t.client_id)
                .to_owned();
            return Ok(Principal {
                client_id: t.client_id.clone(),
                subject,
                scopes,
                entry: Arc::clone(entry),
                kind: CredentialKind::Bearer,
                token: Some(t),
                certificate: None,
            });
        }
        let key = if schemes.api_key {
            api_key_of(api_spec, r).map_err(|_| invalid.clone())?
        } else {
            None
        };
        if let Some(key) = key {
            let entry = authn::api_key(&key, catalog, now).map_err(|_| invalid)?;
            return Ok(Principal {
                client_id: entry.client.id.to_string(),
                subject: entry.client.id.to_string(),
                scopes: ScopeSet::default(),
                entry: Arc::clone(entry),
                kind: CredentialKind::ApiKey,
                token: None,
                certificate: None,
            });
        }
        if schemes.mtls
            && let Some(chain) = r.client_cert
        {
            let rules = api_spec.mtls.as_ref().ok_or(GatewayError::Internal)?;
            let built_in = view.ca.as_deref();
            let (client, certificate) = rules
                .verify_with(chain, r.client_cert_digest, now, built_in)
                .and_then(|id| {
                    if catalog.certificate_revoked(&id.serial) {
                        return Err(crate::mtls::CertError::Revoked);
                    }
                    Ok((rules.client_for_with(&id, built_in)?, id))
                })
                .map_err(|e| {
                    tracing::debug!(error = %e, api = %api_spec.api, "client certificate refused");
                    invalid.clone()
                })?;
            let entry = catalog.client(&client).ok_or(invalid)?;
            return Ok(Principal {
                client_id: entry.client.id.to_string(),
                subject: entry.client.id.to_string(),
                scopes: ScopeSet::default(),
                entry: Arc::clone(entry),
                kind: CredentialKind::Mtls,
                token: None,
                certificate: Some(certificate),
            });
        }
        Err(GatewayError::MissingCredentials(schemes))
    }

    async fn proxy(
        &self,
        mut req: Request,
        decided: &mut Option<(usize, usize, String)>,
    ) -> Result<Response, GatewayError> {
        let upgrade = crate::upgrade::ClientUpgrade::take(&mut req);
        let (mut parts, body) = req.into_parts();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        // HTTP/2 carries the host in the URI (`:authority`), HTTP/1.1 in `Host`.
        let original_host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .map(str::to_owned);
        let peer_certs = parts
            .extensions
            .get::<gatehouse_net::PeerCertificates>()
            .cloned();
        let tls = parts.extensions.get::<gatehouse_net::TlsInfo>().is_some();
        let info = RequestInfo {
            method: &parts.method,
            host: original_host.as_deref().map(strip_port),
            path: parts.uri.path(),
            query: parts.uri.query(),
            headers: &parts.headers,
            client_cert: peer_certs.as_ref().map(|p| p.chain()),
            client_cert_digest: peer_certs.as_ref().map(|p| p.digest()),
        };
        let d = self.decide(&info)?;
        *decided = Some((
            d.api,
            d.route,
            d.principal
                .as_ref()
                .map(|p| p.client_id.clone())
                .unwrap_or_default(),
        ));
        let api_spec = self.spec.apis.get(d.api).ok_or(GatewayError::Internal)?;
        let route = api_spec.routes.get(d.route).ok_or(GatewayError::Internal)?;
        let content_length = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if content_length.is_some_and(|l| l > api_spec.max_body_bytes) {
            return Err(GatewayError::PayloadTooLarge);
        }

        // identity headers
        let scopes = d.principal.as_ref().map(|p| p.scopes.to_space_separated());
        let identity = d.principal.as_ref().map(|p| Identity {
            client_id: &p.client_id,
            application: &p.entry.client.name,
            scopes: scopes.as_deref().unwrap_or(""),
            subject: &p.subject,
            operation: &route.operation,
        });
        parts.headers.remove(&api_spec.api_key_header);
        let assertion = api_spec.identity_audience.as_deref().and_then(|aud| {
            let key = d.view.signer.as_ref()?;
            let identity = identity.as_ref()?;
            crate::identity::sign_assertion(identity, &d.view.issuer, aud, self.control.now(), key)
        });
        rewrite_request(
            &mut parts.headers,
            &self.spec.strip_headers,
            identity.as_ref(),
            peer,
            original_host.as_deref(),
            tls,
        );
        parts.headers.remove(header::HOST);
        upgrade.keep_headers(&mut parts.headers);
        if let Some(jwt) = assertion.and_then(|a| http::HeaderValue::from_str(&a).ok()) {
            parts.headers.insert(crate::identity::ASSERTION, jwt);
        }
        for (name, value) in &d.added_headers {
            parts.headers.insert(name.clone(), value.clone());
        }

        // forward
        let query = parts
            .uri
            .query()
            .map(|q| without_param(q, api_spec.api_key_query.as_deref()));
        let path_and_query = match query.as_deref() {
            Some(q) if !q.is_empty() => format!("{}?{q}", parts.uri.path()),
            _ => parts.uri.path().to_owned(),
        };
        parts.uri = self
            .upstreams
            .get(d.api)
            .ok_or(GatewayError::Internal)?
            .target(&path_and_query)?;
        // The backend hop is HTTP/1.1 whatever the client spoke; the answer goes back in the
        // client's version (an HTTP/1.0 backend must not turn the client's connection into 1.0).
        let client_version = std::mem::replace(&mut parts.version, http::Version::HTTP_11);
        let max = usize::try_from(api_spec.max_body_bytes).unwrap_or(usize::MAX);
        let req = Request::from_parts(parts, Body::new(Limited::new(body, max)));
        let upstreams = self.upstreams.get(d.api).ok_or(GatewayError::Internal)?;
        let client = thread_client();
        let pool = upstreams.pool(&client, api_spec);
        let mut resp = send(pool, req, api_spec.timeout).await?;
        if let Some(switched) = upgrade.switch(&mut resp)? {
            return Ok(switched);
        }
        strip_hop_by_hop(resp.headers_mut());
        *resp.version_mut() = client_version;
        Ok(resp)
    }

    /// The identity headers of a decision, for the forward-auth answer.
    pub fn identity_headers(&self, d: &Decision) -> Vec<(&'static str, String)> {
        let operation = self
            .spec
            .apis
            .get(d.api)
            .and_then(|a| a.routes.get(d.route))
            .map(|r| r.operation.as_str())
            .unwrap_or("");
        let Some(p) = &d.principal else {
            return Vec::new();
        };
        let scopes = p.scopes.to_space_separated();
        let identity = Identity {
            client_id: &p.client_id,
            application: &p.entry.client.name,
            scopes: &scopes,
            subject: &p.subject,
            operation,
        };
        identity
            .headers()
            .iter()
            .map(|(n, v)| (*n, (*v).to_owned()))
            .collect()
    }

    /// The forward-auth peers.
    pub(crate) fn forward_auth_peers(&self) -> &[(std::net::IpAddr, u8)] {
        &self.spec.forward_auth_peers
    }

    /// The header a trusted proxy forwards client certificates in, if enabled.
    pub(crate) fn forward_auth_cert_header(&self) -> Option<&http::HeaderName> {
        self.spec.forward_auth_cert_header.as_ref()
    }
}

/// The API key a request carries, from the header or (when enabled) the query.
fn api_key_of(api: &ApiSpec, r: &RequestInfo<'_>) -> Result<Option<String>, authn::Rejected> {
    if let Some(v) = r.headers.get(&api.api_key_header) {
        return v
            .to_str()
            .map(|s| Some(s.trim().to_owned()))
            .map_err(|_| authn::Rejected);
    }
    let (Some(param), Some(query)) = (&api.api_key_query, r.query) else {
        return Ok(None);
    };
    Ok(query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == param).then(|| v.to_owned())
    }))
}

/// `query` without `param` (the API key must not reach the backend).
fn without_param(query: &str, param: Option<&str>) -> String {
    let Some(param) = param else {
        return query.to_owned();
    };
    query
        .split('&')
        .filter(|pair| pair.split_once('=').map_or(*pair, |(k, _)| k) != param)
        .collect::<Vec<_>>()
        .join("&")
}

/// `host:port` → `host` (IPv6 literals keep their brackets).
pub(crate) fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(h, _)| h.strip_prefix('[').unwrap_or(h));
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// The axum handler for every proxied request.
pub(crate) async fn handle(State(shared): State<crate::SharedGateway>, req: Request) -> Response {
    let gw = shared.load_full();
    #[expect(
        clippy::disallowed_methods,
        reason = "usage latency measures real elapsed time"
    )]
    let started = std::time::Instant::now();
    let mut decided = None;
    let resp = match gw.proxy(req, &mut decided).await {
        Ok(resp) => resp,
        Err(e) => {
            gw.metrics.rejected(&e);
            e.into_response()
        }
    };
    if let Some((api, route, client)) = decided {
        let elapsed = started.elapsed();
        let status = resp.status().as_u16();
        if let Some(slot) = gw.usage.get(api).and_then(|r| r.get(route)) {
            slot.record(
                &client,
                status,
                u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            );
        }
        if let Some(m) = gw.metric_handles.get(api).and_then(|r| r.get(route)) {
            let class = usize::from((status / 100).clamp(1, 5)) - 1;
            if let Some(c) = m.by_class.get(class) {
                c.inc();
            }
            m.latency.observe(elapsed.as_secs_f64());
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_query_parameter_is_removed_before_forwarding() {
        assert_eq!(
            without_param("a=1&api_key=s&b=2", Some("api_key")),
            "a=1&b=2"
        );
        assert_eq!(without_param("api_key=s", Some("api_key")), "");
        assert_eq!(without_param("a=1", None), "a=1");
    }

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("api.example:8080"), "api.example");
        assert_eq!(strip_port("api.example"), "api.example");
        assert_eq!(strip_port("[::1]:8080"), "::1");
    }
}
