//! One cache behind every front door: a token per [`TokenKey`], refreshed in the background
//! before it is due ([`crate::refresh`]), fetched once however many requests wait for it
//! (single flight), and served while still valid when the authorization server is away.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::Clock;
use parking_lot::{Mutex, RwLock};

use crate::refresh::{refresh_at, too_short_for_azure_sdks};
use crate::source::{Fetch, FetchError, Fetched, TokenKey};

/// Most distinct (audience, scopes) pairs held.
pub const MAX_KEYS: usize = 1000;

/// A cached token and when to refresh it.
#[derive(Debug, Clone)]
struct Held {
    token: Fetched,
    refresh_at: i64,
}

/// One key's token and its single-flight lock.
#[derive(Debug, Default)]
struct Slot {
    held: RwLock<Option<Held>>,
    fetching: Arc<tokio::sync::Mutex<()>>,
}

/// Why the cache could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// From the authorization server.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Too many distinct audiences and scope sets.
    #[error("too many distinct audiences and scope sets (at most {MAX_KEYS})")]
    Full,
}

/// The token cache.
#[derive(Debug)]
pub struct TokenCache {
    source: Arc<dyn Fetch>,
    clock: Arc<dyn Clock>,
    slots: Mutex<HashMap<TokenKey, Arc<Slot>>>,
}

impl TokenCache {
    /// A cache fetching from `source`, with time from `clock`.
    pub fn new(source: Arc<dyn Fetch>, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            source,
            clock,
            slots: Mutex::new(HashMap::new()),
        })
    }

    fn slot(&self, key: &TokenKey) -> Result<Arc<Slot>, CacheError> {
        let mut slots = self.slots.lock();
        if let Some(s) = slots.get(key) {
            return Ok(Arc::clone(s));
        }
        if slots.len() >= MAX_KEYS {
            return Err(CacheError::Full);
        }
        let slot = Arc::new(Slot::default());
        slots.insert(key.clone(), Arc::clone(&slot));
        Ok(slot)
    }

    /// A valid token for `key`: the cached one (asking for a background refresh when it is
    /// due), or a fresh one, fetched once for all concurrent callers.
    pub async fn get(self: &Arc<Self>, key: &TokenKey) -> Result<Fetched, CacheError> {
        let slot = self.slot(key)?;
        let now = self.clock.now().0;
        if let Some(held) = slot.held.read().clone()
            && now < held.token.expires_at
        {
            if now >= held.refresh_at {
                self.refresh_in_background(key.clone(), Arc::clone(&slot));
            }
            return Ok(held.token);
        }
        let _flight = slot.fetching.lock().await;
        // Whoever held the lock before us may have fetched it.
        let now = self.clock.now().0;
        if let Some(held) = slot.held.read().clone()
            && now < held.token.expires_at
        {
            return Ok(held.token);
        }
        let token = self.source.fetch(key, now).await?;
        self.store(&slot, key, token.clone());
        Ok(token)
    }

    fn store(&self, slot: &Slot, key: &TokenKey, token: Fetched) {
        let lifetime = token.expires_at - token.issued_at;
        if too_short_for_azure_sdks(lifetime) {
            tracing::warn!(
                audience = %key.audience,
                lifetime_secs = lifetime,
                "token lifetime is 5 minutes or less: Azure SDKs treat such tokens as expired and will ask on every call; lengthen the API's token_ttl"
            );
        }
        let jitter = jitter_permille(&token.access_token);
        *slot.held.write() = Some(Held {
            refresh_at: refresh_at(token.issued_at, token.expires_at, jitter),
            token,
        });
    }

    fn refresh_in_background(self: &Arc<Self>, key: TokenKey, slot: Arc<Slot>) {
        // Already being fetched: nothing to do.
        let Ok(flight) = Arc::clone(&slot.fetching).try_lock_owned() else {
            return;
        };
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let _flight = flight;
            let now = me.clock.now().0;
            match me.source.fetch(&key, now).await {
                Ok(token) => me.store(&slot, &key, token),
                // The current token stays in use until it expires; the next request (or
                // tick) tries again.
                Err(e) => {
                    tracing::warn!(audience = %key.audience, error = %e, "token refresh failed; serving the cached token until it expires");
                }
            }
        });
    }

    /// Refreshes every token that is due; run about once a second.
    pub fn refresh_due(self: &Arc<Self>) {
        let now = self.clock.now().0;
        let due: Vec<(TokenKey, Arc<Slot>)> = self
            .slots
            .lock()
            .iter()
            .filter(|(_, s)| s.held.read().as_ref().is_some_and(|h| now >= h.refresh_at))
            .map(|(k, s)| (k.clone(), Arc::clone(s)))
            .collect();
        for (key, slot) in due {
            self.refresh_in_background(key, slot);
        }
    }

    /// Runs [`TokenCache::refresh_due`] every second until `stop` resolves.
    pub fn spawn_refresher(
        self: &Arc<Self>,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    _ = tick.tick() => me.refresh_due(),
                    () = &mut stop => return,
                }
            }
        });
    }

    /// Now, from the agent's clock (Unix seconds).
    pub fn now(&self) -> i64 {
        self.clock.now().0
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.slots.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A spread of refresh times: derived from the token, so no random source is needed.
fn jitter_permille(token: &str) -> u16 {
    let h = token.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    u16::try_from(h % 1001).unwrap_or(0)
}

#[cfg(test)]
mod tests;
