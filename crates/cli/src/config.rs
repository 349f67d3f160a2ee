//! Configuration: the TOML file (`RawConfig`, every field optional) → flags, environment and
//! defaults resolved into a typed [`Config`]. Precedence: flag > environment > file > default.
//! Errors name the exact field (`tokens.max_ttl: invalid duration ...`).

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse_core::{Env, parse_duration};
use serde::Deserialize;

mod ca;

pub use ca::{CaConfig, ControlTls, RawCa, RawTls, ServerCertSource};

/// A configuration error, naming the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for our schema.
    #[error("config file {path}: {message}")]
    Parse {
        /// The path.
        path: PathBuf,
        /// The parser's message (names the key and line).
        message: String,
    },
    /// A value is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// Dotted field path (or flag / variable name).
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: &str, message: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_owned(),
        message: message.to_string(),
    }
}

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Listen address.
    pub listen: Option<String>,
    /// Issuer URL.
    pub issuer: Option<String>,
    /// Allow plain HTTP off loopback.
    pub insecure_http: Option<bool>,
    /// Database URL (`sqlite:PATH` or `postgres://…`).
    pub database_url: Option<String>,
    /// Master key file.
    pub master_key_file: Option<PathBuf>,
    /// Token settings.
    pub tokens: RawTokens,
    /// Key settings.
    pub keys: RawKeys,
    /// Client authentication settings.
    pub client_auth: RawClientAuth,
    /// Admin API settings.
    pub admin: RawAdmin,
    /// Logging.
    pub log: RawLog,
    /// The gateway (data plane) listener and the APIs it protects.
    pub gateway: gatehouse_gateway::RawGateway,
    /// The certificate authority.
    pub ca: RawCa,
    /// The control plane's HTTPS listener (mTLS client auth, certificate renewal).
    pub tls: RawTls,
}

/// `[tokens]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTokens {
    /// Default token lifetime.
    pub default_ttl: Option<String>,
    /// Maximum token lifetime.
    pub max_ttl: Option<String>,
}

/// `[keys]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawKeys {
    /// Automatic rotation period.
    pub rotation_period: Option<String>,
    /// JWKS `Cache-Control: max-age`.
    pub jwks_max_age: Option<String>,
}

/// `[client_auth]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawClientAuth {
    /// Longest `private_key_jwt` assertion lifetime.
    pub assertion_max_lifetime: Option<String>,
    /// Clock skew tolerance.
    pub leeway: Option<String>,
    /// Failures before lockout.
    pub lockout_max_failures: Option<u32>,
    /// Failure counting window.
    pub lockout_window: Option<String>,
    /// Lockout length.
    pub lockout_duration: Option<String>,
}

/// `[admin]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAdmin {
    /// Requests per second per address.
    pub rate_limit_per_second: Option<u32>,
    /// Burst.
    pub rate_limit_burst: Option<u32>,
}

/// `[log]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    /// `text` or `json`.
    pub format: Option<String>,
    /// Filter, e.g. `info` or `gatehouse_oauth=debug`.
    pub level: Option<String>,
}

/// Values given on the command line (all optional).
#[derive(Debug, Default, Clone)]
pub struct Flags {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--issuer`.
    pub issuer: Option<String>,
    /// `--insecure-http`.
    pub insecure_http: bool,
    /// `--database-url`.
    pub database_url: Option<String>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Listen address.
    pub listen: SocketAddr,
    /// Issuer URL; `None` means `http://` + the bound address.
    pub issuer: Option<String>,
    /// Allow plain HTTP off loopback.
    pub insecure_http: bool,
    /// Database URL.
    pub database_url: String,
    /// Master key file (unused when `master_key_env` is set).
    pub master_key_file: PathBuf,
    /// Master key from `GATEHOUSE_MASTER_KEY` (base64), if set.
    pub master_key_env: Option<String>,
    /// Admin token from `GATEHOUSE_BOOTSTRAP_ADMIN_TOKEN`, if set.
    pub bootstrap_admin_token: Option<String>,
    /// Default token lifetime.
    pub default_token_ttl: Duration,
    /// Maximum token lifetime.
    pub max_token_ttl: Duration,
    /// Key rotation period.
    pub rotation_period: Duration,
    /// JWKS max-age.
    pub jwks_max_age: Duration,
    /// Longest client assertion lifetime.
    pub assertion_max_lifetime: Duration,
    /// Clock skew tolerance.
    pub leeway: Duration,
    /// Failures before lockout.
    pub lockout_max_failures: u32,
    /// Failure window.
    pub lockout_window: Duration,
    /// Lockout length.
    pub lockout_duration: Duration,
    /// Admin API rate per second per address.
    pub admin_rate_per_second: NonZeroU32,
    /// Admin API burst.
    pub admin_rate_burst: NonZeroU32,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log_level: String,
    /// The gateway, when `gateway.listen` is set.
    pub gateway: Option<gatehouse_gateway::GatewaySpec>,
    /// The config file this came from (re-read on SIGHUP or change for gateway hot reload).
    pub config_path: Option<PathBuf>,
    /// The certificate authority, unless disabled.
    pub ca: Option<CaConfig>,
    /// The HTTPS listener, when configured.
    pub tls: Option<ControlTls>,
}

/// Reads and parses a config file.
pub fn read_file(path: &Path) -> Result<RawConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_str(&text).map_err(|message| ConfigError::Parse {
        path: path.to_owned(),
        message,
    })
}

/// Parses config TOML.
pub fn parse_str(text: &str) -> Result<RawConfig, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
}

/// Resolves flags, environment, file and defaults.
pub fn resolve(flags: &Flags, env: &dyn Env) -> Result<Config, ConfigError> {
    let config_path = flags
        .config
        .clone()
        .or_else(|| env.get("GATEHOUSE_CONFIG").map(PathBuf::from));
    let file = match &config_path {
        Some(p) => read_file(p)?,
        None => RawConfig::default(),
    };
    let mut cfg = resolve_with(flags, env, file)?;
    cfg.config_path = config_path;
    Ok(cfg)
}

/// Resolves with an already-parsed file.
pub fn resolve_with(flags: &Flags, env: &dyn Env, file: RawConfig) -> Result<Config, ConfigError> {
    let data_dir = flags
        .data_dir
        .clone()
        .or_else(|| env.get("GATEHOUSE_DATA_DIR").map(PathBuf::from))
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("./gatehouse-data"));
    let listen_text = flags
        .listen
        .clone()
        .or_else(|| env.get("GATEHOUSE_LISTEN"))
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:7070".to_owned());
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        invalid(
            "listen",
            format!("{listen_text:?} is not an address like 127.0.0.1:7070"),
        )
    })?;
    let issuer = flags
        .issuer
        .clone()
        .or_else(|| env.get("GATEHOUSE_ISSUER"))
        .or(file.issuer);
    if let Some(i) = &issuer {
        let url = url::Url::parse(i).map_err(|e| invalid("issuer", e))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(invalid(
                "issuer",
                "must be an http(s) URL without query or fragment (RFC 8414)",
            ));
        }
    }
    let insecure_http = flags.insecure_http
        || env_bool(env, "GATEHOUSE_INSECURE_HTTP")?.unwrap_or(false)
        || file.insecure_http.unwrap_or(false);
    let database_url = flags
        .database_url
        .clone()
        .or_else(|| env.get("GATEHOUSE_DATABASE_URL"))
        .or(file.database_url)
        .unwrap_or_else(|| format!("sqlite:{}", data_dir.join("gatehouse.db").display()));
    let master_key_file = env
        .get("GATEHOUSE_MASTER_KEY_FILE")
        .map(PathBuf::from)
        .or(file.master_key_file)
        .unwrap_or_else(|| data_dir.join("master.key"));
    let dur = |field: &str, env_name: Option<&str>, file_value: Option<String>, default: &str| {
        let text = env_name
            .and_then(|n| env.get(n))
            .or(file_value)
            .unwrap_or_else(|| default.to_owned());
        parse_duration(&text).map_err(|e| invalid(field, e))
    };
    let default_token_ttl = dur("tokens.default_ttl", None, file.tokens.default_ttl, "15m")?;
    let max_token_ttl = dur("tokens.max_ttl", None, file.tokens.max_ttl, "24h")?;
    if default_token_ttl > max_token_ttl {
        return Err(invalid(
            "tokens.default_ttl",
            "must not exceed tokens.max_ttl",
        ));
    }
    let rotation_period = dur(
        "keys.rotation_period",
        None,
        file.keys.rotation_period,
        "7d",
    )?;
    if rotation_period < Duration::from_secs(3600) {
        return Err(invalid("keys.rotation_period", "must be at least 1h"));
    }
    let jwks_max_age = dur("keys.jwks_max_age", None, file.keys.jwks_max_age, "5m")?;
    let assertion_max_lifetime = dur(
        "client_auth.assertion_max_lifetime",
        None,
        file.client_auth.assertion_max_lifetime,
        "61m",
    )?;
    let leeway = dur("client_auth.leeway", None, file.client_auth.leeway, "60s")?;
    let lockout_window = dur(
        "client_auth.lockout_window",
        None,
        file.client_auth.lockout_window,
        "5m",
    )?;
    let lockout_duration = dur(
        "client_auth.lockout_duration",
        None,
        file.client_auth.lockout_duration,
        "5m",
    )?;
    let lockout_max_failures = file.client_auth.lockout_max_failures.unwrap_or(10);
    if lockout_max_failures == 0 {
        return Err(invalid(
            "client_auth.lockout_max_failures",
            "must be at least 1",
        ));
    }
    let nz = |field: &str, v: Option<u32>, d: u32| {
        NonZeroU32::new(v.unwrap_or(d)).ok_or_else(|| invalid(field, "must be at least 1"))
    };
    let admin_rate_per_second = nz(
        "admin.rate_limit_per_second",
        file.admin.rate_limit_per_second,
        50,
    )?;
    let admin_rate_burst = nz("admin.rate_limit_burst", file.admin.rate_limit_burst, 100)?;
    let log_format = match env
        .get("GATEHOUSE_LOG_FORMAT")
        .or(file.log.format)
        .as_deref()
    {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            return Err(invalid(
                "log.format",
                format!("{other:?}: expected text or json"),
            ));
        }
    };
    let log_level = env
        .get("GATEHOUSE_LOG")
        .or(file.log.level)
        .unwrap_or_else(|| "info".to_owned());
    let bootstrap_admin_token = env.get("GATEHOUSE_BOOTSTRAP_ADMIN_TOKEN");
    if let Some(t) = &bootstrap_admin_token
        && (t.len() < 32
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    {
        return Err(invalid(
            "GATEHOUSE_BOOTSTRAP_ADMIN_TOKEN",
            "must be at least 32 characters from [A-Za-z0-9_-]",
        ));
    }
    let gateway = file
        .gateway
        .validate()
        .map_err(|e| invalid(&e.field, e.message))?;
    let ca = ca::resolve_ca(file.ca)?;
    let tls = ca::resolve_tls(file.tls, ca.is_some())?;
    Ok(Config {
        config_path: None,
        ca,
        tls,
        gateway,
        data_dir,
        listen,
        issuer: issuer.map(|i| i.trim_end_matches('/').to_owned()),
        insecure_http,
        database_url,
        master_key_file,
        master_key_env: env.get("GATEHOUSE_MASTER_KEY"),
        bootstrap_admin_token,
        default_token_ttl,
        max_token_ttl,
        rotation_period,
        jwks_max_age,
        assertion_max_lifetime,
        leeway,
        lockout_max_failures,
        lockout_window,
        lockout_duration,
        admin_rate_per_second,
        admin_rate_burst,
        log_format,
        log_level,
    })
}

fn env_bool(env: &dyn Env, name: &str) -> Result<Option<bool>, ConfigError> {
    match env.get(name).as_deref() {
        None => Ok(None),
        Some("1" | "true" | "yes") => Ok(Some(true)),
        Some("0" | "false" | "no") => Ok(Some(false)),
        Some(other) => Err(invalid(name, format!("{other:?}: expected true or false"))),
    }
}

#[cfg(test)]
mod tests;
