//! The in-memory read model of clients, APIs, subscriptions and revocations.
//!
//! The token path reads only this snapshot (a pointer load), never the database. Every write
//! through the management service is followed by [`CatalogCache::reload`], which swaps in a
//! fresh snapshot atomically; readers in flight keep the one they loaded.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arc_swap::ArcSwap;
use gatehouse_core::{
    Api, ApiId, ApiKey, ApiListing, AppProfile, Client, ClientId, ClientSecret, Plan, PolicyRecord,
    Subscription, UnixTime,
};

use crate::{Store, StoreError};

/// A client with everything the token path needs about it.
#[derive(Debug, Clone)]
pub struct ClientEntry {
    /// The client record.
    pub client: Client,
    /// Its secret digests (expired ones included; check [`ClientSecret::is_valid_at`]).
    pub secrets: Vec<ClientSecret>,
    /// Its subscriptions, by API.
    pub subscriptions: HashMap<ApiId, Subscription>,
    /// Its API keys (revoked and expired ones included; check [`ApiKey::is_valid_at`]).
    pub api_keys: Vec<ApiKey>,
}

/// One consistent snapshot.
#[derive(Debug, Default)]
pub struct Catalog {
    apis: HashMap<ApiId, Arc<Api>>,
    api_by_audience: HashMap<String, ApiId>,
    api_by_name: HashMap<String, ApiId>,
    clients: HashMap<ClientId, Arc<ClientEntry>>,
    revoked: HashMap<String, UnixTime>,
    api_keys: HashMap<[u8; 32], ApiKey>,
    revoked_certificates: HashSet<String>,
    policies: Vec<Arc<PolicyRecord>>,
    policies_by_api: HashMap<ApiId, Vec<Arc<PolicyRecord>>>,
    plans: HashMap<ApiId, Vec<Arc<Plan>>>,
    listings: HashMap<ApiId, Arc<ApiListing>>,
    profiles: HashMap<ClientId, Arc<AppProfile>>,
}

impl Catalog {
    /// Builds a snapshot from full listings.
    pub fn build(
        apis: Vec<Api>,
        clients: Vec<Client>,
        secrets: Vec<ClientSecret>,
        subscriptions: Vec<Subscription>,
        revoked: impl IntoIterator<Item = (String, UnixTime)>,
    ) -> Self {
        let mut cat = Catalog::default();
        for api in apis {
            cat.api_by_audience
                .insert(api.audience.as_str().to_owned(), api.id.clone());
            cat.api_by_name.insert(api.name.clone(), api.id.clone());
            cat.apis.insert(api.id.clone(), Arc::new(api));
        }
        let mut entries: HashMap<ClientId, ClientEntry> = clients
            .into_iter()
            .map(|c| {
                let id = c.id.clone();
                (
                    id,
                    ClientEntry {
                        client: c,
                        secrets: Vec::new(),
                        subscriptions: HashMap::new(),
                        api_keys: Vec::new(),
                    },
                )
            })
            .collect();
        for s in secrets {
            if let Some(e) = entries.get_mut(&s.client_id) {
                e.secrets.push(s);
            }
        }
        for sub in subscriptions {
            if let Some(e) = entries.get_mut(&sub.client_id) {
                e.subscriptions.insert(sub.api_id.clone(), sub);
            }
        }
        cat.clients = entries.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        cat.revoked = revoked.into_iter().collect();
        cat
    }

    /// Adds API keys to a snapshot (keys of unknown clients are ignored).
    pub fn with_api_keys(mut self, keys: Vec<ApiKey>) -> Self {
        for key in keys {
            let Some(entry) = self.clients.get_mut(&key.client_id) else {
                continue;
            };
            Arc::make_mut(entry).api_keys.push(key.clone());
            self.api_keys.insert(key.digest, key);
        }
        self
    }

    /// Adds the serials of revoked, unexpired certificates (lowercase hex) to a snapshot.
    pub fn with_revoked_certificates(mut self, serials: impl IntoIterator<Item = String>) -> Self {
        self.revoked_certificates.extend(serials);
        self
    }

    /// Adds policies to a snapshot: global ones apply to every API, the others to their API
    /// (or one of its operations). Policies of unknown APIs are ignored.
    pub fn with_policies(mut self, policies: Vec<PolicyRecord>) -> Self {
        let mut globals = Vec::new();
        for p in policies {
            let p = Arc::new(p);
            if p.api_id.is_none() {
                globals.push(Arc::clone(&p));
            }
            if let Some(api) = &p.api_id {
                if !self.apis.contains_key(api) {
                    continue;
                }
                self.policies_by_api
                    .entry(api.clone())
                    .or_default()
                    .push(Arc::clone(&p));
            }
            self.policies.push(p);
        }
        if !globals.is_empty() {
            for id in self.apis.keys() {
                let list = self.policies_by_api.entry(id.clone()).or_default();
                list.extend(globals.iter().cloned());
            }
        }
        // Global first, then the API's own, then its operations' (a stable sort).
        for list in self.policies_by_api.values_mut() {
            list.sort_by_key(|p| (p.api_id.is_some(), p.operation.is_some()));
        }
        self
    }

    /// Adds the portal's records: plans, API listings and application profiles (those of
    /// unknown APIs and clients are ignored).
    pub fn with_portal(
        mut self,
        plans: Vec<Plan>,
        listings: Vec<ApiListing>,
        profiles: Vec<AppProfile>,
    ) -> Self {
        for p in plans {
            if self.apis.contains_key(&p.api_id) {
                self.plans
                    .entry(p.api_id.clone())
                    .or_default()
                    .push(Arc::new(p));
            }
        }
        for list in self.plans.values_mut() {
            list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        }
        for l in listings {
            if self.apis.contains_key(&l.api_id) {
                self.listings.insert(l.api_id.clone(), Arc::new(l));
            }
        }
        for p in profiles {
            if self.clients.contains_key(&p.client_id) {
                self.profiles.insert(p.client_id.clone(), Arc::new(p));
            }
        }
        self
    }

    /// The plans of an API, oldest first.
    pub fn plans_for(&self, api: &ApiId) -> &[Arc<Plan>] {
        self.plans.get(api).map_or(&[], Vec::as_slice)
    }

    /// Every plan, by API.
    pub fn all_plans(&self) -> impl Iterator<Item = &Arc<Plan>> {
        self.plans.values().flatten()
    }

    /// The plan named `name` of an API.
    pub fn plan(&self, api: &ApiId, name: &str) -> Option<&Arc<Plan>> {
        self.plans_for(api).iter().find(|p| p.name == name)
    }

    /// An API's catalog listing, if one was written.
    pub fn listing(&self, api: &ApiId) -> Option<&Arc<ApiListing>> {
        self.listings.get(api)
    }

    /// An application's profile (owner, description, contact), if one was written.
    pub fn profile(&self, client: &ClientId) -> Option<&Arc<AppProfile>> {
        self.profiles.get(client)
    }

    /// Every policy that may apply to the API `api` (global, API-wide and per-operation, in
    /// that order); check [`PolicyRecord::applies_to`] for the operation.
    pub fn policies_for(&self, api: &ApiId) -> &[Arc<PolicyRecord>] {
        self.policies_by_api.get(api).map_or(&[], Vec::as_slice)
    }

    /// Every policy.
    pub fn policies(&self) -> &[Arc<PolicyRecord>] {
        &self.policies
    }

    /// Whether the certificate with this serial (lowercase hex) is deny-listed.
    pub fn certificate_revoked(&self, serial: &str) -> bool {
        self.revoked_certificates.contains(serial)
    }

    /// Serials of the deny-listed certificates.
    pub fn revoked_certificates(&self) -> impl Iterator<Item = &String> {
        self.revoked_certificates.iter()
    }

    /// The API key with this SHA-256 digest and its application, whether or not it is still
    /// valid (check [`ApiKey::is_valid_at`]).
    pub fn api_key(&self, digest: &[u8; 32]) -> Option<(&ApiKey, &Arc<ClientEntry>)> {
        let key = self.api_keys.get(digest)?;
        Some((key, self.clients.get(&key.client_id)?))
    }

    /// Loads a snapshot from the store.
    pub async fn load(store: &dyn Store, now: UnixTime) -> Result<Self, StoreError> {
        let apis = store.list_apis().await?;
        let clients = store.list_clients().await?;
        let secrets = store.list_client_secrets().await?;
        let subs = store.list_subscriptions().await?;
        let revoked = store.list_revoked_tokens(now).await?;
        let api_keys = store.list_api_keys().await?;
        let revoked_certs = store.list_revoked_certificates(now).await?;
        let policies = store.list_policies().await?;
        let plans = store.list_plans().await?;
        let listings = store.list_api_listings().await?;
        let profiles = store.list_app_profiles().await?;
        Ok(Self::build(
            apis,
            clients,
            secrets,
            subs,
            revoked.into_iter().map(|r| (r.jti, r.expires_at)),
        )
        .with_api_keys(api_keys)
        .with_revoked_certificates(revoked_certs.into_iter().map(|c| c.serial))
        .with_policies(policies)
        .with_portal(plans, listings, profiles))
    }

    /// A client by id.
    pub fn client(&self, id: &str) -> Option<&Arc<ClientEntry>> {
        self.clients.get(id)
    }

    /// An API by id.
    pub fn api(&self, id: &str) -> Option<&Arc<Api>> {
        self.apis.get(id)
    }

    /// An API by audience URI (exact match).
    pub fn api_by_audience(&self, audience: &str) -> Option<&Arc<Api>> {
        self.api_by_audience
            .get(audience)
            .and_then(|id| self.apis.get(id))
    }

    /// An API by id, name or audience (what the CLI's `--api` accepts).
    pub fn find_api(&self, key: &str) -> Option<&Arc<Api>> {
        self.apis
            .get(key)
            .or_else(|| self.api_by_name.get(key).and_then(|id| self.apis.get(id)))
            .or_else(|| self.api_by_audience(key))
    }

    /// Every API, in no particular order.
    pub fn apis(&self) -> impl Iterator<Item = &Arc<Api>> {
        self.apis.values()
    }

    /// Every client, in no particular order.
    pub fn clients(&self) -> impl Iterator<Item = &Arc<ClientEntry>> {
        self.clients.values()
    }

    /// Whether the token with this `jti` has been revoked.
    pub fn is_revoked(&self, jti: &str) -> bool {
        self.revoked.contains_key(jti)
    }

    /// Revoked `jti`s with their expiry.
    pub fn revoked(&self) -> impl Iterator<Item = (&String, &UnixTime)> {
        self.revoked.iter()
    }
}

/// A shared, atomically swapped [`Catalog`].
#[derive(Debug)]
pub struct CatalogCache {
    current: ArcSwap<Catalog>,
    reload: tokio::sync::Mutex<()>,
}

impl CatalogCache {
    /// Loads the first snapshot.
    pub async fn load(store: &dyn Store, now: UnixTime) -> Result<Self, StoreError> {
        Ok(Self::from_catalog(Catalog::load(store, now).await?))
    }

    /// Wraps an existing snapshot.
    pub fn from_catalog(catalog: Catalog) -> Self {
        Self {
            current: ArcSwap::from_pointee(catalog),
            reload: tokio::sync::Mutex::new(()),
        }
    }

    /// The current snapshot (a pointer load; no lock).
    pub fn get(&self) -> Arc<Catalog> {
        self.current.load_full()
    }

    /// Reloads from the store and swaps the snapshot in. Concurrent reloads are serialized so a
    /// slow older load can never overwrite a newer one.
    pub async fn reload(&self, store: &dyn Store, now: UnixTime) -> Result<(), StoreError> {
        let _guard = self.reload.lock().await;
        let fresh = Catalog::load(store, now).await?;
        self.current.store(Arc::new(fresh));
        Ok(())
    }
}
