//! `gatehouse gateway`: a standalone data plane. It reads its `[gateway]` section like
//! `gatehouse serve` does, but decides with what it syncs from a control plane
//! (see `gatehouse_gateway::sync`) and pushes its usage there. It holds no database and no
//! signing key, and keeps serving from its last snapshot while the control plane is away, up
//! to `gateway.control_plane.max_staleness`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gatehouse_core::{Clock, Env, SystemClock, parse_duration};
use gatehouse_gateway::sync::{RemoteControlPlane, SyncClient, SyncSettings};
use gatehouse_gateway::{ControlPlane, Gateway, GatewayMetrics, GatewaySpec, UsageRecorder};
use gatehouse_net::request_id_layer;
use tokio::sync::watch;

use crate::cli::GatewayArgs;
use crate::config::{LogFormat, RawConfig};
use crate::usage_flush::{ControlPlaneSink, UsageFlusher};

/// A validated standalone gateway configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The gateway.
    pub spec: GatewaySpec,
    /// How to reach the control plane.
    pub sync: SyncSettings,
    /// The config file (watched for hot reload).
    pub config_path: Option<PathBuf>,
    /// Plain HTTP allowed off loopback.
    pub insecure_http: bool,
    /// Log filter.
    pub log_level: String,
    /// Log format.
    pub log_format: LogFormat,
}

/// A started standalone gateway.
#[derive(Debug)]
pub struct RunningGateway {
    /// The bound address.
    pub addr: SocketAddr,
    /// What it knows of the control plane.
    pub plane: Arc<RemoteControlPlane>,
    usage: Arc<UsageFlusher>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningGateway {
    /// Stops accepting, drains in-flight requests, pushes the last usage, and waits.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.wait().await
    }

    /// Waits until the gateway stops, then pushes the last usage.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("gateway task")?.context("serve")?;
        self.usage.flush_now().await;
        Ok(())
    }

    /// Pushes the usage counted so far to the control plane.
    pub async fn flush_usage(&self) {
        self.usage.flush_now().await;
    }

    /// A sender that triggers graceful shutdown.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// `gatehouse gateway`: resolves, starts, and runs until SIGINT/SIGTERM.
pub async fn main(args: &GatewayArgs) -> std::process::ExitCode {
    let cfg = match resolve(args, &gatehouse_core::ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(crate::EXIT_USAGE);
        }
    };
    crate::init_logging_with(&cfg.log_level, cfg.log_format);
    crate::warn_about_backtraces(&gatehouse_core::ProcessEnv);
    match run(cfg).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Reads the config file named by `--config` (or `GATEHOUSE_CONFIG`) and resolves it.
pub fn resolve(args: &GatewayArgs, env: &dyn Env) -> Result<GatewayConfig, String> {
    let path = args
        .config
        .clone()
        .or_else(|| env.get("GATEHOUSE_CONFIG").map(PathBuf::from))
        .ok_or("--config FILE is required: a config file with a [gateway] section")?;
    let raw = crate::config::read_file(&path).map_err(|e| e.to_string())?;
    resolve_raw(&raw, Some(path), args, env)
}

/// Resolves a parsed config file with the flags and the environment.
pub fn resolve_raw(
    raw: &RawConfig,
    config_path: Option<PathBuf>,
    args: &GatewayArgs,
    env: &dyn Env,
) -> Result<GatewayConfig, String> {
    let spec = raw
        .gateway
        .validate()
        .map_err(|e| e.to_string())?
        .ok_or("gateway.listen: required")?;
    let cp = raw.gateway.control_plane.clone().unwrap_or_default();
    let insecure_http = args.insecure_http
        || matches!(
            env.get("GATEHOUSE_INSECURE_HTTP").as_deref(),
            Some("1" | "true" | "yes")
        );
    let url = args
        .control_plane
        .clone()
        .or_else(|| env.get("GATEHOUSE_CONTROL_PLANE"))
        .or(cp.url)
        .ok_or("gateway.control_plane.url: required (or --control-plane URL)")?;
    let url = control_plane_url(&url, insecure_http)?;
    let client_id = args
        .client_id
        .clone()
        .or_else(|| env.get("GATEHOUSE_GATEWAY_CLIENT_ID"))
        .or(cp.client_id)
        .ok_or("gateway.control_plane.client_id: required (or --client-id)")?;
    let client_secret = match env.get("GATEHOUSE_GATEWAY_CLIENT_SECRET") {
        Some(s) => s,
        None => {
            let file = args
                .client_secret_file
                .clone()
                .or_else(|| cp.client_secret_file.map(PathBuf::from))
                .ok_or(
                    "gateway.control_plane.client_secret_file: required (or env GATEHOUSE_GATEWAY_CLIENT_SECRET)",
                )?;
            std::fs::read_to_string(&file)
                .map_err(|e| {
                    format!(
                        "gateway.control_plane.client_secret_file: {}: {e}",
                        file.display()
                    )
                })?
                .trim()
                .to_owned()
        }
    };
    let duration = |field: &str, value: Option<String>, default: &str| {
        parse_duration(value.as_deref().unwrap_or(default))
            .map_err(|e| format!("gateway.control_plane.{field}: {e}"))
    };
    let max_staleness = duration("max_staleness", cp.max_staleness, "5m")?;
    if max_staleness < Duration::from_secs(10) {
        return Err("gateway.control_plane.max_staleness: at least 10s".into());
    }
    let wait = duration("poll_wait", cp.poll_wait, "25s")?;
    if wait < Duration::from_secs(1) || wait > Duration::from_secs(60) {
        return Err("gateway.control_plane.poll_wait: between 1s and 60s".into());
    }
    let ca_pem = match &cp.ca_file {
        Some(f) => {
            Some(std::fs::read(f).map_err(|e| format!("gateway.control_plane.ca_file: {f}: {e}"))?)
        }
        None => None,
    };
    needs_no_signer(&spec)?;
    Ok(GatewayConfig {
        spec,
        sync: SyncSettings {
            url,
            client_id,
            client_secret,
            max_staleness,
            wait,
            ca_pem,
        },
        config_path,
        insecure_http,
        log_level: env
            .get("GATEHOUSE_LOG")
            .or_else(|| raw.log.level.clone())
            .unwrap_or_else(|| "info".to_owned()),
        log_format: match raw.log.format.as_deref() {
            Some("json") => LogFormat::Json,
            _ => LogFormat::Text,
        },
    })
}

/// A control-plane base URL: `https://`, or `http://` to loopback (or anywhere with
/// `--insecure-http`), without query or fragment; returned without a trailing `/`.
fn control_plane_url(raw: &str, insecure_http: bool) -> Result<String, String> {
    let field = "gateway.control_plane.url";
    let url = url::Url::parse(raw).map_err(|e| format!("{field}: {raw:?}: {e}"))?;
    if url.query().is_some() || url.fragment().is_some() || url.host().is_none() {
        return Err(format!("{field}: expected http(s)://host[:port]"));
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback || insecure_http => {}
        "http" => {
            return Err(format!(
                "{field}: plain http:// to a non-loopback control plane would expose the gateway's credentials and the key digests it syncs: use https:// (or --insecure-http)"
            ));
        }
        other => return Err(format!("{field}: unsupported scheme {other:?}")),
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Identity assertions need a signing key: refuse a gateway that asks for them where views
/// carry none.
pub fn check_can_sign(spec: &GatewaySpec, control: &dyn ControlPlane) -> Result<(), String> {
    if control.can_sign() {
        return Ok(());
    }
    needs_no_signer(spec)
}

/// Refuses APIs asking for signed identity assertions (a standalone gateway has no key).
fn needs_no_signer(spec: &GatewaySpec) -> Result<(), String> {
    match spec.apis.iter().position(|a| a.identity_audience.is_some()) {
        Some(i) => Err(format!(
            "gateway.apis[{i}].identity_audience: signed identity assertions need Gatehouse's signing keys, which only `gatehouse serve` holds"
        )),
        None => Ok(()),
    }
}

/// Starts the gateway with an explicit clock (tests pass a fake one).
pub async fn start(cfg: &GatewayConfig, clock: Arc<dyn Clock>) -> anyhow::Result<RunningGateway> {
    let tls = crate::gateway_listener::prepare(&cfg.spec, cfg.insecure_http)?;
    let bound = crate::gateway_listener::bind(&cfg.spec)?;
    let addr = bound.addr;
    let plane = RemoteControlPlane::new(cfg.sync.max_staleness, Arc::clone(&clock));
    let sync =
        SyncClient::new(cfg.sync.clone(), Arc::clone(&plane)).context("gateway.control_plane")?;
    match tokio::time::timeout(Duration::from_secs(10), sync.sync_once(Duration::ZERO)).await {
        Ok(Ok(_)) => {
            tracing::info!(url = %cfg.sync.url, "first snapshot synced from the control plane")
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "first sync failed: answering 503 until a snapshot arrives")
        }
        Err(_) => tracing::warn!("first sync timed out: answering 503 until a snapshot arrives"),
    }
    let (shutdown, _) = watch::channel(false);
    sync.spawn(shutdown.subscribe());
    let identity = match &cfg.spec.ca_identity {
        Some(handle) => Some(
            crate::gateway_identity::GatewayIdentity::start(
                crate::gateway_identity::Issuer::Remote(Arc::clone(&sync)),
                Arc::clone(&clock),
                handle,
                shutdown.subscribe(),
            )
            .await?,
        ),
        None => None,
    };
    let control: Arc<dyn ControlPlane> = plane.clone();
    let recorder = Arc::new(UsageRecorder::new());
    let metrics = Arc::new(GatewayMetrics::default());
    let usage = Arc::new(UsageFlusher::new(
        Arc::clone(&recorder),
        Arc::clone(&control),
        Arc::new(ControlPlaneSink(Arc::clone(&sync))),
    ));
    usage.spawn(shutdown.subscribe());
    let gateway: gatehouse_gateway::SharedGateway = Arc::new(arc_swap::ArcSwap::from_pointee(
        Gateway::new(cfg.spec.clone(), Arc::clone(&control), &recorder)
            .with_metrics(Arc::clone(&metrics)),
    ));
    if let Some(path) = &cfg.config_path {
        crate::reload::spawn(
            crate::reload::Reloadable {
                path: path.clone(),
                running: crate::reload::RunningListener::of(&cfg.spec).with_identity(identity),
                gateway: Arc::clone(&gateway),
                control,
                recorder,
                metrics,
                tls: tls.clone(),
            },
            shutdown.subscribe(),
        );
    }
    let app =
        gatehouse_gateway::router(gateway).layer(axum::middleware::from_fn(request_id_layer()));
    let task = crate::gateway_listener::spawn(bound, tls.as_ref(), app, shutdown.subscribe())?;
    Ok(RunningGateway {
        addr,
        plane,
        usage,
        shutdown,
        task,
    })
}

/// Runs until SIGINT/SIGTERM.
pub async fn run(cfg: GatewayConfig) -> anyhow::Result<()> {
    let gw = start(&cfg, Arc::new(SystemClock)).await?;
    let scheme = if cfg.spec.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!("gatehouse gateway serving on {scheme}://{}", gw.addr);
    println!("  control plane: {}", cfg.sync.url);
    println!("  client id:     {}", cfg.sync.client_id);
    let handle = gw.shutdown_handle();
    tokio::spawn(async move {
        crate::server::shutdown_signal().await;
        tracing::info!("shutting down: draining in-flight requests");
        let _ = handle.send(true);
    });
    gw.wait().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_plane_url_must_be_https_off_loopback() {
        assert_eq!(
            control_plane_url("http://127.0.0.1:7070/", false).unwrap(),
            "http://127.0.0.1:7070"
        );
        assert!(control_plane_url("http://gatehouse.internal:7070", false).is_err());
        assert!(control_plane_url("http://gatehouse.internal:7070", true).is_ok());
        assert!(control_plane_url("https://gatehouse.internal", false).is_ok());
        assert!(control_plane_url("ftp://x", true).is_err());
        assert!(control_plane_url("https://x/?a=1", false).is_err());
        assert!(control_plane_url("not a url", false).is_err());
    }
}
