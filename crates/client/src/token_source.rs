//! [`TokenSource`]: the one object an application keeps to call APIs.

use std::sync::Arc;

use gatehouse_core::{Clock, Env, ProcessEnv, SystemClock};

use crate::cache::{CacheError, TokenCache};
use crate::source::{AgentEndpoint, Fetch, FetchError, TokenEndpoint, TokenKey};

/// Why a token source could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A required environment variable is missing.
    #[error("{0} is not set (start the application with the agent's env file)")]
    MissingEnv(&'static str),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

/// Cached, refreshed access tokens for the APIs an application calls.
#[derive(Debug, Clone)]
pub struct TokenSource {
    cache: Arc<TokenCache>,
}

impl TokenSource {
    /// Tokens from `source`, timed by `clock`.
    pub fn new(source: Arc<dyn Fetch>, clock: Arc<dyn Clock>) -> Self {
        let cache = TokenCache::new(source, clock);
        // The background refresh runs while a Tokio runtime does; without one, tokens are
        // fetched when due on use.
        if tokio::runtime::Handle::try_current().is_ok() {
            let weak = Arc::downgrade(&cache);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    match weak.upgrade() {
                        Some(c) => c.refresh_due(),
                        None => return,
                    }
                }
            });
        }
        Self { cache }
    }

    /// The client credentials grant at `token_endpoint` with a client secret.
    pub fn client_credentials(
        token_endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Self, SourceError> {
        let source = TokenEndpoint::new(
            token_endpoint.into(),
            client_id.into(),
            client_secret.into(),
        )?;
        Ok(Self::new(Arc::new(source), Arc::new(SystemClock)))
    }

    /// The local `gatehouse agent` at `agent_url`, with its `IDENTITY_HEADER` secret.
    pub fn agent(
        agent_url: impl Into<String>,
        identity_header: impl Into<String>,
    ) -> Result<Self, SourceError> {
        let source = AgentEndpoint::new(agent_url.into(), identity_header.into())?;
        Ok(Self::new(Arc::new(source), Arc::new(SystemClock)))
    }

    /// The agent named by `GATEHOUSE_AGENT_URL` and `IDENTITY_HEADER` (its env file).
    pub fn from_agent_env() -> Result<Self, SourceError> {
        Self::from_agent_env_in(&ProcessEnv)
    }

    /// [`TokenSource::from_agent_env`] reading `env`.
    pub fn from_agent_env_in(env: &dyn Env) -> Result<Self, SourceError> {
        let url = env
            .get("GATEHOUSE_AGENT_URL")
            .ok_or(SourceError::MissingEnv("GATEHOUSE_AGENT_URL"))?;
        let secret = env
            .get("IDENTITY_HEADER")
            .ok_or(SourceError::MissingEnv("IDENTITY_HEADER"))?;
        Self::agent(url, secret)
    }

    /// An access token for `audience` (every scope the grant allows).
    pub async fn token(&self, audience: &str) -> Result<Arc<str>, CacheError> {
        self.token_with_scopes(audience, &[]).await
    }

    /// An access token for `audience` limited to `scopes`.
    pub async fn token_with_scopes(
        &self,
        audience: &str,
        scopes: &[&str],
    ) -> Result<Arc<str>, CacheError> {
        let key = TokenKey::new(audience, scopes.iter().map(|s| (*s).to_owned()));
        Ok(self.cache.get(&key).await?.access_token)
    }

    /// `req` with `Authorization: Bearer <a token for audience>`.
    pub async fn authorize(
        &self,
        req: reqwest::RequestBuilder,
        audience: &str,
    ) -> Result<reqwest::RequestBuilder, CacheError> {
        let token = self.token(audience).await?;
        Ok(req.bearer_auth(&*token))
    }

    /// The underlying cache.
    pub fn cache(&self) -> &Arc<TokenCache> {
        &self.cache
    }
}
