//! Gatehouse token agent: managed identity without the cloud.
//!
//! `gatehouse agent` runs next to a workload (same host or pod), holds the workload's
//! credential, and hands the application access tokens over loopback, so the application never
//! holds a long-lived secret. Three front doors share one cache ([`TokenCache`]): the native
//! `GET /v1/token`, Azure App Service's managed-identity protocol and Azure IMDS's (so the
//! Azure SDKs' `ManagedIdentityCredential` works unchanged). Tokens are refreshed in the
//! background before they are due, fetched once for concurrent callers, and served while the
//! authorization server is away for as long as they are valid.
#![forbid(unsafe_code)]

pub mod certs;
pub mod config;
pub mod egress;
pub mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use gatehouse_core::Clock;
use tokio::sync::watch;

pub use config::{AgentConfig, ConfigError, RawAgent, RawFile};
pub use gatehouse_client::{
    CacheError, Fetch, FetchError, Fetched, TokenCache, TokenEndpoint, TokenKey,
};
pub use routes::{AgentState, IDENTITY_HEADER, ImdsMode, router};

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The token endpoint client could not be built.
    #[error(transparent)]
    Source(#[from] FetchError),
    /// The workload certificate could not be set up.
    #[error("workload certificate: {0}")]
    Certificate(String),
}

/// A running agent.
#[derive(Debug)]
pub struct RunningAgent {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The secret the application presents (`IDENTITY_HEADER`, and the IMDS path prefix).
    pub secret: String,
    /// The token cache.
    pub cache: Arc<TokenCache>,
    /// The workload certificate manager, when configured.
    pub certs: Option<Arc<certs::CertManager>>,
    /// The egress listeners, in configuration order.
    pub egress: Vec<SocketAddr>,
    /// The Unix socket, when configured.
    pub unix_socket: Option<std::path::PathBuf>,
    /// The forward proxy's address, when configured.
    pub proxy: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningAgent {
    /// The environment the application needs, as `NAME=value` lines: `IDENTITY_ENDPOINT` and
    /// `IDENTITY_HEADER` (App Service protocol), `AZURE_POD_IDENTITY_AUTHORITY_HOST` (IMDS),
    /// `GATEHOUSE_AGENT_URL` (native).
    pub fn env_file_contents(&self) -> String {
        let base = format!("http://{}", self.addr);
        let mut env = format!(
            "IDENTITY_ENDPOINT={base}/msi/token\nIDENTITY_HEADER={secret}\nAZURE_POD_IDENTITY_AUTHORITY_HOST={base}/{secret}\nGATEHOUSE_AGENT_URL={base}\n",
            secret = self.secret
        );
        if let Some(p) = &self.unix_socket {
            env.push_str(&format!("GATEHOUSE_AGENT_SOCKET={}\n", p.display()));
        }
        if let Some(p) = &self.proxy {
            env.push_str(&format!("HTTP_PROXY=http://{p}\nhttp_proxy=http://{p}\n"));
        }
        env
    }

    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        self.task
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }
}

/// Binds the Unix socket, replacing a stale one, readable and writable by its owner only.
#[cfg(unix)]
fn bind_unix(path: &std::path::Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if meta.file_type().is_socket() {
            std::fs::remove_file(path)?;
        } else {
            return Err(std::io::Error::other(format!(
                "{} exists and is not a socket",
                path.display()
            )));
        }
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Starts the agent for `cfg`, authenticating to the authorization server with `client_secret`.
pub async fn start(
    cfg: &AgentConfig,
    client_secret: String,
    clock: Arc<dyn Clock>,
) -> Result<RunningAgent, StartError> {
    start_with_auth(
        cfg,
        gatehouse_client::ClientAuth::Secret(client_secret),
        clock,
    )
    .await
}

/// [`start`] with any client authentication (a secret, or `private_key_jwt`).
pub async fn start_with_auth(
    cfg: &AgentConfig,
    auth: gatehouse_client::ClientAuth,
    clock: Arc<dyn Clock>,
) -> Result<RunningAgent, StartError> {
    let source = TokenEndpoint::with_auth(cfg.token_endpoint.clone(), cfg.client_id.clone(), auth)?;
    start_with_source(cfg, Arc::new(source), clock).await
}

/// Reads a PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`) for `private_key_jwt`.
pub fn load_private_key(
    pem: &str,
    kid: gatehouse_core::Kid,
    alg: gatehouse_core::Alg,
) -> Result<gatehouse_keys::SigningKey, String> {
    use base64::Engine as _;
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "-----BEGIN PRIVATE KEY-----")
        .skip(1)
        .take_while(|l| *l != "-----END PRIVATE KEY-----")
        .collect();
    if body.is_empty() {
        return Err("expected a PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----)".into());
    }
    let der = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| format!("not base64: {e}"))?,
    );
    gatehouse_keys::SigningKey::from_pkcs8(alg, kid, &der).map_err(|e| e.to_string())
}

/// [`start`] with any token source.
pub async fn start_with_source(
    cfg: &AgentConfig,
    source: Arc<dyn Fetch>,
    clock: Arc<dyn Clock>,
) -> Result<RunningAgent, StartError> {
    start_inner(cfg, source, None, clock).await
}

/// Starts an agent whose own credential is its certificate (`[agent.certificate]` with
/// `authenticate = true`): the certificate and key already in the directory (from `gatehouse
/// cert issue`) authenticate token requests by mTLS (RFC 8705 `tls_client_auth`) and renew
/// themselves over mTLS at the CA, so no secret is needed at all.
pub async fn start_with_certificate(
    cfg: &AgentConfig,
    clock: Arc<dyn Clock>,
) -> Result<RunningAgent, StartError> {
    let fail = StartError::Certificate;
    let settings = cfg
        .certificate
        .clone()
        .ok_or_else(|| fail("[agent.certificate] is required".into()))?;
    let manager = certs::CertManager::new(settings, None, Arc::clone(&clock))
        .map_err(|e| fail(e.to_string()))?;
    manager.load_existing().map_err(|e| fail(e.to_string()))?;
    let source = TokenEndpoint::with_auth(
        cfg.token_endpoint.clone(),
        cfg.client_id.clone(),
        gatehouse_client::ClientAuth::Certificate(Arc::clone(&manager) as _),
    )?;
    start_inner(cfg, Arc::new(source), Some(manager), clock).await
}

async fn start_inner(
    cfg: &AgentConfig,
    source: Arc<dyn Fetch>,
    manager: Option<Arc<certs::CertManager>>,
    clock: Arc<dyn Clock>,
) -> Result<RunningAgent, StartError> {
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: cfg.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: cfg.listen,
        source,
    })?;
    let cache = TokenCache::new(source, Arc::clone(&clock));
    let (stop, mut stopped) = watch::channel(false);
    let certs = match (&cfg.certificate, manager) {
        (Some(_), Some(m)) => {
            let mut s = stop.subscribe();
            m.spawn(async move {
                let _ = s.wait_for(|v| *v).await;
            });
            Some(m)
        }
        (Some(settings), None) => {
            let m = certs::CertManager::new(settings.clone(), Some(Arc::clone(&cache)), clock)
                .map_err(|e| StartError::Certificate(e.to_string()))?;
            // A first certificate before the application starts, if the CA answers; the
            // background task keeps trying otherwise.
            if let Err(e) = m.renew().await {
                tracing::warn!(error = %e, "no workload certificate yet; retrying in the background");
            }
            let mut s = stop.subscribe();
            m.spawn(async move {
                let _ = s.wait_for(|v| *v).await;
            });
            Some(m)
        }
        (None, _) => None,
    };
    let secret = gatehouse_keys::secret::random_base62(43);
    let state = Arc::new(AgentState {
        cache: Arc::clone(&cache),
        secret: secret.clone(),
        client_id: cfg.client_id.clone(),
        imds: cfg.imds,
        certs: certs.clone(),
    });
    let mut refresher_stop = stop.subscribe();
    cache.spawn_refresher(async move {
        let _ = refresher_stop.wait_for(|s| *s).await;
    });
    let mut egress = Vec::new();
    for route in &cfg.egress {
        let mut s = stop.subscribe();
        let addr = egress::start(
            route.clone(),
            Arc::clone(&cache),
            certs.clone(),
            async move {
                let _ = s.wait_for(|v| *v).await;
            },
        )
        .await
        .map_err(|e| StartError::Bind {
            addr: route.listen,
            source: std::io::Error::other(e.to_string()),
        })?;
        egress.push(addr);
    }
    let mut proxy = None;
    if let Some((addr, dests)) = &cfg.proxy {
        let mut s = stop.subscribe();
        let bound = egress::start_proxy(*addr, dests.clone(), Arc::clone(&cache), async move {
            let _ = s.wait_for(|v| *v).await;
        })
        .await
        .map_err(|e| StartError::Bind {
            addr: *addr,
            source: std::io::Error::other(e.to_string()),
        })?;
        proxy = Some(bound);
    }
    let app = router(state);
    if let Some(path) = &cfg.unix_socket {
        let unix = bind_unix(path).map_err(|source| StartError::Bind {
            addr: cfg.listen,
            source,
        })?;
        let mut s = stop.subscribe();
        let local = app.clone().layer(axum::Extension(routes::LocalSocket));
        tokio::spawn(async move {
            let served = axum::serve(unix, local)
                .with_graceful_shutdown(async move {
                    let _ = s.wait_for(|v| *v).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "agent unix socket failed");
            }
        });
    }
    let task = tokio::spawn(gatehouse_net::serve(listener, app, async move {
        let _ = stopped.wait_for(|s| *s).await;
    }));
    Ok(RunningAgent {
        addr,
        secret,
        cache,
        certs,
        egress,
        unix_socket: cfg.unix_socket.clone(),
        proxy,
        stop,
        task,
    })
}
