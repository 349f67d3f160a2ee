//! Shared state of the authorization server.

use std::sync::Arc;

use gatehouse_core::{Clock, UnixTime};
use gatehouse_store::{CatalogCache, Store, StoreError};

use crate::admin_auth::AdminTokens;
use crate::assertion::JwksFetcher;
use crate::certs::CertificateService;
use crate::config::OAuthConfig;
use crate::keyservice::KeyService;
use crate::lockout::Lockout;
use crate::metrics::OAuthMetrics;
use crate::replay::ReplayCache;

/// Everything the OAuth handlers need, shared behind an `Arc`.
#[derive(Debug)]
pub struct OAuthState {
    /// Settings.
    pub config: OAuthConfig,
    /// The store (never touched by the token path when warm).
    pub store: Arc<dyn Store>,
    /// In-memory clients, APIs, subscriptions, revocations.
    pub catalog: Arc<CatalogCache>,
    /// Signing keys.
    pub keys: Arc<KeyService>,
    /// Admin token digests (admins may introspect any token).
    pub admin_tokens: Arc<AdminTokens>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// `private_key_jwt` replay cache.
    pub replay: ReplayCache,
    /// Failed-authentication counters.
    pub lockout: Lockout,
    /// Cache of clients' `jwks_uri` documents.
    pub jwks_fetcher: JwksFetcher,
    /// Metrics.
    pub metrics: OAuthMetrics,
    /// The certificate authority (`None` when disabled).
    pub ca: Option<Arc<CertificateService>>,
    /// Client certificates (RFC 8705) at the OAuth endpoints.
    pub mtls: MtlsClientAuth,
}

/// How the OAuth endpoints treat client certificates.
#[derive(Debug, Clone, Default)]
pub struct MtlsClientAuth {
    /// CAs a `tls_client_auth` certificate must chain to (our own CA, plus any configured).
    /// `None`: `tls_client_auth` is refused.
    pub trusted: Option<gatehouse_ca::ChainVerifier>,
    /// Base URL of the mTLS listener (`https://host:port`), advertised as
    /// `mtls_endpoint_aliases`.
    pub base_url: Option<String>,
}

impl OAuthState {
    /// Current time from the injected clock.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Reloads the catalog after a change.
    pub async fn reload_catalog(&self) -> Result<(), StoreError> {
        self.catalog
            .reload(self.store.as_ref(), self.clock.now())
            .await
    }
}
