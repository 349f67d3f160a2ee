//! The gateway's own client certificate for upstream mTLS, from the built-in CA
//! (`upstream_tls.client_certificate = "gatehouse"`): issued when the gateway starts and
//! renewed at two thirds of its lifetime, without a restart. Inside `gatehouse serve` the CA
//! signs it in-process (`spiffe://<td>/gatehouse/gateway`); a standalone gateway asks its
//! control plane's CA with its own client credentials (`spiffe://<td>/app/<client_id>`; the
//! client needs `ca:sign` on the `gatehouse-ca` API). The key never leaves the gateway.

use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::Context;
use gatehouse_core::{Clock, UnixTime};
use gatehouse_gateway::sync::SyncClient;
use gatehouse_gateway::tls::SwappableIdentity;
use gatehouse_net::certified_key_from_pem;
use gatehouse_oauth::certs::CertificateService;
use parking_lot::Mutex;
use rustls::sign::CertifiedKey;
use tokio::sync::watch;

/// The SPIFFE service name of an embedded gateway's certificate.
const SERVICE: &str = "gateway";
/// How often the renewal task looks at the certificate's age (and retries a failure).
const CHECK: Duration = Duration::from_secs(30);

/// Who signs the gateway's certificate.
pub enum Issuer {
    /// The CA of this process (`gatehouse serve`).
    Local(Arc<CertificateService>),
    /// The control plane's CA, over HTTP (`gatehouse gateway`).
    Remote(Arc<SyncClient>),
}

/// The current certificate and every spec's handle that presents it.
pub struct GatewayIdentity {
    issuer: Issuer,
    clock: Arc<dyn Clock>,
    handles: Mutex<Vec<Weak<SwappableIdentity>>>,
    current: Mutex<Option<(Arc<CertifiedKey>, UnixTime, UnixTime)>>,
}

impl std::fmt::Debug for GatewayIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayIdentity").finish_non_exhaustive()
    }
}

impl GatewayIdentity {
    /// Obtains the first certificate for `handle`, then keeps it renewed until `stop`.
    /// A remote CA that cannot be reached yet is retried in the background (upstream
    /// handshakes that need the certificate fail until then).
    pub async fn start(
        issuer: Issuer,
        clock: Arc<dyn Clock>,
        handle: &Arc<SwappableIdentity>,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Arc<Self>> {
        let me = Arc::new(Self {
            issuer,
            clock,
            handles: Mutex::new(vec![Arc::downgrade(handle)]),
            current: Mutex::new(None),
        });
        match me.renew().await {
            Ok(()) => {}
            Err(e) if matches!(me.issuer, Issuer::Remote(_)) => {
                tracing::warn!(error = %format!("{e:#}"), "gateway certificate not issued yet; retrying");
            }
            Err(e) => return Err(e),
        }
        let task = Arc::clone(&me);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(CHECK) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                if let Err(e) = task.renew_if_due().await {
                    tracing::error!(error = %format!("{e:#}"), "gateway certificate renewal failed; retrying");
                }
            }
        });
        Ok(me)
    }

    /// Makes a reloaded spec's handle present the current certificate (and the next ones).
    pub fn attach(&self, handle: &Arc<SwappableIdentity>) {
        if let Some((key, _, _)) = self.current.lock().as_ref() {
            handle.set(Arc::clone(key));
        }
        let mut handles = self.handles.lock();
        handles.retain(|h| h.strong_count() > 0);
        handles.push(Arc::downgrade(handle));
    }

    /// The validity of the current certificate.
    pub fn validity(&self) -> Option<(UnixTime, UnixTime)> {
        self.current.lock().as_ref().map(|(_, nb, na)| (*nb, *na))
    }

    /// The certificate presented now.
    pub fn current_certificate(&self) -> Option<Arc<CertifiedKey>> {
        self.current.lock().as_ref().map(|(k, _, _)| Arc::clone(k))
    }

    /// Renews when two thirds of the lifetime have passed; returns whether it renewed.
    pub async fn renew_if_due(&self) -> anyhow::Result<bool> {
        if !self.due() {
            return Ok(false);
        }
        self.renew().await.map(|()| true)
    }

    fn due(&self) -> bool {
        let now = self.clock.now();
        match self.current.lock().as_ref() {
            None => true,
            Some((_, nb, na)) => gatehouse_ca::renewal_due(*nb, *na, now),
        }
    }

    /// Issues a fresh certificate and hands it to every live handle.
    pub async fn renew(&self) -> anyhow::Result<()> {
        let now = self.clock.now();
        let (chain, key, nb, na) = match &self.issuer {
            Issuer::Local(ca) => {
                let (cert, key) = ca
                    .issue_service(SERVICE, &[], None, now)
                    .context("issuing the gateway's certificate")?;
                (cert.chain_pem, key, cert.not_before, cert.not_after)
            }
            Issuer::Remote(sync) => {
                let (csr, key) = gatehouse_ca::csr::generate_request(&[])
                    .context("generating the gateway's key")?;
                let (chain, nb, na) = sync
                    .request_certificate(&csr)
                    .await
                    .context("asking the control plane's CA for the gateway's certificate")?;
                (chain, key, nb, na)
            }
        };
        let certified = certified_key_from_pem(chain.as_bytes(), key.as_bytes())
            .context("loading the gateway's certificate")?;
        let mut handles = self.handles.lock();
        handles.retain(|h| h.strong_count() > 0);
        for h in handles.iter().filter_map(Weak::upgrade) {
            h.set(Arc::clone(&certified));
        }
        drop(handles);
        *self.current.lock() = Some((certified, nb, na));
        tracing::info!(not_after = na.0, "gateway client certificate issued");
        Ok(())
    }
}
