//! The standalone gateway's side of the sync protocol: a long-poll loop that keeps the last
//! snapshot ([`RemoteControlPlane`]), the gateway's own access token (client credentials), and
//! the usage upload.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use gatehouse_core::{Clock, DecisionRecord, UnixTime, UsageRecord};
use gatehouse_keys::{JwksVerifier, JwsVerify};
use tokio::sync::{Mutex, Notify, watch};

use super::server::{CONTROL_PLANE_AUDIENCE, SYNC_SCOPE};
use super::wire::{FORMAT, Snapshot, UsageBatch};
use crate::source::{ControlPlane, Unavailable, View};

/// Shortest time between two key refreshes asked for by tokens naming unknown keys.
const MIN_FORCED_INTERVAL: Duration = Duration::from_secs(1);
/// Longest pause between failed attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How a standalone gateway reaches its control plane.
#[derive(Clone)]
pub struct SyncSettings {
    /// Base URL of the control plane (`https://gatehouse.internal:7070`), without a trailing `/`.
    pub url: String,
    /// The gateway's own client id.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// Past this age of the last successful sync, requests are refused with 503.
    pub max_staleness: Duration,
    /// How long each snapshot request is held open by the control plane.
    pub wait: Duration,
    /// Extra CA certificates (PEM) trusted for the control plane's TLS certificate.
    pub ca_pem: Option<Vec<u8>>,
}

/// Why a sync attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The control plane could not be reached or answered garbage.
    #[error("control plane request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The control plane refused the gateway's credentials or token.
    #[error("control plane refused the gateway: {0}")]
    Refused(String),
    /// The snapshot could not be used (format, JWKS).
    #[error("unusable snapshot: {0}")]
    Snapshot(String),
}

/// The last snapshot synced from the control plane, served as the gateway's [`View`].
pub struct RemoteControlPlane {
    current: ArcSwapOption<Synced>,
    last_ok: AtomicI64,
    max_staleness: Duration,
    clock: Arc<dyn Clock>,
    refresh: Notify,
}

struct Synced {
    view: View,
    etag: String,
}

/// Talks to the control plane: snapshots in, usage out.
pub struct SyncClient {
    http: reqwest::Client,
    settings: SyncSettings,
    token: Mutex<Option<(String, UnixTime)>>,
    plane: Arc<RemoteControlPlane>,
}

/// The gateway's access token response (the fields we use).
#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: i64,
}

// === impl RemoteControlPlane ===

impl RemoteControlPlane {
    /// Nothing synced yet: every request gets 503 until the first snapshot arrives.
    pub fn new(max_staleness: Duration, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            current: ArcSwapOption::empty(),
            last_ok: AtomicI64::new(i64::MIN),
            max_staleness,
            clock,
            refresh: Notify::new(),
        })
    }

    /// Whether a snapshot is held and fresh enough to serve.
    pub fn is_ready(&self) -> bool {
        self.view().is_ok()
    }

    /// Seconds since the last successful sync (`None` before the first).
    pub fn age_secs(&self) -> Option<i64> {
        let last = self.last_ok.load(Ordering::Acquire);
        (last != i64::MIN).then(|| self.clock.now().0.saturating_sub(last))
    }

    fn etag(&self) -> Option<String> {
        self.current.load().as_ref().map(|s| s.etag.clone())
    }

    fn install(&self, snapshot: Snapshot, etag: String) -> Result<(), SyncError> {
        if snapshot.format != FORMAT {
            return Err(SyncError::Snapshot(format!(
                "format {} (this gateway reads {FORMAT})",
                snapshot.format
            )));
        }
        let keys = JwksVerifier::from_jwks(&snapshot.jwks)
            .map_err(|e| SyncError::Snapshot(format!("jwks: {e}")))?;
        let issuer: Arc<str> = Arc::from(snapshot.issuer.as_str());
        let ca = match &snapshot.ca {
            Some(ca) => {
                let roots = gatehouse_ca::parse_pem_certificates(&ca.bundle)
                    .map_err(|e| SyncError::Snapshot(format!("ca bundle: {e}")))?;
                let verifier = gatehouse_ca::ChainVerifier::new(&roots)
                    .map_err(|e| SyncError::Snapshot(format!("ca bundle: {e}")))?;
                Some(Arc::new(crate::mtls::BuiltInCa {
                    verifier,
                    trust_domain: ca.trust_domain.clone(),
                }))
            }
            None => None,
        };
        let view = View {
            ca,
            catalog: Arc::new(snapshot.into_catalog()),
            keys: Arc::new(keys) as Arc<dyn JwsVerify>,
            issuer,
            signer: None,
        };
        self.current.store(Some(Arc::new(Synced { view, etag })));
        self.mark_fresh();
        Ok(())
    }

    fn mark_fresh(&self) {
        self.last_ok.store(self.clock.now().0, Ordering::Release);
    }
}

impl ControlPlane for RemoteControlPlane {
    fn view(&self) -> Result<View, Unavailable> {
        let current = self.current.load();
        let synced = current.as_ref().ok_or(Unavailable)?;
        let age = self.age_secs().ok_or(Unavailable)?;
        if u64::try_from(age).unwrap_or(0) > self.max_staleness.as_secs() {
            return Err(Unavailable);
        }
        Ok(synced.view.clone())
    }

    fn now(&self) -> UnixTime {
        self.clock.now()
    }

    fn unknown_key(&self) {
        self.refresh.notify_one();
    }

    fn can_sign(&self) -> bool {
        false
    }
}

impl std::fmt::Debug for RemoteControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteControlPlane")
            .field("etag", &self.etag())
            .field("age_secs", &self.age_secs())
            .finish_non_exhaustive()
    }
}

// === impl SyncClient ===

impl SyncClient {
    /// A client for `settings`, feeding `plane`.
    pub fn new(
        settings: SyncSettings,
        plane: Arc<RemoteControlPlane>,
    ) -> Result<Arc<Self>, SyncError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("gatehouse-gateway/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &settings.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(Arc::new(Self {
            http: builder.build()?,
            settings,
            token: Mutex::new(None),
            plane,
        }))
    }

    /// The control plane view this client feeds.
    pub fn plane(&self) -> &Arc<RemoteControlPlane> {
        &self.plane
    }

    /// One snapshot request, held up to `wait`. Returns whether the snapshot changed.
    pub async fn sync_once(&self, wait: Duration) -> Result<bool, SyncError> {
        let resp = self.snapshot_request(wait).await?;
        let resp = if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            // The token may have been revoked or the keys rotated: get a new one, once.
            *self.token.lock().await = None;
            self.snapshot_request(wait).await?
        } else {
            resp
        };
        match resp.status() {
            reqwest::StatusCode::NOT_MODIFIED => {
                self.plane.mark_fresh();
                Ok(false)
            }
            reqwest::StatusCode::OK => {
                let etag = resp
                    .headers()
                    .get(reqwest::header::ETAG)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let snapshot: Snapshot = resp.json().await?;
                self.plane.install(snapshot, etag)?;
                Ok(true)
            }
            status => Err(SyncError::Refused(format!("snapshot: HTTP {status}"))),
        }
    }

    async fn snapshot_request(&self, wait: Duration) -> Result<reqwest::Response, SyncError> {
        let token = self.token().await?;
        let mut req = self
            .http
            .get(format!("{}/gateway/v1/snapshot", self.settings.url))
            .query(&[("wait", wait.as_secs())])
            .bearer_auth(token)
            .timeout(wait + Duration::from_secs(15));
        if let Some(etag) = self.plane.etag() {
            req = req.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        Ok(req.send().await?)
    }

    /// A token for `resource` with `scope`, by the client credentials grant.
    async fn client_credentials(
        &self,
        resource: &str,
        scope: &str,
    ) -> Result<TokenResponse, SyncError> {
        let resp = self
            .http
            .post(format!("{}/oauth2/token", self.settings.url))
            .basic_auth(&self.settings.client_id, Some(&self.settings.client_secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", resource),
                ("scope", scope),
            ])
            .timeout(Duration::from_secs(15))
            .send()
            .await?;
        if !resp.status().is_success() {
            let status = resp.status();
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            let error = body.get("error").and_then(|e| e.as_str()).unwrap_or("");
            return Err(SyncError::Refused(format!(
                "token endpoint ({resource}, scope {scope}): HTTP {status} {error}"
            )));
        }
        Ok(resp.json().await?)
    }

    /// The gateway's access token for the control plane, fetched with client credentials and
    /// reused until a minute before it expires.
    async fn token(&self) -> Result<String, SyncError> {
        let mut cached = self.token.lock().await;
        let now = self.plane.clock.now();
        if let Some((token, exp)) = cached.as_ref()
            && now.0 < exp.0 - 60
        {
            return Ok(token.clone());
        }
        let t = self
            .client_credentials(CONTROL_PLANE_AUDIENCE, SYNC_SCOPE)
            .await?;
        *cached = Some((t.access_token.clone(), UnixTime(now.0 + t.expires_in)));
        Ok(t.access_token)
    }

    /// Asks the control plane's CA to sign `csr` (PEM) for this gateway's client, with a token
    /// for the CA's audience (the gateway's client needs `ca:sign` on the `gatehouse-ca` API).
    /// Returns the certificate chain (leaf first, PEM) and its validity.
    pub async fn request_certificate(
        &self,
        csr: &str,
    ) -> Result<(String, UnixTime, UnixTime), SyncError> {
        let token = self
            .client_credentials("urn:gatehouse:ca", "ca:sign")
            .await?;
        let resp = self
            .http
            .post(format!("{}/ca/v1/sign", self.settings.url))
            .bearer_auth(&token.access_token)
            .json(&serde_json::json!({ "csr": csr }))
            .timeout(Duration::from_secs(15))
            .send()
            .await?;
        if !resp.status().is_success() {
            let status = resp.status();
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            let detail = body.get("detail").and_then(|d| d.as_str()).unwrap_or("");
            return Err(SyncError::Refused(format!(
                "certificate authority: HTTP {status} {detail}"
            )));
        }
        let signed: gatehouse_proto::ca::SignedCertificate = resp.json().await?;
        Ok((
            signed.chain,
            UnixTime(signed.not_before),
            UnixTime(signed.not_after),
        ))
    }

    /// Pushes one usage batch (idempotent by `batch_id`).
    pub async fn push_usage(
        &self,
        batch_id: &str,
        records: &[UsageRecord],
        decisions: &[DecisionRecord],
    ) -> Result<(), SyncError> {
        let batch = UsageBatch {
            batch_id: batch_id.to_owned(),
            records: records.to_vec(),
            decisions: decisions.to_vec(),
        };
        for attempt in 0..2 {
            let token = self.token().await?;
            let resp = self
                .http
                .post(format!("{}/gateway/v1/usage", self.settings.url))
                .bearer_auth(token)
                .json(&batch)
                .timeout(Duration::from_secs(30))
                .send()
                .await?;
            match resp.status() {
                s if s.is_success() => return Ok(()),
                reqwest::StatusCode::UNAUTHORIZED if attempt == 0 => {
                    *self.token.lock().await = None;
                }
                s => return Err(SyncError::Refused(format!("usage: HTTP {s}"))),
            }
        }
        Err(SyncError::Refused("usage: HTTP 401".into()))
    }

    /// Runs the sync loop until `stop`: long-polls, retries with backoff, and refetches at once
    /// (at most once a second) when a token names a key the gateway does not know.
    pub fn spawn(self: &Arc<Self>, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(200);
            let mut immediate = true;
            let mut forced_at: Option<tokio::time::Instant> = None;
            loop {
                let wait = if immediate {
                    Duration::ZERO
                } else {
                    me.settings.wait
                };
                immediate = false;
                let may_force = forced_at.is_none_or(|t| t.elapsed() >= MIN_FORCED_INTERVAL);
                let outcome = tokio::select! {
                    result = me.sync_once(wait) => Some(result),
                    () = me.plane.refresh.notified(), if may_force => {
                        forced_at = Some(tokio::time::Instant::now());
                        immediate = true;
                        None
                    }
                    _ = stop.wait_for(|s| *s) => return,
                };
                match outcome {
                    Some(Ok(changed)) => {
                        backoff = Duration::from_millis(200);
                        if changed {
                            tracing::debug!(etag = ?me.plane.etag(), "gateway snapshot updated");
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, age_secs = ?me.plane.age_secs(), "gateway sync failed; serving the last snapshot");
                        tokio::select! {
                            () = tokio::time::sleep(backoff) => {}
                            _ = stop.wait_for(|s| *s) => return,
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                    None => {}
                }
            }
        })
    }
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient")
            .field("url", &self.settings.url)
            .field("client_id", &self.settings.client_id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SyncSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncSettings")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("max_staleness", &self.max_staleness)
            .finish_non_exhaustive()
    }
}
