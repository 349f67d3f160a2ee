//! The control plane's certificate authority and HTTPS listener, as `serve` sets them up:
//! the CA loaded (or created, or imported) with the master key, the CAs `tls_client_auth`
//! trusts, and a TLS listener whose server certificate is read from files or issued by our CA
//! and renewed in the background at two thirds of its lifetime (no restart, no dropped
//! connections: handshakes after the renewal present the new certificate).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use gatehouse_ca::{ChainVerifier, parse_pem_certificates};
use gatehouse_core::{Clock, UnixTime};
use gatehouse_keys::MasterKey;
use gatehouse_net::{CertResolver, certified_key_from_pem, server_config};
use gatehouse_oauth::MtlsClientAuth;
use gatehouse_oauth::certs::{CaOrigin, CaSettings, CertificateService};
use gatehouse_store::Store;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use zeroize::Zeroizing;

use crate::config::{CaConfig, Config, ControlTls, ServerCertSource};

/// The SPIFFE service name of the control plane's own server certificate.
const SERVER_IDENTITY: &str = "control-plane";
/// How often the renewal task looks at the certificate's age.
const RENEW_CHECK: Duration = Duration::from_secs(30);

/// Loads the CA (`None` when `[ca] enabled = false`).
pub(crate) async fn load_ca(
    cfg: Option<&CaConfig>,
    store: &dyn Store,
    master: &MasterKey,
    now: UnixTime,
) -> anyhow::Result<Option<Arc<CertificateService>>> {
    let Some(cfg) = cfg else {
        return Ok(None);
    };
    let import = match &cfg.import {
        Some((cert, key)) => Some((
            std::fs::read_to_string(cert)
                .with_context(|| format!("ca.cert_file {}", cert.display()))?,
            Zeroizing::new(
                std::fs::read_to_string(key)
                    .with_context(|| format!("ca.key_file {}", key.display()))?,
            ),
        )),
        None => None,
    };
    let settings = CaSettings {
        trust_domain: cfg.trust_domain.clone(),
        policy: cfg.policy,
        intermediate: cfg.intermediate,
        import,
    };
    let (ca, origin) = CertificateService::load_or_create(store, master, settings, now)
        .await
        .context("certificate authority (is the master key the one it was encrypted with?)")?;
    let td = cfg.trust_domain.as_str();
    match origin {
        CaOrigin::Generated => {
            tracing::info!(trust_domain = td, "created the certificate authority");
        }
        CaOrigin::Imported => {
            tracing::info!(
                trust_domain = td,
                "imported the configured certificate authority"
            );
        }
        CaOrigin::Stored => {}
    }
    Ok(Some(Arc::new(ca)))
}

/// What the OAuth endpoints trust for `tls_client_auth` and advertise as mTLS aliases.
pub(crate) fn mtls_settings(
    cfg: &Config,
    ca: Option<&CertificateService>,
    listener: Option<&ControlListener>,
) -> anyhow::Result<MtlsClientAuth> {
    let mut roots = Vec::new();
    if let Some(ca) = ca {
        roots.push(ca.authority().root().clone());
    }
    if let Some(path) = cfg.tls.as_ref().and_then(|t| t.client_ca_file.as_ref()) {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("tls.client_ca_file {}", path.display()))?;
        roots.extend(
            parse_pem_certificates(&pem)
                .with_context(|| format!("tls.client_ca_file {}", path.display()))?,
        );
    }
    let trusted = if roots.is_empty() {
        None
    } else {
        Some(ChainVerifier::new(&roots).context("trusted client CAs")?)
    };
    Ok(MtlsClientAuth {
        trusted,
        base_url: listener
            .filter(|l| l.client_certs == gatehouse_net::ClientCerts::Request)
            .map(|l| l.public_url.clone()),
    })
}

/// A bound HTTPS listener, not yet serving.
pub(crate) struct ControlListener {
    listener: TcpListener,
    config: Arc<ServerConfig>,
    resolver: Arc<CertResolver>,
    issued: Option<(Arc<CertificateService>, Vec<String>, UnixTime, UnixTime)>,
    files: Option<gatehouse_net::TlsSettings>,
    client_certs: gatehouse_net::ClientCerts,
    /// The bound address.
    pub(crate) addr: SocketAddr,
    /// The base URL clients use.
    pub(crate) public_url: String,
}

/// Binds the listener and obtains its first certificate.
pub(crate) async fn bind(
    tls: &ControlTls,
    ca: Option<&Arc<CertificateService>>,
    now: UnixTime,
) -> anyhow::Result<ControlListener> {
    let (resolver, issued) = match &tls.cert {
        ServerCertSource::Files(files) => (
            CertResolver::load(files).context("tls.cert_file / tls.key_file")?,
            None,
        ),
        ServerCertSource::Issued { hosts } => {
            let ca = ca.context("tls: an issued certificate needs the CA")?;
            let (key, not_before, not_after) = issue(ca, hosts, now)?;
            (
                CertResolver::new(key),
                Some((Arc::clone(ca), hosts.clone(), not_before, not_after)),
            )
        }
    };
    let resolver = Arc::new(resolver);
    let config = server_config(Arc::clone(&resolver), tls.client_certs)
        .context("TLS server configuration")?;
    let listener = TcpListener::bind(tls.listen)
        .await
        .with_context(|| format!("binding tls.listen {}", tls.listen))?;
    let addr = listener.local_addr()?;
    let public_url = tls.public_url.clone().unwrap_or_else(|| {
        let host = match &tls.cert {
            ServerCertSource::Issued { hosts } => hosts.first().cloned(),
            ServerCertSource::Files(_) => None,
        }
        .unwrap_or_else(|| addr.ip().to_string());
        let host = match host.parse::<std::net::Ipv6Addr>() {
            Ok(v6) => format!("[{v6}]"),
            Err(_) => host,
        };
        format!("https://{host}:{}", addr.port())
    });
    Ok(ControlListener {
        addr,
        public_url,
        listener,
        config,
        resolver,
        issued,
        files: match &tls.cert {
            ServerCertSource::Files(f) => Some(f.clone()),
            ServerCertSource::Issued { .. } => None,
        },
        client_certs: tls.client_certs,
    })
}

fn issue(
    ca: &CertificateService,
    hosts: &[String],
    now: UnixTime,
) -> anyhow::Result<(Arc<rustls::sign::CertifiedKey>, UnixTime, UnixTime)> {
    // The longest lifetime the CA allows (a server certificate is presented to everyone;
    // renewal at two thirds keeps it fresh either way).
    let lifetime = ca.authority().policy().max;
    let (cert, key) = ca
        .issue_service(SERVER_IDENTITY, hosts, Some(lifetime), now)
        .context("issuing the control plane's server certificate")?;
    let certified = certified_key_from_pem(cert.chain_pem.as_bytes(), key.as_bytes())
        .context("loading the issued server certificate")?;
    Ok((certified, cert.not_before, cert.not_after))
}

/// Serves `app` on the listener until shutdown; renews an issued certificate meanwhile.
pub(crate) fn spawn(
    l: ControlListener,
    app: Router,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    if let Some((ca, hosts, not_before, not_after)) = l.issued {
        let resolver = Arc::clone(&l.resolver);
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let (mut from, mut until) = (not_before, not_after);
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(RENEW_CHECK) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                let now = clock.now();
                if !gatehouse_ca::renewal_due(from, until, now) {
                    continue;
                }
                match issue(&ca, &hosts, now) {
                    Ok((key, nb, na)) => {
                        resolver.set(key);
                        (from, until) = (nb, na);
                        tracing::info!(
                            not_after = na.0,
                            "renewed the control plane's server certificate"
                        );
                    }
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "server certificate renewal failed; retrying")
                    }
                }
            }
        });
    }
    if let Some(files) = l.files {
        spawn_reload_on_hangup(files, Arc::clone(&l.resolver), shutdown.clone());
    }
    tokio::spawn(gatehouse_net::serve_tls(
        l.listener,
        l.config,
        app,
        async move {
            let _ = shutdown.wait_for(|s| *s).await;
        },
    ))
}

/// Re-reads the certificate files on SIGHUP (a renewed certificate, no restart); a file that
/// does not load keeps the current certificate.
fn spawn_reload_on_hangup(
    files: gatehouse_net::TlsSettings,
    resolver: Arc<CertResolver>,
    mut stop: watch::Receiver<bool>,
) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        loop {
            tokio::select! {
                _ = hup.recv() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            match resolver.reload(&files) {
                Ok(()) => tracing::info!("tls: server certificate re-read"),
                Err(e) => {
                    tracing::error!(error = %e, "tls: server certificate NOT re-read; keeping the current one")
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (files, resolver, stop);
}
