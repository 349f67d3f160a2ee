//! The key service: keeps the stored key ring in line with the rotation plan and serves the
//! current [`KeyRing`] snapshot to the token path (a pointer load per request).

use std::sync::Arc;

use arc_swap::ArcSwap;
use gatehouse_core::{Alg, Clock, KeyState, Kid};
use gatehouse_keys::rotation::{self, KeyAction, RotationPolicy};
use gatehouse_keys::{KeyRing, MasterKey, new_key_record};
use gatehouse_store::{Store, StoreError};

/// Key management failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyServiceError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Key material could not be generated, decrypted or parsed (wrong master key?).
    #[error("key material: {0}")]
    Keys(#[from] gatehouse_keys::KeyError),
    /// No such key.
    #[error("no key with id {0}")]
    UnknownKey(String),
}

/// Owner of the signing keys.
#[derive(Debug)]
pub struct KeyService {
    store: Arc<dyn Store>,
    master: MasterKey,
    clock: Arc<dyn Clock>,
    policy: RotationPolicy,
    ring: ArcSwap<KeyRing>,
    changes: tokio::sync::Mutex<()>,
}

impl KeyService {
    /// Loads the keys, creating and rotating as the plan says for `algs`.
    pub async fn start(
        store: Arc<dyn Store>,
        master: MasterKey,
        clock: Arc<dyn Clock>,
        policy: RotationPolicy,
        algs: &[Alg],
    ) -> Result<Self, KeyServiceError> {
        let ring = KeyRing::from_records(&[], &master, clock.now())?;
        let svc = Self {
            store,
            master,
            clock,
            policy,
            ring: ArcSwap::from_pointee(ring),
            changes: tokio::sync::Mutex::new(()),
        };
        svc.reconcile(algs).await?;
        Ok(svc)
    }

    /// The current ring (cheap; no lock).
    pub fn ring(&self) -> arc_swap::Guard<Arc<KeyRing>> {
        self.ring.load()
    }

    /// Applies the rotation plan for `algs` (scheduled rotation, creation of missing keys),
    /// purges keys past their publication, and reloads the ring.
    pub async fn reconcile(&self, algs: &[Alg]) -> Result<(), KeyServiceError> {
        let _guard = self.changes.lock().await;
        let now = self.clock.now();
        let records = self.store.list_keys().await?;
        let actions = rotation::plan(&records, algs, now, &self.policy);
        self.apply(actions).await?;
        self.store.purge_keys(now).await?;
        self.reload().await
    }

    /// Rotates `alg` now: the next key (already published) starts signing.
    pub async fn rotate(&self, alg: Alg) -> Result<(), KeyServiceError> {
        let _guard = self.changes.lock().await;
        let now = self.clock.now();
        let records = self.store.list_keys().await?;
        let actions = rotation::plan_forced(&records, alg, now, &self.policy);
        self.apply(actions).await?;
        self.reload().await
    }

    /// Emergency revocation: the key leaves JWKS at once and its tokens stop verifying. If it
    /// was signing, the next key takes over immediately.
    pub async fn revoke(&self, kid: &Kid, algs: &[Alg]) -> Result<(), KeyServiceError> {
        {
            let _guard = self.changes.lock().await;
            let now = self.clock.now();
            let records = self.store.list_keys().await?;
            let rec = records
                .iter()
                .find(|r| &r.kid == kid)
                .ok_or_else(|| KeyServiceError::UnknownKey(kid.to_string()))?;
            if rec.state != KeyState::Revoked {
                self.store
                    .transition_key(kid, rec.state, KeyState::Revoked, now, Some(now))
                    .await?;
            }
        }
        self.reconcile(algs).await
    }

    async fn apply(&self, actions: Vec<KeyAction>) -> Result<(), KeyServiceError> {
        let now = self.clock.now();
        for action in actions {
            match action {
                KeyAction::Create { alg, state } => {
                    let (record, _) = new_key_record(alg, state, now, &self.master)?;
                    self.store.insert_key(&record).await?;
                    tracing::info!(kid = %record.kid, %alg, state = state.as_str(), "signing key created");
                }
                KeyAction::Activate { kid } => {
                    if self
                        .store
                        .transition_key(&kid, KeyState::Next, KeyState::Active, now, None)
                        .await?
                    {
                        tracing::info!(%kid, "signing key activated");
                    }
                }
                KeyAction::Retire { kid, publish_until } => {
                    if self
                        .store
                        .transition_key(
                            &kid,
                            KeyState::Active,
                            KeyState::Retired,
                            now,
                            Some(publish_until),
                        )
                        .await?
                    {
                        tracing::info!(%kid, %publish_until, "signing key retired");
                    }
                }
            }
        }
        Ok(())
    }

    async fn reload(&self) -> Result<(), KeyServiceError> {
        let records = self.store.list_keys().await?;
        let ring = KeyRing::from_records(&records, &self.master, self.clock.now())?;
        self.ring.store(Arc::new(ring));
        Ok(())
    }
}
