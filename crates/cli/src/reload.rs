//! Gateway hot reload: on SIGHUP, or when the config file changes (checked every 2 s), the
//! `[gateway]` section is read again, validated, and the new gateway swapped in. Requests in
//! flight finish on the gateway they started with; a bad file is logged and changes nothing.
//! Other settings (listen addresses, database, keys) need a restart.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gatehouse_gateway::{ControlPlane, Gateway, GatewayMetrics, SharedGateway, UsageRecorder};
use tokio::sync::watch;

/// How often the config file's modification time is checked.
const POLL: Duration = Duration::from_secs(2);

/// The listener settings a reload cannot change (they need a restart).
#[derive(Debug, Clone)]
pub struct RunningListener {
    /// The bound address.
    pub listen: SocketAddr,
    /// TLS settings.
    pub tls: Option<gatehouse_gateway::spec::ListenerTls>,
    /// Worker threads.
    pub workers: usize,
    /// The gateway's CA-issued client certificate, when one was configured at start.
    pub identity: Option<Arc<crate::gateway_identity::GatewayIdentity>>,
}

impl RunningListener {
    /// The listener of `spec`, bound at `listen`.
    pub fn of(spec: &gatehouse_gateway::GatewaySpec) -> Self {
        Self {
            listen: spec.listen,
            tls: spec.tls.clone(),
            workers: spec.workers,
            identity: None,
        }
    }

    /// With the gateway's running CA identity.
    pub fn with_identity(
        mut self,
        identity: Option<Arc<crate::gateway_identity::GatewayIdentity>>,
    ) -> Self {
        self.identity = identity;
        self
    }
}

/// What a reload rebuilds and swaps.
#[derive(Debug, Clone)]
pub struct Reloadable {
    /// The config file.
    pub path: PathBuf,
    /// The listener as started (a reload may not change it).
    pub running: RunningListener,
    /// The gateway in force.
    pub gateway: SharedGateway,
    /// What new gateways decide with.
    pub control: Arc<dyn ControlPlane>,
    /// Usage counters, shared by every generation.
    pub recorder: Arc<UsageRecorder>,
    /// Metrics, shared by every generation.
    pub metrics: Arc<GatewayMetrics>,
    /// The listener's certificate, re-read on every reload.
    pub tls: Option<crate::gateway_listener::GatewayTls>,
}

/// Starts the reload task.
pub fn spawn(r: Reloadable, mut stop: watch::Receiver<bool>) {
    let Reloadable {
        path,
        running,
        gateway,
        control,
        recorder,
        metrics,
        tls,
    } = r;
    tokio::spawn(async move {
        let mut last = modified(&path);
        let mut hup = hangup();
        let mut tick = tokio::time::interval(POLL);
        loop {
            let reason = tokio::select! {
                _ = tick.tick() => {
                    let now = modified(&path);
                    if now == last {
                        continue;
                    }
                    last = now;
                    "config file changed"
                }
                Some(()) = recv(&mut hup) => "SIGHUP",
                _ = stop.wait_for(|s| *s) => return,
            };
            if let Some(tls) = &tls {
                match tls.reload() {
                    Ok(()) => tracing::info!(reason, "gateway TLS certificate reloaded"),
                    Err(e) => {
                        tracing::error!(reason, error = %e, "gateway TLS certificate NOT reloaded")
                    }
                }
            }
            match load(&path, &running, &control, &recorder) {
                Ok(new) => {
                    gateway.store(Arc::new(new.with_metrics(Arc::clone(&metrics))));
                    tracing::info!(path = %path.display(), reason, "gateway configuration reloaded");
                }
                Err(e) => {
                    tracing::error!(path = %path.display(), reason, error = %e, "gateway configuration NOT reloaded")
                }
            }
        }
    });
}

/// Reads, validates and builds the gateway from the file.
pub fn load(
    path: &std::path::Path,
    running: &RunningListener,
    control: &Arc<dyn ControlPlane>,
    recorder: &UsageRecorder,
) -> Result<Gateway, String> {
    let raw = crate::config::read_file(path).map_err(|e| e.to_string())?;
    let spec = raw
        .gateway
        .validate()
        .map_err(|e| e.to_string())?
        .ok_or("the [gateway] section was removed")?;
    if spec.tls != running.tls {
        return Err(
            "gateway.tls changed (files, or client certificates now needed or not): restart to change the listener".into(),
        );
    }
    if spec.workers != running.workers {
        return Err(format!(
            "gateway.workers changed to {}: restart to change the listener",
            spec.workers
        ));
    }
    let listen = running.listen;
    if spec.listen != listen && !(spec.listen.port() == 0 && spec.listen.ip() == listen.ip()) {
        return Err(format!(
            "gateway.listen changed to {}: restart to move the listener",
            spec.listen
        ));
    }
    crate::standalone::check_can_sign(&spec, control.as_ref())?;
    match (&spec.ca_identity, &running.identity) {
        (Some(handle), Some(identity)) => identity.attach(handle),
        (Some(_), None) => {
            return Err(
                "upstream_tls.client_certificate = \"gatehouse\" was added: restart to obtain the gateway's certificate".into(),
            );
        }
        (None, _) => {}
    }
    Ok(Gateway::new(spec, Arc::clone(control), recorder))
}

fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(unix)]
fn hangup() -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}

#[cfg(unix)]
async fn recv(sig: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match sig {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
fn hangup() -> Option<()> {
    None
}

#[cfg(not(unix))]
async fn recv(_: &mut Option<()>) -> Option<()> {
    std::future::pending().await
}
