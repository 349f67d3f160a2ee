//! Gateway configuration: the `[gateway]` section of the config file (raw, every field optional)
//! and its validated form. Errors name the field (`gateway.apis[0].routes[1].path: ...`).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::{Scope, ScopeSet, parse_duration};
use serde::Deserialize;

use crate::tls::{self, ClientIdentitySource, FileIdentity, SwappableIdentity, UpstreamTls};

/// The one gateway identity every API's `client_certificate = "gatehouse"` shares.
type CaIdentityCell = std::cell::OnceCell<Arc<SwappableIdentity>>;

/// A gateway configuration error, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    /// Dotted field path.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl std::fmt::Display) -> SpecError {
    SpecError {
        field: field.into(),
        message: message.to_string(),
    }
}

/// `[gateway]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawGateway {
    /// Listen address of the gateway.
    pub listen: Option<String>,
    /// Single-threaded workers serving the listener, each with its own upstream connections
    /// (default: one per CPU; 0: share the process's runtime). Needs a restart to change.
    pub workers: Option<usize>,
    /// Extra inbound headers to strip (besides `X-Gatehouse-*`, `Forwarded`, `X-Forwarded-*`).
    pub strip_headers: Vec<String>,
    /// Protected APIs.
    pub apis: Vec<RawApi>,
    /// The forward-auth endpoint for nginx/Caddy/Traefik/Envoy.
    pub forward_auth: RawForwardAuth,
    /// Where a standalone gateway (`gatehouse gateway`) syncs from; ignored by `gatehouse serve`.
    pub control_plane: Option<RawControlPlane>,
    /// TLS on the gateway listener (and client certificates for APIs that accept `mtls`).
    pub tls: Option<RawListenerTls>,
}

/// `[gateway.tls]`: the listener's certificate (PEM files, reloaded on SIGHUP).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawListenerTls {
    /// Certificate chain, end-entity first.
    pub cert_file: String,
    /// Its private key.
    pub key_file: String,
    /// Ask callers for a client certificate at the handshake: `request` or `off` (default:
    /// `request` when an API accepts `mtls`).
    pub client_certs: Option<String>,
}

/// `[gateway.apis.mtls]`: which client certificates an API trusts and how they map to
/// applications.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMtls {
    /// PEM bundle of the CAs client certificates must chain to (default: Gatehouse's
    /// built-in CA, whose SPIFFE IDs then map to applications without a `trust_domain`).
    pub ca_file: Option<String>,
    /// Maps `spiffe://<trust_domain>/app/<client_id>` URI SANs to that application.
    pub trust_domain: Option<String>,
    /// When any allow-list is set, a certificate must match one entry of one of them.
    pub allowed_subjects: Vec<String>,
    /// Allowed SAN DNS names.
    pub allowed_san_dns: Vec<String>,
    /// Allowed SAN URIs.
    pub allowed_san_uris: Vec<String>,
    /// Allowed SHA-256 thumbprints (hex) of end-entity certificates.
    pub allowed_thumbprints: Vec<String>,
    /// Explicit certificate → application mappings.
    pub identities: Vec<RawCertIdentity>,
}

/// `[[gateway.apis.mtls.identities]]`: exactly one of the matchers, and the application.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCertIdentity {
    /// The application (client id).
    pub client_id: String,
    /// Subject DN (DER order, `, `-separated, e.g. `C=US, O=Example, CN=billing`).
    pub subject: Option<String>,
    /// A SAN DNS name.
    pub san_dns: Option<String>,
    /// A SAN URI.
    pub san_uri: Option<String>,
    /// SHA-256 thumbprint (hex).
    pub thumbprint: Option<String>,
}

/// `[gateway.control_plane]`: read by `gatehouse gateway` only.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawControlPlane {
    /// Base URL of the control plane (`https://gatehouse.internal:7070`).
    pub url: Option<String>,
    /// The gateway's client id (an application granted `gateway:sync` on the API `gatehouse`).
    pub client_id: Option<String>,
    /// File holding its client secret (env `GATEHOUSE_GATEWAY_CLIENT_SECRET` wins).
    pub client_secret_file: Option<String>,
    /// Past this age of the last successful sync, requests get 503 (default `5m`).
    pub max_staleness: Option<String>,
    /// How long the control plane holds each snapshot request open (default `25s`).
    pub poll_wait: Option<String>,
    /// PEM bundle of CAs trusted for the control plane's certificate (default: public roots).
    pub ca_file: Option<String>,
}

/// `[gateway.forward_auth]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawForwardAuth {
    /// Peers (IP addresses or CIDR ranges) allowed to call the endpoint and whose
    /// `X-Original-*` / `X-Forwarded-*` headers are believed. Empty: the endpoint is off.
    pub trusted_peers: Vec<String>,
    /// Header in which the trusted proxy forwards the caller's TLS client certificate (e.g.
    /// `X-Forwarded-Client-Cert`). Off unless set: the proxy must overwrite it on every request,
    /// or a client could present someone else's (public) certificate.
    pub client_cert_header: Option<String>,
}

/// `[[gateway.apis]]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawApi {
    /// Name or audience of a registered API.
    pub api: String,
    /// Backend base URLs (`http://` or `https://host:port[/prefix]`, one scheme per API), used
    /// round-robin.
    pub upstreams: Vec<String>,
    /// TLS to `https://` upstreams: trusted CA and the client certificate the gateway presents.
    pub upstream_tls: Option<RawUpstreamTls>,
    /// Upstream timeout (default 30s).
    pub timeout: Option<String>,
    /// Largest request body forwarded (default 1 MiB).
    pub max_body_bytes: Option<u64>,
    /// Accepted credentials: `bearer`, `api_key` (default `["bearer"]`).
    pub accept: Option<Vec<String>>,
    /// Header carrying an API key (default `X-API-Key`).
    pub api_key_header: Option<String>,
    /// Query parameter carrying an API key (off unless set; keys in URLs end up in logs).
    pub api_key_query: Option<String>,
    /// When set, the backend also receives `X-Gatehouse-Identity`: a short-lived JWT signed by
    /// Gatehouse with this audience (the backend's own URI), verifiable with the JWKS.
    pub identity_audience: Option<String>,
    /// Scopes every operation requires.
    pub scopes: Vec<String>,
    /// Whether an approved subscription is required (default true).
    pub require_subscription: Option<bool>,
    /// Per-application rate limit and daily quota.
    pub rate_limit: Option<RawRateLimit>,
    /// Limits for particular applications, by client id (replacing `rate_limit` for them).
    pub rate_limit_overrides: std::collections::BTreeMap<String, RawRateLimit>,
    /// Routes, grouped into named operations.
    pub routes: Vec<RawRoute>,
    /// Client certificates this API trusts (required when `accept` has `mtls`).
    pub mtls: Option<RawMtls>,
}

/// `upstream_tls = { ... }`: every field optional; PEM files, read at config time.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawUpstreamTls {
    /// CA bundle the backend's certificate must chain to (default: the webpki public roots).
    pub ca_file: Option<String>,
    /// Certificate chain the gateway presents (mTLS); needs `client_key_file`.
    pub client_cert_file: Option<String>,
    /// Private key of `client_cert_file`.
    pub client_key_file: Option<String>,
    /// `"gatehouse"`: present the gateway's own certificate from the built-in CA, issued at
    /// start and renewed before it expires (instead of `client_cert_file`).
    pub client_certificate: Option<String>,
    /// Name to verify in the backend's certificate (and send as SNI) instead of the URL host.
    pub server_name: Option<String>,
}

/// A rate limit: a per-second rate with burst, a daily quota, or both.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRateLimit {
    /// Sustained requests per second.
    pub per_second: Option<u32>,
    /// Burst size (default = per_second).
    pub burst: Option<u32>,
    /// Requests per UTC day.
    pub per_day: Option<u64>,
}

/// A validated limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// (per second, burst).
    pub rate: Option<(u32, u32)>,
    /// Requests per UTC day.
    pub per_day: Option<u64>,
}

impl RawRateLimit {
    fn validate(&self, at: &str) -> Result<Limits, SpecError> {
        if self.per_second.is_none() && self.per_day.is_none() {
            return Err(err(at, "set per_second, per_day or both"));
        }
        let rate = match self.per_second {
            None => None,
            Some(0) => return Err(err(format!("{at}.per_second"), "must be at least 1")),
            Some(r) => Some((r, self.burst.unwrap_or(r).max(1))),
        };
        if self.per_day == Some(0) {
            return Err(err(format!("{at}.per_day"), "must be at least 1"));
        }
        if self.per_day.is_some_and(|d| d > u64::from(u32::MAX)) {
            return Err(err(format!("{at}.per_day"), "must be at most 4294967295"));
        }
        Ok(Limits {
            rate,
            per_day: self.per_day,
        })
    }
}

/// `[[gateway.apis.routes]]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRoute {
    /// Operation name (several routes may share one).
    pub operation: String,
    /// Host to match (any when absent).
    pub host: Option<String>,
    /// Path template: literal segments, `{param}` for one segment, trailing `*` for any rest.
    pub path: String,
    /// Methods (any when empty).
    pub methods: Vec<String>,
    /// Extra scopes this operation requires (on top of the API's).
    pub scopes: Vec<String>,
    /// Accepted credentials for this route, replacing the API's `accept`.
    pub accept: Option<Vec<String>>,
    /// Whether an approved subscription is required here, replacing the API's setting.
    pub require_subscription: Option<bool>,
}

/// Credential kinds a gateway API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// Our JWT access tokens (`Authorization: Bearer`).
    Bearer,
    /// An application's API key (header, or query parameter when enabled).
    ApiKey,
    /// Legacy HTTP Basic: the client id and one of its client secrets.
    Basic,
    /// A client certificate presented at the TLS handshake.
    Mtls,
}

/// The validated gateway.
#[derive(Debug, Clone)]
pub struct GatewaySpec {
    /// Listen address.
    pub listen: SocketAddr,
    /// Worker threads serving the listener (0: the process's runtime).
    pub workers: usize,
    /// Extra headers to strip, lower-cased.
    pub strip_headers: Vec<String>,
    /// Peers trusted to call the forward-auth endpoint: (network, prefix length).
    pub forward_auth_peers: Vec<(std::net::IpAddr, u8)>,
    /// The header carrying a client certificate forwarded by a trusted proxy, if enabled.
    pub forward_auth_cert_header: Option<http::HeaderName>,
    /// APIs.
    pub apis: Vec<ApiSpec>,
    /// TLS on the listener, when configured.
    pub tls: Option<ListenerTls>,
    /// The gateway's own certificate from the built-in CA, when an API's `upstream_tls` asks
    /// for it (`client_certificate = "gatehouse"`): empty until the runtime fills it, then
    /// replaced at each renewal; every such API's connection pool presents the current one.
    pub ca_identity: Option<Arc<SwappableIdentity>>,
}

/// The listener's TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerTls {
    /// Certificate chain file.
    pub cert_file: std::path::PathBuf,
    /// Private key file.
    pub key_file: std::path::PathBuf,
    /// Whether client certificates are requested at the handshake.
    pub request_client_certs: bool,
}

/// One protected API.
#[derive(Debug, Clone)]
pub struct ApiSpec {
    /// Name or audience of the registered API (resolved against the catalog per request).
    pub api: String,
    /// Upstream base URLs.
    pub upstreams: Vec<http::Uri>,
    /// TLS settings when the upstreams are `https://`.
    pub upstream_tls: Option<UpstreamTls>,
    /// Upstream timeout.
    pub timeout: Duration,
    /// Largest request body.
    pub max_body_bytes: u64,
    /// Accepted credentials.
    pub accept: Vec<CredentialKind>,
    /// API key header (lower-case).
    pub api_key_header: http::HeaderName,
    /// API key query parameter, if enabled.
    pub api_key_query: Option<String>,
    /// Audience of the signed identity assertion, if enabled.
    pub identity_audience: Option<String>,
    /// Scopes every operation requires.
    pub scopes: ScopeSet,
    /// Whether an approved subscription is required.
    pub require_subscription: bool,
    /// Per-application rate limit: (per second, burst).
    pub rate_limit: Limits,
    /// Per-application limits replacing `rate_limit`, by client id.
    pub rate_limit_overrides: std::collections::HashMap<String, Limits>,
    /// Routes.
    pub routes: Vec<RouteSpec>,
    /// Client-certificate rules, when the API (or one of its routes) accepts `mtls`.
    pub mtls: Option<Arc<crate::mtls::MtlsRules>>,
}

/// One route.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// Operation name.
    pub operation: String,
    /// Host (lower-case, without port) or any.
    pub host: Option<String>,
    /// Path template segments.
    pub path: Vec<Segment>,
    /// Whether the template ends with `*`.
    pub rest: bool,
    /// Methods (upper-case), empty = any.
    pub methods: Vec<http::Method>,
    /// Scopes required on top of the API's.
    pub scopes: ScopeSet,
    /// Accepted credentials (the route's own, or the API's); empty for a public operation
    /// (`accept = ["none"]`: no credential, no identity, no per-application limit).
    pub accept: Vec<CredentialKind>,
    /// Whether an approved subscription is required (the route's own, or the API's).
    pub require_subscription: bool,
}

/// A path template segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Must equal this text.
    Literal(String),
    /// Any one segment, captured under this name.
    Param(String),
}

fn scopes(field: &str, list: &[String]) -> Result<ScopeSet, SpecError> {
    list.iter()
        .map(|s| Scope::parse(s).map_err(|e| err(field, format!("{s:?}: {e}"))))
        .collect()
}

impl RawGateway {
    /// Validates; `None` when no listen address is configured (no gateway).
    pub fn validate(&self) -> Result<Option<GatewaySpec>, SpecError> {
        let Some(listen) = &self.listen else {
            if !self.apis.is_empty() {
                return Err(err(
                    "gateway.listen",
                    "required when gateway.apis are declared",
                ));
            }
            return Ok(None);
        };
        let listen: SocketAddr = listen
            .parse()
            .map_err(|_| err("gateway.listen", format!("{listen:?} is not an address")))?;
        let ca_identity = std::cell::OnceCell::new();
        let apis = self
            .apis
            .iter()
            .enumerate()
            .map(|(i, a)| a.validate(&format!("gateway.apis[{i}]"), &ca_identity))
            .collect::<Result<Vec<_>, _>>()?;
        let strip_headers = self
            .strip_headers
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let forward_auth_peers = self
            .forward_auth
            .trusted_peers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                parse_cidr(p).ok_or_else(|| {
                    err(
                        format!("gateway.forward_auth.trusted_peers[{i}]"),
                        format!("{p:?} is not an IP address or CIDR range"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let wants_mtls = apis.iter().any(|a| a.mtls.is_some());
        let tls = match &self.tls {
            None if wants_mtls => {
                return Err(err(
                    "gateway.tls",
                    "required when an API accepts mtls (client certificates need a TLS listener)",
                ));
            }
            None => None,
            Some(t) => Some(t.validate(wants_mtls)?),
        };
        let forward_auth_cert_header = match &self.forward_auth.client_cert_header {
            None => None,
            Some(h) => Some(
                http::HeaderName::from_bytes(h.to_ascii_lowercase().as_bytes()).map_err(|_| {
                    err(
                        "gateway.forward_auth.client_cert_header",
                        "not a header name",
                    )
                })?,
            ),
        };
        let workers = match self.workers {
            Some(n) if n > 256 => return Err(err("gateway.workers", "at most 256")),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        };
        Ok(Some(GatewaySpec {
            listen,
            workers,
            strip_headers,
            forward_auth_peers,
            forward_auth_cert_header,
            apis,
            tls,
            ca_identity: ca_identity.into_inner(),
        }))
    }
}

impl RawApi {
    fn validate(&self, at: &str, ca_identity: &CaIdentityCell) -> Result<ApiSpec, SpecError> {
        if self.api.trim().is_empty() {
            return Err(err(
                format!("{at}.api"),
                "name or audience of a registered API is required",
            ));
        }
        let (upstreams, upstream_tls) = self.upstreams(at, ca_identity)?;
        let timeout = match &self.timeout {
            Some(t) => parse_duration(t).map_err(|e| err(format!("{at}.timeout"), e))?,
            None => Duration::from_secs(30),
        };
        let accept = match &self.accept {
            None => vec![CredentialKind::Bearer],
            Some(list) => parse_accept(&format!("{at}.accept"), list)?,
        };
        let require_subscription = self.require_subscription.unwrap_or(true);
        let rate_limit = match &self.rate_limit {
            None => Limits::default(),
            Some(r) => r.validate(&format!("{at}.rate_limit"))?,
        };
        let rate_limit_overrides = self
            .rate_limit_overrides
            .iter()
            .map(|(client, r)| {
                Ok((
                    client.clone(),
                    r.validate(&format!("{at}.rate_limit_overrides.{client}"))?,
                ))
            })
            .collect::<Result<_, SpecError>>()?;
        if self.routes.is_empty() {
            return Err(err(
                format!("{at}.routes"),
                "at least one route is required",
            ));
        }
        let routes = self
            .routes
            .iter()
            .enumerate()
            .map(|(i, r)| r.validate(&format!("{at}.routes[{i}]"), &accept, require_subscription))
            .collect::<Result<Vec<_>, _>>()?;
        let api_key_header = http::HeaderName::from_bytes(
            self.api_key_header
                .as_deref()
                .unwrap_or("x-api-key")
                .to_ascii_lowercase()
                .as_bytes(),
        )
        .map_err(|_| err(format!("{at}.api_key_header"), "not a valid header name"))?;
        if matches!(api_key_header.as_str(), "authorization" | "host" | "cookie") {
            return Err(err(
                format!("{at}.api_key_header"),
                "choose a dedicated header",
            ));
        }
        let identity_audience = match &self.identity_audience {
            Some(a) => Some(
                gatehouse_core::Audience::parse(a)
                    .map_err(|e| err(format!("{at}.identity_audience"), e))?
                    .to_string(),
            ),
            None => None,
        };
        Ok(ApiSpec {
            identity_audience,
            api_key_header,
            api_key_query: self.api_key_query.clone().filter(|q| !q.is_empty()),
            api: self.api.clone(),
            upstreams,
            upstream_tls,
            timeout,
            max_body_bytes: self.max_body_bytes.unwrap_or(1024 * 1024),
            accept,
            scopes: scopes(&format!("{at}.scopes"), &self.scopes)?,
            require_subscription,
            rate_limit,
            rate_limit_overrides,
            mtls: self.mtls_rules(at, &routes)?,
            routes,
        })
    }

    /// The API's `[mtls]` rules: required when it or a route accepts `mtls`, refused otherwise.
    fn mtls_rules(
        &self,
        at: &str,
        routes: &[RouteSpec],
    ) -> Result<Option<Arc<crate::mtls::MtlsRules>>, SpecError> {
        let accepted = routes
            .iter()
            .any(|r| r.accept.contains(&CredentialKind::Mtls));
        match (&self.mtls, accepted) {
            (None, false) => Ok(None),
            (None, true) => Err(err(
                format!("{at}.mtls"),
                "required when accept has \"mtls\" (ca_file, and how certificates map to applications)",
            )),
            (Some(_), false) => Err(err(
                format!("{at}.mtls"),
                "set, but neither the API nor a route accepts \"mtls\"",
            )),
            (Some(raw), true) => raw
                .validate(&format!("{at}.mtls"))
                .map(|r| Some(Arc::new(r))),
        }
    }
}

impl RawListenerTls {
    fn validate(&self, wants_mtls: bool) -> Result<ListenerTls, SpecError> {
        let at = "gateway.tls";
        if self.cert_file.is_empty() {
            return Err(err(format!("{at}.cert_file"), "required"));
        }
        if self.key_file.is_empty() {
            return Err(err(format!("{at}.key_file"), "required"));
        }
        let request_client_certs = match self.client_certs.as_deref() {
            None => wants_mtls,
            Some("request") => true,
            Some("off") if wants_mtls => {
                return Err(err(
                    format!("{at}.client_certs"),
                    "\"off\", but an API accepts mtls",
                ));
            }
            Some("off") => false,
            Some(other) => {
                return Err(err(
                    format!("{at}.client_certs"),
                    format!("{other:?}: expected \"request\" or \"off\""),
                ));
            }
        };
        Ok(ListenerTls {
            cert_file: self.cert_file.clone().into(),
            key_file: self.key_file.clone().into(),
            request_client_certs,
        })
    }
}

impl RawMtls {
    fn validate(&self, at: &str) -> Result<crate::mtls::MtlsRules, SpecError> {
        use crate::mtls::{CertMatch, MtlsRules, parse_thumbprint};
        let mut rules = match self.ca_file.as_deref() {
            Some("") => return Err(err(format!("{at}.ca_file"), "an empty path")),
            Some(file) => {
                let roots = tls::read_certificates(Path::new(file))
                    .map_err(|e| err(format!("{at}.ca_file"), e))?;
                MtlsRules::new(&roots).map_err(|e| err(format!("{at}.ca_file"), e))?
            }
            None => MtlsRules::built_in(),
        };
        let thumbprint = |field: String, t: &str| {
            parse_thumbprint(t)
                .map(CertMatch::Thumbprint)
                .ok_or_else(|| err(field, format!("{t:?} is not 64 hex digits")))
        };
        rules.allowed.extend(
            self.allowed_subjects
                .iter()
                .cloned()
                .map(CertMatch::Subject),
        );
        rules
            .allowed
            .extend(self.allowed_san_dns.iter().cloned().map(CertMatch::SanDns));
        rules
            .allowed
            .extend(self.allowed_san_uris.iter().cloned().map(CertMatch::SanUri));
        for (i, t) in self.allowed_thumbprints.iter().enumerate() {
            rules
                .allowed
                .push(thumbprint(format!("{at}.allowed_thumbprints[{i}]"), t)?);
        }
        rules.trust_domain = match &self.trust_domain {
            Some(td) if td.is_empty() || td.contains(['/', ':']) => {
                return Err(err(
                    format!("{at}.trust_domain"),
                    "a SPIFFE trust domain, e.g. \"gatehouse.local\"",
                ));
            }
            td => td.clone(),
        };
        for (i, id) in self.identities.iter().enumerate() {
            let f = format!("{at}.identities[{i}]");
            if gatehouse_core::ClientId::parse(&id.client_id).is_err() {
                return Err(err(format!("{f}.client_id"), "a client id is required"));
            }
            let mut matchers = Vec::new();
            if let Some(s) = &id.subject {
                matchers.push(CertMatch::Subject(s.clone()));
            }
            if let Some(d) = &id.san_dns {
                matchers.push(CertMatch::SanDns(d.clone()));
            }
            if let Some(u) = &id.san_uri {
                matchers.push(CertMatch::SanUri(u.clone()));
            }
            if let Some(t) = &id.thumbprint {
                matchers.push(thumbprint(format!("{f}.thumbprint"), t)?);
            }
            let [m] = <[CertMatch; 1]>::try_from(matchers).map_err(|_| {
                err(
                    &f,
                    "set exactly one of subject, san_dns, san_uri, thumbprint",
                )
            })?;
            rules.identities.push((m, id.client_id.clone()));
        }
        if rules.trust_domain.is_none() && rules.identities.is_empty() && !rules.uses_built_in() {
            return Err(err(
                at,
                "set trust_domain (SPIFFE IDs) or identities: a certificate must map to an application",
            ));
        }
        Ok(rules)
    }
}

impl RawApi {
    /// The upstream URLs, all `http://` or all `https://`, and the TLS settings for the latter.
    fn upstreams(
        &self,
        at: &str,
        ca_identity: &CaIdentityCell,
    ) -> Result<(Vec<http::Uri>, Option<UpstreamTls>), SpecError> {
        if self.upstreams.is_empty() {
            return Err(err(
                format!("{at}.upstreams"),
                "at least one upstream URL is required",
            ));
        }
        let mut https = None;
        let mut upstreams = Vec::with_capacity(self.upstreams.len());
        for (i, u) in self.upstreams.iter().enumerate() {
            let field = format!("{at}.upstreams[{i}]");
            let uri: http::Uri = u.parse().map_err(|e| err(&field, e))?;
            let tls = match uri.scheme_str() {
                Some("http") => false,
                Some("https") => true,
                _ => return Err(err(&field, "expected http(s)://host:port[/prefix]")),
            };
            if uri.authority().is_none() || uri.query().is_some() {
                return Err(err(&field, "expected http(s)://host:port[/prefix]"));
            }
            if *https.get_or_insert(tls) != tls {
                return Err(err(
                    &field,
                    "mixes http:// and https:// (an API's upstreams share one scheme)",
                ));
            }
            upstreams.push(uri);
        }
        let tls = match (https, &self.upstream_tls) {
            (Some(true), raw) => Some(raw.clone().unwrap_or_default().validate(at, ca_identity)?),
            (_, Some(_)) => {
                return Err(err(
                    format!("{at}.upstream_tls"),
                    "set, but the upstreams are http:// (use https://)",
                ));
            }
            (_, None) => None,
        };
        Ok((upstreams, tls))
    }
}

impl RawUpstreamTls {
    fn validate(
        &self,
        api_at: &str,
        ca_identity: &CaIdentityCell,
    ) -> Result<UpstreamTls, SpecError> {
        let at = format!("{api_at}.upstream_tls");
        let roots = match &self.ca_file {
            Some(f) => {
                tls::read_roots(Path::new(f)).map_err(|e| err(format!("{at}.ca_file"), e))?
            }
            None => tls::public_roots(),
        };
        let from_ca = match self.client_certificate.as_deref() {
            None => false,
            Some("gatehouse")
                if self.client_cert_file.is_none() && self.client_key_file.is_none() =>
            {
                true
            }
            Some("gatehouse") => {
                return Err(err(
                    format!("{at}.client_certificate"),
                    "\"gatehouse\" replaces client_cert_file and client_key_file: set one or the other",
                ));
            }
            Some(other) => {
                return Err(err(
                    format!("{at}.client_certificate"),
                    format!("{other:?}: expected \"gatehouse\" (the built-in CA)"),
                ));
            }
        };
        let identity: Option<Arc<dyn ClientIdentitySource>> =
            match (&self.client_cert_file, &self.client_key_file) {
                _ if from_ca => {
                    let shared = ca_identity.get_or_init(|| Arc::new(SwappableIdentity::default()));
                    Some(Arc::clone(shared) as Arc<dyn ClientIdentitySource>)
                }
                (Some(cert), Some(key)) => {
                    let chain = tls::read_certificates(Path::new(cert))
                        .map_err(|e| err(format!("{at}.client_cert_file"), e))?;
                    let key_field = format!("{at}.client_key_file");
                    let der =
                        tls::read_private_key(Path::new(key)).map_err(|e| err(&key_field, e))?;
                    let id = FileIdentity::new(chain, der, Path::new(key))
                        .map_err(|e| err(&key_field, e))?;
                    Some(Arc::new(id))
                }
                (Some(_), None) => {
                    return Err(err(
                        format!("{at}.client_key_file"),
                        "required with client_cert_file",
                    ));
                }
                (None, Some(_)) => {
                    return Err(err(
                        format!("{at}.client_cert_file"),
                        "required with client_key_file",
                    ));
                }
                (None, None) => None,
            };
        let server_name = match &self.server_name {
            Some(n) => Some(
                rustls::pki_types::ServerName::try_from(n.clone()).map_err(|_| {
                    err(
                        format!("{at}.server_name"),
                        format!("{n:?} is not a DNS name or IP address"),
                    )
                })?,
            ),
            None => None,
        };
        let config = tls::client_config(roots, identity).map_err(|e| err(&at, e))?;
        Ok(UpstreamTls {
            config: Arc::new(config),
            server_name,
        })
    }
}

/// Parses an `accept` list: at least one kind, each known; `["none"]` alone (a public
/// operation) is the empty list.
fn parse_accept(field: &str, list: &[String]) -> Result<Vec<CredentialKind>, SpecError> {
    if list.is_empty() {
        return Err(err(
            field,
            "must name at least one credential kind (or \"none\")",
        ));
    }
    if list.iter().any(|k| k == "none") {
        return if list.len() == 1 {
            Ok(Vec::new())
        } else {
            Err(err(
                field,
                "\"none\" (a public operation) excludes every other kind",
            ))
        };
    }
    list.iter()
        .map(|k| match k.as_str() {
            "bearer" => Ok(CredentialKind::Bearer),
            "api_key" => Ok(CredentialKind::ApiKey),
            "basic" => Ok(CredentialKind::Basic),
            "mtls" => Ok(CredentialKind::Mtls),
            other => Err(err(
                field,
                format!("{other:?} is not a credential kind (bearer, api_key, basic, mtls, none)"),
            )),
        })
        .collect()
}

impl RawRoute {
    fn validate(
        &self,
        at: &str,
        api_accept: &[CredentialKind],
        api_require_subscription: bool,
    ) -> Result<RouteSpec, SpecError> {
        if self.operation.trim().is_empty() {
            return Err(err(
                format!("{at}.operation"),
                "an operation name is required",
            ));
        }
        let Some(rest_of_path) = self.path.strip_prefix('/') else {
            return Err(err(format!("{at}.path"), "must start with '/'"));
        };
        let mut segments: Vec<&str> = rest_of_path.split('/').collect();
        let rest = segments.last() == Some(&"*");
        if rest {
            segments.pop();
        }
        let path = segments
            .iter()
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) if !name.is_empty() => Ok(Segment::Param(name.to_owned())),
                    Some(_) => Err(err(format!("{at}.path"), "empty parameter name")),
                    None if s.contains(['{', '}', '*']) => {
                        Err(err(format!("{at}.path"), format!("bad segment {s:?}")))
                    }
                    None => Ok(Segment::Literal((*s).to_owned())),
                },
            )
            .collect::<Result<Vec<_>, _>>()?;
        let methods = self
            .methods
            .iter()
            .map(|m| {
                http::Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| {
                    err(
                        format!("{at}.methods"),
                        format!("{m:?} is not an HTTP method"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RouteSpec {
            operation: self.operation.clone(),
            host: self.host.as_ref().map(|h| h.to_ascii_lowercase()),
            path,
            rest,
            methods,
            scopes: scopes(&format!("{at}.scopes"), &self.scopes)?,
            accept: match &self.accept {
                Some(list) => parse_accept(&format!("{at}.accept"), list)?,
                None => api_accept.to_vec(),
            },
            require_subscription: self
                .require_subscription
                .unwrap_or(api_require_subscription),
        })
    }
}

/// Parses `1.2.3.4`, `1.2.3.0/24`, `::1` or `fd00::/8`.
fn parse_cidr(s: &str) -> Option<(std::net::IpAddr, u8)> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.trim().parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((ip, len))
}

/// Whether `ip` is inside one of `nets`.
pub fn peer_trusted(nets: &[(std::net::IpAddr, u8)], ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let bits = |ip: IpAddr| -> (u128, u8) {
        match ip {
            IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
            IpAddr::V6(v) => (u128::from(v), 128),
        }
    };
    let ip = match ip {
        IpAddr::V6(v) => v.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let (value, width) = bits(ip);
    nets.iter().any(|(net, len)| {
        let (nv, nw) = bits(*net);
        if nw != width {
            return false;
        }
        let shift = u32::from(width - (*len).min(width));
        shift >= 128 || value.checked_shr(shift) == nv.checked_shr(shift)
    })
}

#[cfg(test)]
mod cidr_tests {
    use super::*;

    #[test]
    fn cidr_membership() {
        let nets = vec![
            parse_cidr("127.0.0.0/8").unwrap(),
            parse_cidr("10.1.2.3").unwrap(),
            parse_cidr("fd00::/8").unwrap(),
        ];
        assert!(peer_trusted(&nets, "127.9.9.9".parse().unwrap()));
        assert!(peer_trusted(&nets, "10.1.2.3".parse().unwrap()));
        assert!(!peer_trusted(&nets, "10.1.2.4".parse().unwrap()));
        assert!(peer_trusted(&nets, "fd12::1".parse().unwrap()));
        assert!(peer_trusted(&nets, "::ffff:127.0.0.1".parse().unwrap()));
        assert!(!peer_trusted(&nets, "192.168.0.1".parse().unwrap()));
        assert!(parse_cidr("1.2.3.4/33").is_none());
        assert!(parse_cidr("nope").is_none());
    }
}
