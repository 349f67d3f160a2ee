//! Gateway configuration: the `[gateway]` section of the config file (raw, every field optional)
//! and its validated form. Errors name the field (`gateway.apis[0].routes[1].path: ...`).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::{Scope, ScopeSet, parse_duration};
use serde::Deserialize;

use crate::tls::{self, ClientIdentitySource, FileIdentity, UpstreamTls};

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
    /// Extra inbound headers to strip (besides `X-Gatehouse-*`, `Forwarded`, `X-Forwarded-*`).
    pub strip_headers: Vec<String>,
    /// Protected APIs.
    pub apis: Vec<RawApi>,
    /// The forward-auth endpoint for nginx/Caddy/Traefik/Envoy.
    pub forward_auth: RawForwardAuth,
}

/// `[gateway.forward_auth]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawForwardAuth {
    /// Peers (IP addresses or CIDR ranges) allowed to call the endpoint and whose
    /// `X-Original-*` / `X-Forwarded-*` headers are believed. Empty: the endpoint is off.
    pub trusted_peers: Vec<String>,
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
}

/// The validated gateway.
#[derive(Debug, Clone)]
pub struct GatewaySpec {
    /// Listen address.
    pub listen: SocketAddr,
    /// Extra headers to strip, lower-cased.
    pub strip_headers: Vec<String>,
    /// Peers trusted to call the forward-auth endpoint: (network, prefix length).
    pub forward_auth_peers: Vec<(std::net::IpAddr, u8)>,
    /// APIs.
    pub apis: Vec<ApiSpec>,
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
        let apis = self
            .apis
            .iter()
            .enumerate()
            .map(|(i, a)| a.validate(&format!("gateway.apis[{i}]")))
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
        Ok(Some(GatewaySpec {
            listen,
            strip_headers,
            forward_auth_peers,
            apis,
        }))
    }
}

impl RawApi {
    fn validate(&self, at: &str) -> Result<ApiSpec, SpecError> {
        if self.api.trim().is_empty() {
            return Err(err(
                format!("{at}.api"),
                "name or audience of a registered API is required",
            ));
        }
        let (upstreams, upstream_tls) = self.upstreams(at)?;
        let timeout = match &self.timeout {
            Some(t) => parse_duration(t).map_err(|e| err(format!("{at}.timeout"), e))?,
            None => Duration::from_secs(30),
        };
        let accept = match &self.accept {
            None => vec![CredentialKind::Bearer],
            Some(list) if list.is_empty() => {
                return Err(err(
                    format!("{at}.accept"),
                    "must name at least one credential kind",
                ));
            }
            Some(list) => list
                .iter()
                .map(|k| match k.as_str() {
                    "bearer" => Ok(CredentialKind::Bearer),
                    "api_key" => Ok(CredentialKind::ApiKey),
                    "basic" => Ok(CredentialKind::Basic),
                    other => Err(err(
                        format!("{at}.accept"),
                        format!(
                            "{other:?} is not supported yet (supported: bearer, api_key, basic)"
                        ),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
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
            .map(|(i, r)| r.validate(&format!("{at}.routes[{i}]")))
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
            require_subscription: self.require_subscription.unwrap_or(true),
            rate_limit,
            rate_limit_overrides,
            routes,
        })
    }
}

impl RawApi {
    /// The upstream URLs, all `http://` or all `https://`, and the TLS settings for the latter.
    fn upstreams(&self, at: &str) -> Result<(Vec<http::Uri>, Option<UpstreamTls>), SpecError> {
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
            (Some(true), raw) => Some(raw.clone().unwrap_or_default().validate(at)?),
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
    fn validate(&self, api_at: &str) -> Result<UpstreamTls, SpecError> {
        let at = format!("{api_at}.upstream_tls");
        let roots = match &self.ca_file {
            Some(f) => {
                tls::read_roots(Path::new(f)).map_err(|e| err(format!("{at}.ca_file"), e))?
            }
            None => tls::public_roots(),
        };
        let identity: Option<Arc<dyn ClientIdentitySource>> =
            match (&self.client_cert_file, &self.client_key_file) {
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

impl RawRoute {
    fn validate(&self, at: &str) -> Result<RouteSpec, SpecError> {
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
