//! The gateway listener, shared by `gatehouse serve` and `gatehouse gateway`: plain HTTP (on
//! loopback unless `--insecure-http`), or TLS with the certificate from `[gateway.tls]`
//! (reloaded on SIGHUP) and client certificates requested when an API accepts `mtls`.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use gatehouse_gateway::GatewaySpec;
use gatehouse_net::{CertResolver, ClientCerts, TlsSettings, check_plain_http_allowed};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The listener's TLS: the swappable certificate and where it is read from.
#[derive(Debug, Clone)]
pub struct GatewayTls {
    /// The certificate in use (swapped by [`GatewayTls::reload`]).
    pub resolver: Arc<CertResolver>,
    /// Its files.
    pub settings: TlsSettings,
    config: Arc<rustls::ServerConfig>,
}

impl GatewayTls {
    /// Reads the certificate files again; on error the old certificate stays.
    pub fn reload(&self) -> Result<(), gatehouse_net::TlsConfigError> {
        self.resolver.reload(&self.settings)
    }
}

/// Checks the listener settings and loads the TLS certificate (before binding anything).
pub fn prepare(spec: &GatewaySpec, insecure_http: bool) -> anyhow::Result<Option<GatewayTls>> {
    let Some(tls) = &spec.tls else {
        check_plain_http_allowed(spec.listen, insecure_http)?;
        return Ok(None);
    };
    let settings = TlsSettings::new(&tls.cert_file, &tls.key_file);
    let resolver = Arc::new(CertResolver::load(&settings).context("gateway.tls")?);
    let client_certs = if tls.request_client_certs {
        ClientCerts::Request
    } else {
        ClientCerts::Off
    };
    let config =
        gatehouse_net::server_config(Arc::clone(&resolver), client_certs).context("gateway.tls")?;
    Ok(Some(GatewayTls {
        resolver,
        settings,
        config,
    }))
}

/// Serves `app` on `listener` until `stop` turns true.
pub fn spawn(
    listener: TcpListener,
    tls: Option<&GatewayTls>,
    app: Router,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    match tls {
        Some(t) => tokio::spawn(gatehouse_net::serve_tls(
            listener,
            Arc::clone(&t.config),
            app,
            shutdown,
        )),
        None => tokio::spawn(gatehouse_net::serve(listener, app, shutdown)),
    }
}
