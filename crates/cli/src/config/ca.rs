//! `[ca]` (the certificate authority) and `[tls]` (the control plane's HTTPS listener, where
//! clients may present certificates: RFC 8705 client auth, bound tokens, CA renewals).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use gatehouse_ca::{LifetimePolicy, MIN_LIFETIME, TrustDomain};
use gatehouse_core::parse_duration;
use gatehouse_net::{ClientCerts, TlsSettings};
use serde::Deserialize;

use super::{ConfigError, invalid};

/// Longest leaf lifetime an operator may configure.
const MAX_LEAF_TTL: Duration = Duration::from_secs(90 * 86_400);

/// `[ca]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCa {
    /// Run the CA (default true).
    pub enabled: Option<bool>,
    /// SPIFFE trust domain (default `gatehouse.local`).
    pub trust_domain: Option<String>,
    /// Leaf lifetime when a request names none (default `24h`).
    pub default_ttl: Option<String>,
    /// Longest leaf lifetime; longer requests are capped (default `7d`).
    pub max_ttl: Option<String>,
    /// At first start, generate a root plus an intermediate that signs (default false).
    pub intermediate: Option<bool>,
    /// Import: PEM chain of an existing CA, signing certificate first.
    pub cert_file: Option<PathBuf>,
    /// Import: its private key (PEM).
    pub key_file: Option<PathBuf>,
}

/// `[tls]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTls {
    /// Address of the HTTPS listener; no listener when unset.
    pub listen: Option<String>,
    /// Server certificate chain (PEM); with `key_file`. Otherwise one is issued by our CA.
    pub cert_file: Option<PathBuf>,
    /// Server private key (PEM).
    pub key_file: Option<PathBuf>,
    /// DNS names (or IPs) of the issued server certificate (default `localhost`).
    pub hosts: Option<Vec<String>>,
    /// `request` (default: ask for a client certificate, never require one) or `off`.
    pub client_certs: Option<String>,
    /// Base URL clients use for the listener (default `https://<first host>:<port>`),
    /// advertised as `mtls_endpoint_aliases`.
    pub public_url: Option<String>,
    /// More CAs (PEM) trusted for `tls_client_auth`, besides our own.
    pub client_ca_file: Option<PathBuf>,
}

/// The validated `[ca]`.
#[derive(Debug, Clone)]
pub struct CaConfig {
    /// Trust domain.
    pub trust_domain: TrustDomain,
    /// Leaf lifetimes.
    pub policy: LifetimePolicy,
    /// Generate an intermediate at first start.
    pub intermediate: bool,
    /// Import (chain file, key file).
    pub import: Option<(PathBuf, PathBuf)>,
}

/// Where the HTTPS listener's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerCertSource {
    /// PEM files (re-read on SIGHUP).
    Files(TlsSettings),
    /// Issued by our CA for these names, renewed before expiry.
    Issued {
        /// DNS names.
        hosts: Vec<String>,
    },
}

/// The validated `[tls]`.
#[derive(Debug, Clone)]
pub struct ControlTls {
    /// Listen address.
    pub listen: SocketAddr,
    /// Server certificate.
    pub cert: ServerCertSource,
    /// Client certificates at the handshake.
    pub client_certs: ClientCerts,
    /// Public base URL (`None`: `https://<first host>:<bound port>`, decided once bound).
    pub public_url: Option<String>,
    /// Extra CAs for `tls_client_auth`.
    pub client_ca_file: Option<PathBuf>,
}

/// Validates `[ca]`; `None` when disabled.
pub(super) fn resolve_ca(raw: RawCa) -> Result<Option<CaConfig>, ConfigError> {
    if raw.enabled == Some(false) {
        return Ok(None);
    }
    let td = raw.trust_domain.as_deref().unwrap_or("gatehouse.local");
    let trust_domain = TrustDomain::new(td).map_err(|e| invalid("ca.trust_domain", e))?;
    let ttl = |field: &str, v: Option<String>, d: &str| {
        let d = parse_duration(v.as_deref().unwrap_or(d)).map_err(|e| invalid(field, e))?;
        if !(MIN_LIFETIME..=MAX_LEAF_TTL).contains(&d) {
            return Err(invalid(field, "must be between 1m and 90d"));
        }
        Ok(d)
    };
    let default = ttl("ca.default_ttl", raw.default_ttl, "24h")?;
    let max = ttl("ca.max_ttl", raw.max_ttl, "7d")?;
    if default > max {
        return Err(invalid("ca.default_ttl", "must not exceed ca.max_ttl"));
    }
    let import = match (raw.cert_file, raw.key_file) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => {
            return Err(invalid(
                "ca.cert_file",
                "cert_file and key_file go together",
            ));
        }
    };
    if import.is_some() && raw.intermediate == Some(true) {
        return Err(invalid(
            "ca.intermediate",
            "applies only to a generated CA, not an imported one",
        ));
    }
    Ok(Some(CaConfig {
        trust_domain,
        policy: LifetimePolicy { default, max },
        intermediate: raw.intermediate.unwrap_or(false),
        import,
    }))
}

/// Validates `[tls]`; `None` when no listener is configured.
pub(super) fn resolve_tls(
    raw: RawTls,
    ca_enabled: bool,
) -> Result<Option<ControlTls>, ConfigError> {
    let Some(listen_text) = raw.listen else {
        if raw.cert_file.is_some() || raw.hosts.is_some() || raw.public_url.is_some() {
            return Err(invalid("tls.listen", "required when [tls] is configured"));
        }
        return Ok(None);
    };
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        invalid(
            "tls.listen",
            format!("{listen_text:?} is not an address like 127.0.0.1:7443"),
        )
    })?;
    let cert = match (raw.cert_file, raw.key_file, raw.hosts) {
        (Some(c), Some(k), None) => ServerCertSource::Files(TlsSettings::new(c, k)),
        (None, None, hosts) => {
            if !ca_enabled {
                return Err(invalid(
                    "tls.cert_file",
                    "required when the CA is disabled (no certificate can be issued)",
                ));
            }
            let hosts = hosts.unwrap_or_else(|| vec!["localhost".to_owned()]);
            if hosts.is_empty() {
                return Err(invalid("tls.hosts", "name at least one host"));
            }
            for h in &hosts {
                gatehouse_ca::validate_dns_name(h).map_err(|e| invalid("tls.hosts", e))?;
            }
            ServerCertSource::Issued { hosts }
        }
        (_, _, Some(_)) => {
            return Err(invalid(
                "tls.hosts",
                "names an issued certificate: leave out cert_file and key_file",
            ));
        }
        _ => {
            return Err(invalid(
                "tls.cert_file",
                "cert_file and key_file go together",
            ));
        }
    };
    let client_certs = match raw.client_certs.as_deref() {
        None | Some("request") => ClientCerts::Request,
        Some("off") => ClientCerts::Off,
        Some(other) => {
            return Err(invalid(
                "tls.client_certs",
                format!("{other:?}: expected request or off"),
            ));
        }
    };
    let public_url = match raw.public_url {
        Some(u) => {
            let url = url::Url::parse(&u).map_err(|e| invalid("tls.public_url", e))?;
            if url.scheme() != "https" || url.query().is_some() || url.fragment().is_some() {
                return Err(invalid(
                    "tls.public_url",
                    "must be an https URL without query or fragment",
                ));
            }
            Some(u.trim_end_matches('/').to_owned())
        }
        None => None,
    };
    Ok(Some(ControlTls {
        listen,
        cert,
        client_certs,
        public_url,
        client_ca_file: raw.client_ca_file,
    }))
}
