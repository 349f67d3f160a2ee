//! `agent.toml`: raw as written, then validated ([`AgentConfig`]).
//!
//! ```toml
//! [agent]
//! listen = "127.0.0.1:7071"                       # loopback only
//! token_endpoint = "http://127.0.0.1:7070/oauth2/token"
//! client_id = "app_…"
//! client_secret_file = "/etc/gatehouse/agent-secret"  # or env GATEHOUSE_AGENT_CLIENT_SECRET
//! env_file = "/run/gatehouse/identity.env"        # IDENTITY_ENDPOINT, IDENTITY_HEADER, …
//! imds = "prefixed"                               # "prefixed" (default) | "open" | "off"
//! # unix_socket = "/run/gatehouse/agent.sock"
//! # private_key_file = "key.pem", key_id = "k1", key_alg = "ES256" (instead of a secret)
//! # [agent.certificate] dir, dns_names, reload_command, ca_url
//! # [[agent.egress]] listen, upstream, audience, scopes, client_certificate, timeout
//! # [agent.proxy] listen + [[agent.proxy.destinations]] host, audience, scopes
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::routes::ImdsMode;

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// `[agent]`.
    #[serde(default)]
    pub agent: RawAgent,
}

/// `[agent]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAgent {
    /// Listen address (loopback).
    pub listen: Option<String>,
    /// The authorization server's token endpoint.
    pub token_endpoint: Option<String>,
    /// The workload's client id.
    pub client_id: Option<String>,
    /// File holding the client secret.
    pub client_secret_file: Option<PathBuf>,
    /// `private_key_jwt` instead of a secret: a PKCS#8 PEM private key file...
    pub private_key_file: Option<PathBuf>,
    /// ...its `kid` as registered in the client's JWKS...
    pub key_id: Option<String>,
    /// ...and its algorithm (`ES256` default, `EdDSA`, `RS256`, `PS256`).
    pub key_alg: Option<String>,
    /// Where to write the environment file for the application.
    pub env_file: Option<PathBuf>,
    /// IMDS front door: `prefixed`, `open` or `off`.
    pub imds: Option<String>,
    /// Also serve on this Unix socket (created 0600).
    pub unix_socket: Option<PathBuf>,
    /// `[agent.certificate]`: keep a workload certificate from the CA.
    pub certificate: Option<RawCertificate>,
    /// `[[agent.egress]]`: destinations the agent forwards to with a token.
    pub egress: Vec<RawEgress>,
    /// `[agent.proxy]`: a forward proxy for plain-HTTP destinations.
    pub proxy: Option<RawProxy>,
}

/// `[agent.proxy]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawProxy {
    /// Loopback listen address (`HTTP_PROXY`).
    pub listen: Option<String>,
    /// Destinations.
    pub destinations: Vec<RawProxyDestination>,
}

/// `[[agent.proxy.destinations]]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawProxyDestination {
    /// `host` or `host:port` as the application's URLs name it.
    pub host: Option<String>,
    /// Token audience.
    pub audience: Option<String>,
    /// Scopes.
    pub scopes: Vec<String>,
}

/// `[[agent.egress]]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawEgress {
    /// Loopback address the application calls.
    pub listen: Option<String>,
    /// The real destination.
    pub upstream: Option<String>,
    /// Token audience.
    pub audience: Option<String>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Present the workload certificate.
    pub client_certificate: bool,
    /// Timeout, e.g. `30s`.
    pub timeout: Option<String>,
}

/// `[agent.certificate]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCertificate {
    /// Directory for cert.pem, key.pem, bundle.pem.
    pub dir: Option<PathBuf>,
    /// Control plane URL (default: the token endpoint's origin).
    pub ca_url: Option<String>,
    /// DNS names to ask for.
    pub dns_names: Vec<String>,
    /// Command run after each renewal.
    pub reload_command: Vec<String>,
    /// The certificate is the agent's own credential (mTLS); needs an existing certificate.
    pub authenticate: bool,
}

/// A validated configuration (the secret is read separately).
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Loopback listen address.
    pub listen: SocketAddr,
    /// Token endpoint URL.
    pub token_endpoint: String,
    /// Client id.
    pub client_id: String,
    /// Secret file, if not from the environment.
    pub client_secret_file: Option<PathBuf>,
    /// `private_key_jwt`: key file, `kid`, algorithm.
    pub private_key: Option<(PathBuf, gatehouse_core::Kid, gatehouse_core::Alg)>,
    /// Environment file path.
    pub env_file: Option<PathBuf>,
    /// IMDS exposure.
    pub imds: ImdsMode,
    /// Unix socket path, when configured.
    pub unix_socket: Option<PathBuf>,
    /// The workload certificate, when configured.
    pub certificate: Option<crate::certs::CertSettings>,
    /// Egress destinations.
    pub egress: Vec<crate::egress::EgressRoute>,
    /// The forward proxy: its address and (host, route) destinations.
    pub proxy: Option<(SocketAddr, Vec<(String, crate::egress::EgressRoute)>)>,
}

/// A configuration that cannot be used, naming the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file is not valid TOML for this schema.
    #[error("agent config: {0}")]
    Parse(String),
    /// A field is missing or wrong.
    #[error("agent.{field}: {problem}")]
    Field {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
}

fn field(field: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        field,
        problem: problem.into(),
    }
}

impl RawFile {
    /// Parses `agent.toml` text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))
    }
}

impl TryFrom<RawAgent> for AgentConfig {
    type Error = ConfigError;

    fn try_from(raw: RawAgent) -> Result<Self, ConfigError> {
        let listen: SocketAddr = raw
            .listen
            .as_deref()
            .unwrap_or("127.0.0.1:7071")
            .parse()
            .map_err(|e| field("listen", format!("not an address: {e}")))?;
        if !listen.ip().is_loopback() {
            return Err(field(
                "listen",
                "the agent listens on loopback only (127.0.0.1 or ::1): it hands out tokens to whoever can reach it",
            ));
        }
        let token_endpoint = raw.token_endpoint.ok_or_else(|| {
            field(
                "token_endpoint",
                "required, e.g. http://127.0.0.1:7070/oauth2/token",
            )
        })?;
        let url = url::Url::parse(&token_endpoint)
            .map_err(|e| field("token_endpoint", format!("not a URL: {e}")))?;
        let loopback_host = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback_host => {}
            _ => {
                return Err(field(
                    "token_endpoint",
                    "must be https (plain http only to a loopback authorization server)",
                ));
            }
        }
        let client_id = raw
            .client_id
            .filter(|c| !c.is_empty())
            .ok_or_else(|| field("client_id", "required"))?;
        let imds = match raw.imds.as_deref() {
            None | Some("prefixed") => ImdsMode::Prefixed,
            Some("open") => ImdsMode::Open,
            Some("off") => ImdsMode::Off,
            Some(other) => {
                return Err(field(
                    "imds",
                    format!("{other:?}: expected \"prefixed\", \"open\" or \"off\""),
                ));
            }
        };
        let certificate = match raw.certificate {
            None => None,
            Some(c) => {
                let dir = c.dir.ok_or_else(|| {
                    field(
                        "certificate.dir",
                        "required: where cert.pem, key.pem and bundle.pem go",
                    )
                })?;
                let ca_url = match c.ca_url {
                    Some(u) => {
                        url::Url::parse(&u)
                            .map_err(|e| field("certificate.ca_url", format!("not a URL: {e}")))?;
                        u
                    }
                    None => url.origin().ascii_serialization(),
                };
                Some(crate::certs::CertSettings {
                    dir,
                    ca_url,
                    dns_names: c.dns_names,
                    reload_command: c.reload_command,
                    authenticate: c.authenticate,
                })
            }
        };
        let mut egress = Vec::new();
        for e in raw.egress {
            let listen: SocketAddr = e
                .listen
                .as_deref()
                .ok_or_else(|| field("egress.listen", "required"))?
                .parse()
                .map_err(|err| field("egress.listen", format!("not an address: {err}")))?;
            if !listen.ip().is_loopback() {
                return Err(field("egress.listen", "loopback only"));
            }
            let upstream = url::Url::parse(e.upstream.as_deref().unwrap_or(""))
                .map_err(|err| field("egress.upstream", format!("not a URL: {err}")))?;
            if !matches!(upstream.scheme(), "http" | "https") {
                return Err(field("egress.upstream", "http or https"));
            }
            let audience = e
                .audience
                .filter(|a| !a.is_empty())
                .ok_or_else(|| field("egress.audience", "required"))?;
            if e.client_certificate && certificate.is_none() {
                return Err(field(
                    "egress.client_certificate",
                    "needs [agent.certificate] (the certificate to present)",
                ));
            }
            let timeout = match e.timeout.as_deref() {
                None => std::time::Duration::from_secs(30),
                Some(t) => gatehouse_core::parse_duration(t)
                    .map_err(|err| field("egress.timeout", err.to_string()))?,
            };
            egress.push(crate::egress::EgressRoute {
                listen,
                upstream,
                audience,
                scopes: e.scopes,
                client_certificate: e.client_certificate,
                timeout,
            });
        }
        let private_key = match raw.private_key_file {
            None => None,
            Some(file) => {
                if raw.client_secret_file.is_some() {
                    return Err(field(
                        "private_key_file",
                        "use either client_secret_file or private_key_file",
                    ));
                }
                let kid = raw
                    .key_id
                    .as_deref()
                    .ok_or_else(|| field("key_id", "required with private_key_file"))
                    .and_then(|k| {
                        gatehouse_core::Kid::parse(k).map_err(|e| field("key_id", e.to_string()))
                    })?;
                let alg = raw
                    .key_alg
                    .as_deref()
                    .unwrap_or("ES256")
                    .parse::<gatehouse_core::Alg>()
                    .map_err(|e| field("key_alg", e.to_string()))?;
                Some((file, kid, alg))
            }
        };
        let proxy = match raw.proxy {
            None => None,
            Some(p) => {
                let addr: SocketAddr = p
                    .listen
                    .as_deref()
                    .ok_or_else(|| field("proxy.listen", "required"))?
                    .parse()
                    .map_err(|err| field("proxy.listen", format!("not an address: {err}")))?;
                if !addr.ip().is_loopback() {
                    return Err(field("proxy.listen", "loopback only"));
                }
                let mut dests = Vec::new();
                for d in p.destinations {
                    let host = d
                        .host
                        .filter(|h| !h.is_empty() && !h.contains('/'))
                        .ok_or_else(|| {
                            field("proxy.destinations.host", "required: host or host:port")
                        })?;
                    let audience = d
                        .audience
                        .filter(|a| !a.is_empty())
                        .ok_or_else(|| field("proxy.destinations.audience", "required"))?;
                    let upstream = url::Url::parse(&format!("http://{host}"))
                        .map_err(|err| field("proxy.destinations.host", err.to_string()))?;
                    dests.push((
                        host,
                        crate::egress::EgressRoute {
                            listen: addr,
                            upstream,
                            audience,
                            scopes: d.scopes,
                            client_certificate: false,
                            timeout: std::time::Duration::from_secs(30),
                        },
                    ));
                }
                Some((addr, dests))
            }
        };
        Ok(Self {
            proxy,
            listen,
            token_endpoint,
            client_id,
            private_key,
            client_secret_file: raw.client_secret_file,
            env_file: raw.env_file,
            imds,
            unix_socket: raw.unix_socket,
            certificate,
            egress,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<AgentConfig, ConfigError> {
        AgentConfig::try_from(RawFile::parse(text)?.agent)
    }

    #[test]
    fn the_example_file_is_valid() {
        let cfg = resolve(include_str!("../../../examples/agent.toml")).unwrap();
        assert_eq!(cfg.listen.to_string(), "127.0.0.1:7071");
        assert_eq!(cfg.imds, ImdsMode::Prefixed);
        assert!(cfg.env_file.is_some());
    }

    #[test]
    fn errors_name_the_field() {
        let base =
            "token_endpoint = \"http://127.0.0.1:7070/oauth2/token\"\nclient_id = \"app_1\"\n";
        let cases = [
            ("listen = \"0.0.0.0:7071\"\n", "agent.listen"),
            ("listen = \"nope\"\n", "agent.listen"),
            ("imds = \"sometimes\"\n", "agent.imds"),
        ];
        for (extra, field) in cases {
            let err = resolve(&format!("[agent]\n{base}{extra}"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(field), "{extra}: {err}");
        }
        let err = resolve(
            "[agent]\ntoken_endpoint = \"http://auth.example/oauth2/token\"\nclient_id = \"a\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("must be https"), "{err}");
        assert!(
            resolve("[agent]\ntoken_endpoint = \"https://auth.example/t\"\nclient_id = \"a\"\n")
                .is_ok()
        );
        let err = resolve("[agent]\nclient_id = \"a\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("agent.token_endpoint"), "{err}");
        let key = format!("[agent]\n{base}private_key_file = \"k.pem\"\n");
        let err = resolve(&key).unwrap_err().to_string();
        assert!(err.starts_with("agent.key_id"), "{err}");
        let ok = resolve(&format!("{key}key_id = \"k1\"\n")).unwrap();
        assert_eq!(ok.private_key.unwrap().2, gatehouse_core::Alg::ES256);
        let err = resolve(&format!("{key}key_id = \"k1\"\nkey_alg = \"HS256\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("agent.key_alg"), "{err}");
        let err = resolve(&format!(
            "{key}key_id = \"k1\"\nclient_secret_file = \"s\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("either"), "{err}");
        let err = resolve("[agent]\nsurprise = 1\n").unwrap_err().to_string();
        assert!(err.contains("unknown field"), "{err}");
    }
}
