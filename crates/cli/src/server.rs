//! `gatehouse serve`: wiring the store, keys, catalog, authorization server and admin API into
//! one listener. `start` is also what integration tests call, in-process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use gatehouse_core::{Clock, SystemClock};
use gatehouse_keys::MasterKey;
use gatehouse_keys::rotation::RotationPolicy;
use gatehouse_keys::secret::{self, SecretKind};
use gatehouse_manage::{AdminRateLimit, ManageService, algs_in_use};
use gatehouse_net::{
    Metrics, Readiness, check_plain_http_allowed, health_router, metrics_router, request_id_layer,
};
use gatehouse_oauth::{AdminTokens, KeyService, LockoutConfig, OAuthConfig, OAuthState};
use gatehouse_store::{CatalogCache, Store};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::fsutil;

/// A started server.
#[derive(Debug)]
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// The issuer URL.
    pub issuer: String,
    /// The gateway's bound address, when a gateway is configured.
    pub gateway_addr: Option<SocketAddr>,
    /// The HTTPS (mTLS-capable) listener's address, when `[tls]` is configured.
    pub tls_addr: Option<SocketAddr>,
    /// Its base URL (`tls.public_url`, or `https://<first host>:<port>`).
    pub tls_url: Option<String>,
    tls_task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    usage: Option<Arc<crate::usage_flush::UsageFlusher>>,
    /// The gateway's CA-issued upstream certificate, when configured (tests renew it).
    pub gateway_identity: Option<Arc<crate::gateway_identity::GatewayIdentity>>,
    gateway_task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Where the admin token was written (when generated).
    pub admin_token_file: PathBuf,
    /// Shared state (tests use it to inspect).
    pub state: Arc<OAuthState>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _lock: Option<std::fs::File>,
}

impl RunningServer {
    /// Stops accepting, drains in-flight requests, flushes usage, and waits.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.wait().await
    }

    /// Waits until the server stops (after a signal), then flushes usage.
    pub async fn wait(self) -> anyhow::Result<()> {
        let usage = self.usage.clone();
        self.task.await.context("server task")?.context("serve")?;
        if let Some(tls) = self.tls_task
            && let Err(e) = tls.await.context("tls listener task")?
        {
            tracing::error!(error = %e, "tls listener failed");
        }
        // The gateway drains its in-flight requests too before the last usage is written.
        if let Some(gateway) = self.gateway_task
            && let Err(e) = gateway.await.context("gateway task")?
        {
            tracing::error!(error = %e, "gateway listener failed");
        }
        if let Some(u) = usage {
            u.flush_now().await;
        }
        Ok(())
    }

    /// Writes the gateway's usage counts so far to the store (tests and shutdown).
    pub async fn flush_usage(&self) {
        if let Some(u) = &self.usage {
            u.flush_now().await;
        }
    }

    /// A sender that triggers graceful shutdown.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Starts the control plane with an explicit clock (tests pass a fake one).
pub async fn start(cfg: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<RunningServer> {
    check_plain_http_allowed(cfg.listen, cfg.insecure_http)?;
    fsutil::create_private_dir(&cfg.data_dir)
        .with_context(|| format!("creating data dir {}", cfg.data_dir.display()))?;
    let lock = if cfg.database_url.starts_with("sqlite:") {
        Some(fsutil::lock_data_dir(&cfg.data_dir)?)
    } else {
        None
    };
    let master = load_master_key(cfg)?;
    let store = gatehouse_store::open(&cfg.database_url)
        .await
        .context("opening the database")?;
    let catalog = Arc::new(
        CatalogCache::load(store.as_ref(), clock.now())
            .await
            .context("loading the catalog")?,
    );
    let policy = RotationPolicy {
        period: cfg.rotation_period,
        publish_ahead: cfg.jwks_max_age,
        retire_grace: cfg.max_token_ttl + cfg.leeway,
    };
    let ca =
        crate::control_tls::load_ca(cfg.ca.as_ref(), store.as_ref(), &master, clock.now()).await?;
    let tls_listener = match &cfg.tls {
        Some(t) => Some(crate::control_tls::bind(t, ca.as_ref(), clock.now()).await?),
        None => None,
    };
    let mtls = crate::control_tls::mtls_settings(cfg, ca.as_deref(), tls_listener.as_ref())?;
    let algs = algs_in_use(&catalog.get());
    let keys = KeyService::start(
        Arc::clone(&store),
        master,
        Arc::clone(&clock),
        policy,
        &algs,
    )
    .await
    .context("loading signing keys (is the master key the one these keys were encrypted with?)")?;
    let admin_token_file = cfg.data_dir.join("admin-token");
    let admin_digests =
        bootstrap_admin_token(cfg, store.as_ref(), clock.as_ref(), &admin_token_file).await?;

    let listener = TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    let (gateway_listener, gateway_tls) = match &cfg.gateway {
        Some(g) => {
            let tls = crate::gateway_listener::prepare(g, cfg.insecure_http)?;
            (Some(crate::gateway_listener::bind(g)?), tls)
        }
        None => (None, None),
    };
    let addr = listener.local_addr()?;
    let issuer = cfg
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let mut oauth_cfg = OAuthConfig::new(issuer.clone());
    oauth_cfg.default_token_ttl = cfg.default_token_ttl;
    oauth_cfg.max_token_ttl = cfg.max_token_ttl;
    oauth_cfg.assertion_max_lifetime = cfg.assertion_max_lifetime;
    oauth_cfg.leeway = cfg.leeway;
    oauth_cfg.jwks_max_age = cfg.jwks_max_age;
    oauth_cfg.lockout = LockoutConfig {
        max_failures: cfg.lockout_max_failures,
        window: cfg.lockout_window,
        duration: cfg.lockout_duration,
    };
    let metrics = Metrics::new();
    let state = Arc::new(OAuthState {
        lockout: gatehouse_oauth::lockout::Lockout::new(oauth_cfg.lockout),
        config: oauth_cfg,
        store,
        catalog,
        keys: Arc::new(keys),
        admin_tokens: Arc::new(AdminTokens::new(admin_digests)),
        clock,
        replay: gatehouse_oauth::replay::ReplayCache::new(),
        jwks_fetcher: gatehouse_oauth::assertion::JwksFetcher::new(),
        metrics: gatehouse_oauth::metrics::OAuthMetrics::default(),
        ca,
        mtls,
    });
    metrics.register(|r| state.metrics.register(r));
    ensure_builtin_apis(&state).await;
    let readiness = Readiness::new();
    let limit = AdminRateLimit {
        per_second: cfg.admin_rate_per_second,
        burst: cfg.admin_rate_burst,
    };
    let app = app_router(
        Arc::clone(&state),
        limit,
        readiness.clone(),
        metrics.clone(),
    );

    let (shutdown, mut rx) = watch::channel(false);
    spawn_maintenance(Arc::clone(&state), shutdown.subscribe());
    let mut gateway_addr = None;
    let mut usage = None;
    let mut gateway_task = None;
    let mut gateway_identity = None;
    if let (Some(spec), Some(gl)) = (&cfg.gateway, gateway_listener) {
        gateway_addr = Some(gl.addr);
        let catalog = state.catalog.get();
        for api in &spec.apis {
            if catalog.find_api(&api.api).is_none() {
                tracing::warn!(api = %api.api, "gateway API is not registered yet: its routes answer 500 until `gatehouse api create` registers it");
            }
        }
        let recorder = Arc::new(gatehouse_gateway::UsageRecorder::new());
        let gateway_metrics = Arc::new(gatehouse_gateway::GatewayMetrics::default());
        metrics.register(|r| gateway_metrics.register(r));
        let control: Arc<dyn gatehouse_gateway::ControlPlane> =
            gatehouse_gateway::LocalControlPlane::new(Arc::clone(&state));
        let flusher = Arc::new(crate::usage_flush::UsageFlusher::new(
            Arc::clone(&recorder),
            Arc::clone(&control),
            Arc::new(crate::usage_flush::StoreSink(Arc::clone(&state.store))),
        ));
        flusher.spawn(shutdown.subscribe());
        usage = Some(flusher);
        let identity = match &spec.ca_identity {
            Some(handle) => {
                let ca = state.ca.as_ref().context(
                    "upstream_tls.client_certificate = \"gatehouse\" needs the CA ([ca] enabled)",
                )?;
                Some(
                    crate::gateway_identity::GatewayIdentity::start(
                        crate::gateway_identity::Issuer::Local(Arc::clone(ca)),
                        Arc::clone(&state.clock),
                        handle,
                        shutdown.subscribe(),
                    )
                    .await?,
                )
            }
            None => None,
        };
        let gateway: gatehouse_gateway::SharedGateway = Arc::new(arc_swap::ArcSwap::from_pointee(
            gatehouse_gateway::Gateway::new(spec.clone(), Arc::clone(&control), &recorder)
                .with_metrics(Arc::clone(&gateway_metrics)),
        ));
        if let Some(path) = &cfg.config_path {
            crate::reload::spawn(
                crate::reload::Reloadable {
                    path: path.clone(),
                    running: crate::reload::RunningListener::of(spec)
                        .with_identity(identity.clone()),
                    gateway: Arc::clone(&gateway),
                    control: Arc::clone(&control),
                    recorder: Arc::clone(&recorder),
                    metrics: Arc::clone(&gateway_metrics),
                    tls: gateway_tls.clone(),
                },
                shutdown.subscribe(),
            );
        }
        gateway_identity = identity;
        let app =
            gatehouse_gateway::router(gateway).layer(axum::middleware::from_fn(request_id_layer()));
        gateway_task = Some(crate::gateway_listener::spawn(
            gl,
            gateway_tls.as_ref(),
            app,
            shutdown.subscribe(),
        )?);
    }
    let tls_addr = tls_listener.as_ref().map(|l| l.addr);
    let tls_url = tls_listener.as_ref().map(|l| l.public_url.clone());
    let tls_task = tls_listener.map(|l| {
        crate::control_tls::spawn(
            l,
            app.clone(),
            Arc::clone(&state.clock),
            shutdown.subscribe(),
        )
    });
    let drain = readiness.clone();
    let task = tokio::spawn(gatehouse_net::serve(listener, app, async move {
        let _ = rx.wait_for(|stop| *stop).await;
        drain.set_not_ready();
    }));
    readiness.set_ready();
    Ok(RunningServer {
        gateway_identity,
        usage,
        gateway_task,
        gateway_addr,
        tls_addr,
        tls_url,
        tls_task,
        addr,
        issuer,
        admin_token_file,
        state,
        shutdown,
        task,
        _lock: lock,
    })
}

/// Every route of the control plane.
pub fn app_router(
    state: Arc<OAuthState>,
    limit: AdminRateLimit,
    readiness: Readiness,
    metrics: Metrics,
) -> Router {
    Router::new()
        .merge(gatehouse_oauth::router(Arc::clone(&state)))
        .merge(gatehouse_gateway::sync::sync_router(Arc::clone(&state), {
            let readiness = readiness.clone();
            move || !readiness.is_ready()
        }))
        .merge(gatehouse_portal::router(ManageService::new(Arc::clone(
            &state,
        ))))
        .merge(gatehouse_manage::router(ManageService::new(state), limit))
        .merge(health_router(readiness))
        .merge(metrics_router(metrics))
        .layer(axum::middleware::from_fn(request_id_layer()))
}

fn load_master_key(cfg: &Config) -> anyhow::Result<MasterKey> {
    if let Some(b64) = &cfg.master_key_env {
        return MasterKey::from_base64(b64).context("GATEHOUSE_MASTER_KEY");
    }
    let (key, created) = MasterKey::load_or_create(&cfg.master_key_file)
        .with_context(|| format!("master key file {}", cfg.master_key_file.display()))?;
    if created {
        tracing::warn!(path = %cfg.master_key_file.display(), "generated a new master key: back it up; losing it loses every signing key");
    }
    Ok(key)
}

/// Ensures an admin token exists; writes a generated one to `file` (0600, atomically).
async fn bootstrap_admin_token(
    cfg: &Config,
    store: &dyn Store,
    clock: &dyn Clock,
    file: &Path,
) -> anyhow::Result<Vec<[u8; 32]>> {
    let existing = store.admin_token_digests().await?;
    if !existing.is_empty() {
        if cfg.bootstrap_admin_token.is_some() {
            tracing::info!(
                "GATEHOUSE_BOOTSTRAP_ADMIN_TOKEN ignored: an admin token already exists (rotate it with `gatehouse admin-token rotate`)"
            );
        }
        return Ok(existing);
    }
    let digest = match &cfg.bootstrap_admin_token {
        Some(t) => secret::digest(t),
        None => {
            let token = secret::generate(SecretKind::AdminToken);
            fsutil::write_private_file(file, format!("{}\n", token.expose()).as_bytes())
                .with_context(|| format!("writing {}", file.display()))?;
            secret::digest(token.expose())
        }
    };
    store.replace_admin_token(&digest, clock.now()).await?;
    Ok(vec![digest])
}

/// Registers the control plane's own APIs when missing, so they can be granted like any
/// other: `gatehouse` (audience `urn:gatehouse:control-plane`, scope `gateway:sync`, for
/// standalone gateways), `gatehouse-policies` (audience `urn:gatehouse:policies`, scope
/// `policies:write`, for API owners managing their policies) and `gatehouse-ca` (audience
/// `urn:gatehouse:ca`, scope `ca:sign`, for workloads that request certificates with a token).
async fn ensure_builtin_apis(state: &Arc<OAuthState>) {
    use gatehouse_gateway::sync::{CONTROL_PLANE_AUDIENCE, SYNC_SCOPE};
    use gatehouse_manage::{POLICY_AUDIENCE, POLICY_SCOPE};
    use gatehouse_oauth::certs::{CA_AUDIENCE, CA_SCOPE};
    let mut builtin = vec![
        ("gatehouse", CONTROL_PLANE_AUDIENCE, SYNC_SCOPE),
        ("gatehouse-policies", POLICY_AUDIENCE, POLICY_SCOPE),
    ];
    if state.ca.is_some() {
        builtin.push(("gatehouse-ca", CA_AUDIENCE, CA_SCOPE));
    }
    for (name, audience, scope) in builtin {
        if state.catalog.get().api_by_audience(audience).is_some() {
            continue;
        }
        let req = gatehouse_proto::admin::CreateApi {
            name: name.into(),
            audience: audience.into(),
            scopes: vec![scope.into()],
            token_ttl: Some("15m".into()),
            ..Default::default()
        };
        match ManageService::new(Arc::clone(state))
            .create_api("system", req)
            .await
        {
            Ok(_) => tracing::info!(
                api = name,
                audience,
                scope,
                "registered a built-in API of the control plane"
            ),
            // Another replica may have registered it at the same moment, or an API of that
            // name exists already: then that one needs fixing by hand.
            Err(e) => tracing::warn!(api = name, error = %e, "could not register a built-in API"),
        }
    }
}

/// Background upkeep: scheduled key rotation and purging of expired revocations, every minute.
fn spawn_maintenance(state: Arc<OAuthState>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let algs = algs_in_use(&state.catalog.get());
            if let Err(e) = state.keys.reconcile(&algs).await {
                tracing::error!(error = %e, "key rotation check failed");
            }
            // Batch ids only guard against resends within minutes; keep a week of them.
            let week_ago = gatehouse_core::UnixTime(state.now().0 - 7 * 86_400);
            if let Err(e) = state.store.purge_usage_batches(week_ago).await {
                tracing::error!(error = %e, "purging usage batch ids failed");
            }
            // Issued certificates stay listed for a week after they expire.
            if let Err(e) = state.store.purge_certificates(week_ago).await {
                tracing::error!(error = %e, "purging expired certificates failed");
            }
            // Policy decisions are kept for a week.
            if let Err(e) = state.store.purge_decisions(week_ago).await {
                tracing::error!(error = %e, "purging old policy decisions failed");
            }
            match state.store.purge_revoked_tokens(state.now()).await {
                Ok(n) if n > 0 => {
                    if let Err(e) = state.reload_catalog().await {
                        tracing::error!(error = %e, "catalog reload failed");
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "purging revocations failed"),
            }
        }
    });
}

/// Runs `gatehouse serve` until SIGINT/SIGTERM.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let server = start(&cfg, Arc::new(SystemClock)).await?;
    let admin_note = if server.admin_token_file.exists() {
        format!("admin token: {}", server.admin_token_file.display())
    } else {
        "admin token: from GATEHOUSE_BOOTSTRAP_ADMIN_TOKEN".to_owned()
    };
    println!("gatehouse serving on http://{}", server.addr);
    if let Some(g) = server.gateway_addr {
        let scheme = if cfg.gateway.as_ref().is_some_and(|g| g.tls.is_some()) {
            "https"
        } else {
            "http"
        };
        println!("  gateway:    {scheme}://{g}");
    }
    if let (Some(a), Some(u)) = (server.tls_addr, &server.tls_url) {
        println!("  https:      {u} (bound {a})");
    }
    println!("  issuer:     {}", server.issuer);
    println!(
        "  metadata:   {}/.well-known/oauth-authorization-server",
        server.issuer
    );
    println!("  data dir:   {}", cfg.data_dir.display());
    println!("  database:   {}", redact_url(&cfg.database_url));
    println!("  {admin_note}");
    let handle = server.shutdown_handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: draining in-flight requests");
        let _ = handle.send(true);
    });
    server.wait().await
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Hides a password in a database URL.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Refuses to start twice on one data dir.
pub fn ensure_not_running(dir: &Path) -> anyhow::Result<()> {
    match fsutil::lock_data_dir(dir) {
        Ok(_) => Ok(()),
        Err(e) => bail!("{e:#}"),
    }
}
