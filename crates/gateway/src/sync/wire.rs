//! The documents the sync protocol exchanges.

use gatehouse_core::{Api, ApiKey, Client, ClientSecret, Subscription, UnixTime, UsageRecord};
use gatehouse_store::Catalog;
use serde::{Deserialize, Serialize};

/// Version of the snapshot format; a gateway refuses a snapshot of another version.
pub const FORMAT: u32 = 1;

/// Everything a gateway decides with, as of one catalog and key ring.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`FORMAT`].
    pub format: u32,
    /// The issuer tokens must name.
    pub issuer: String,
    /// The published signing keys (JWK Set).
    pub jwks: serde_json::Value,
    /// APIs.
    pub apis: Vec<Api>,
    /// Clients (their `tokens_not_before` is the per-client revocation cut-off).
    pub clients: Vec<Client>,
    /// Client secret digests (for legacy Basic at the gateway).
    pub client_secrets: Vec<ClientSecret>,
    /// Subscriptions.
    pub subscriptions: Vec<Subscription>,
    /// API key digests.
    pub api_keys: Vec<ApiKey>,
    /// Revoked token ids, with the time they would have expired.
    pub revoked: Vec<(String, UnixTime)>,
    /// Serials (lowercase hex) of revoked certificates that have not expired.
    #[serde(default)]
    pub revoked_certificates: Vec<String>,
}

/// A batch of usage records pushed by a gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UsageBatch {
    /// Chosen by the gateway; a batch id already taken is acknowledged and not counted again.
    pub batch_id: String,
    /// The records.
    pub records: Vec<UsageRecord>,
}

// === impl Snapshot ===

impl Snapshot {
    /// The snapshot of `catalog` with `jwks`, in a stable order (so equal data gives equal
    /// bytes, and equal ETags on every replica).
    pub fn of(catalog: &Catalog, issuer: &str, jwks: serde_json::Value) -> Self {
        let mut apis: Vec<Api> = catalog.apis().map(|a| (**a).clone()).collect();
        apis.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        let mut entries: Vec<_> = catalog.clients().collect();
        entries.sort_by(|a, b| a.client.id.as_str().cmp(b.client.id.as_str()));
        let mut clients = Vec::with_capacity(entries.len());
        let mut client_secrets = Vec::new();
        let mut subscriptions = Vec::new();
        let mut api_keys = Vec::new();
        for e in entries {
            clients.push(e.client.clone());
            client_secrets.extend(e.secrets.iter().cloned());
            let mut subs: Vec<_> = e.subscriptions.values().cloned().collect();
            subs.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
            subscriptions.extend(subs);
            api_keys.extend(e.api_keys.iter().cloned());
        }
        let mut revoked: Vec<(String, UnixTime)> =
            catalog.revoked().map(|(j, e)| (j.clone(), *e)).collect();
        revoked.sort();
        let mut revoked_certificates: Vec<String> =
            catalog.revoked_certificates().cloned().collect();
        revoked_certificates.sort();
        Self {
            format: FORMAT,
            issuer: issuer.to_owned(),
            jwks,
            apis,
            clients,
            client_secrets,
            subscriptions,
            api_keys,
            revoked,
            revoked_certificates,
        }
    }

    /// The catalog this snapshot describes.
    pub fn into_catalog(self) -> Catalog {
        Catalog::build(
            self.apis,
            self.clients,
            self.client_secrets,
            self.subscriptions,
            self.revoked,
        )
        .with_api_keys(self.api_keys)
        .with_revoked_certificates(self.revoked_certificates)
    }
}
