//! Where the gateway's knowledge of the control plane comes from: the clients, APIs,
//! subscriptions, revocations and public keys it decides with.
//!
//! In `gatehouse serve` the gateway reads the authorization server's own in-memory state
//! ([`LocalControlPlane`]: two pointer loads per request). A standalone `gatehouse gateway`
//! reads the last snapshot it synced from the control plane ([`crate::sync::RemoteControlPlane`]),
//! and refuses to serve (503) once that snapshot is older than its staleness limit.

use std::sync::Arc;

use gatehouse_core::{Alg, UnixTime};
use gatehouse_keys::{JwsVerify, SigningKey};
use gatehouse_oauth::OAuthState;
use gatehouse_store::Catalog;

/// One consistent view of the control plane, loaded once per request.
#[derive(Clone)]
pub struct View {
    /// Clients, APIs, subscriptions, API keys and revocations.
    pub catalog: Arc<Catalog>,
    /// The published token-signing keys. A verification cached for one `keys` value is not
    /// trusted for another (a key revocation swaps it).
    pub keys: Arc<dyn JwsVerify>,
    /// The issuer tokens must name.
    pub issuer: Arc<str>,
    /// The key that signs identity assertions, when this process holds signing keys.
    pub signer: Option<Arc<SigningKey>>,
    /// The built-in CA, when the control plane runs one (APIs whose `mtls` names no
    /// `ca_file` trust it).
    pub ca: Option<Arc<crate::mtls::BuiltInCa>>,
}

/// The view cannot be served: nothing synced yet, or the last sync is older than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the control plane's data is unavailable or too old")]
pub struct Unavailable;

/// A source of [`View`]s and of time.
pub trait ControlPlane: Send + Sync + std::fmt::Debug {
    /// The current view (cheap: no I/O).
    fn view(&self) -> Result<View, Unavailable>;

    /// Now, from the injected clock.
    fn now(&self) -> UnixTime;

    /// A token named a key the view does not know: the source may refresh its keys sooner
    /// (never blocking the request that noticed).
    fn unknown_key(&self) {}

    /// Whether views carry a signer for identity assertions.
    fn can_sign(&self) -> bool;
}

/// The control plane in this process: the authorization server's catalog and key ring.
#[derive(Debug)]
pub struct LocalControlPlane {
    state: Arc<OAuthState>,
    issuer: Arc<str>,
    ca: Option<Arc<crate::mtls::BuiltInCa>>,
}

// === impl LocalControlPlane ===

impl LocalControlPlane {
    /// Reads `state`.
    pub fn new(state: Arc<OAuthState>) -> Arc<Self> {
        let issuer = Arc::from(state.config.issuer.as_str());
        let ca = state.ca.as_ref().map(|ca| {
            Arc::new(crate::mtls::BuiltInCa {
                verifier: ca.verifier().clone(),
                trust_domain: ca.authority().trust_domain().to_string(),
            })
        });
        Arc::new(Self { state, issuer, ca })
    }
}

impl ControlPlane for LocalControlPlane {
    fn view(&self) -> Result<View, Unavailable> {
        let ring = self.state.keys.ring();
        Ok(View {
            catalog: self.state.catalog.get(),
            signer: ring.signer(Alg::ES256).cloned(),
            keys: Arc::clone(&*ring) as Arc<dyn JwsVerify>,
            issuer: Arc::clone(&self.issuer),
            ca: self.ca.clone(),
        })
    }

    fn now(&self) -> UnixTime {
        self.state.now()
    }

    fn can_sign(&self) -> bool {
        true
    }
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}
