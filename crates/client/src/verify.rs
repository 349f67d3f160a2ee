//! Verifying Gatehouse access tokens in a service: signature with a key of the authorization
//! server's JWKS (cached, refreshed every five minutes, refetched once — at most every 30 s — on
//! an unknown `kid`), `typ: at+jwt`, issuer, audience, `exp` and `nbf` against the injected
//! clock. Algorithms are pinned to the keys (never `none`, never HMAC).

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use gatehouse_core::{Clock, SystemClock};
use gatehouse_keys::{JwksVerifier, JwsVerify};
use serde_json::{Map, Value};

/// How often the JWKS is refetched in the background.
const REFRESH_EVERY: Duration = Duration::from_secs(300);
/// Least time between two refetches caused by unknown `kid`s.
const REFETCH_AT_MOST_EVERY_SECS: i64 = 30;
/// Accepted clock difference for `nbf` and `iat` (machines' clocks differ a little).
const LEEWAY_SECS: i64 = 30;

/// Who called, as a verified token says.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The application (`client_id`).
    pub client_id: String,
    /// `sub`.
    pub subject: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Every claim.
    pub claims: Map<String, Value>,
    /// `exp`.
    pub expires_at: i64,
}

impl Principal {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Why a token was refused. Map every variant to `401 invalid_token` (the variants are for
/// logs and tests).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Malformed, badly signed, signed with an unknown key, or not an access token.
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    /// For another audience.
    #[error("token is for another audience")]
    Audience,
    /// Expired or not yet valid.
    #[error("token expired or not yet valid")]
    Time,
    /// The JWKS could not be fetched and none is cached.
    #[error("the authorization server's keys are unavailable: {0}")]
    Unavailable(String),
}

/// Verifies access tokens for one audience.
pub struct Verifier {
    issuer: String,
    audience: String,
    jwks_url: String,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    keys: ArcSwapOption<JwksVerifier>,
    last_fetch: tokio::sync::Mutex<i64>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Tokens from `issuer` (e.g. `https://auth.internal`; keys at
    /// `{issuer}/.well-known/jwks.json`) for `audience`.
    pub fn new(issuer: &str, audience: &str) -> Result<Arc<Self>, VerifyError> {
        Self::with(issuer, audience, None, Arc::new(SystemClock))
    }

    /// [`Verifier::new`] with the JWKS at `jwks_url` (when not under the issuer) and time
    /// from `clock`.
    pub fn with(
        issuer: &str,
        audience: &str,
        jwks_url: Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, VerifyError> {
        let issuer = issuer.trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| VerifyError::Unavailable(e.to_string()))?;
        let me = Arc::new(Self {
            jwks_url: jwks_url.unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json")),
            issuer,
            audience: audience.to_owned(),
            http,
            clock,
            keys: ArcSwapOption::empty(),
            last_fetch: tokio::sync::Mutex::new(i64::MIN),
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            let weak = Arc::downgrade(&me);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(REFRESH_EVERY);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let Some(v) = weak.upgrade() else { return };
                    if let Err(e) = v.fetch_keys().await {
                        tracing::warn!(error = %e, "JWKS refresh failed; keeping the cached keys");
                    }
                }
            });
        }
        Ok(me)
    }

    async fn fetch_keys(&self) -> Result<Arc<JwksVerifier>, VerifyError> {
        let resp = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .map_err(|e| VerifyError::Unavailable(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(VerifyError::Unavailable(format!(
                "JWKS answered {}",
                resp.status()
            )));
        }
        let jwks: Value = resp
            .json()
            .await
            .map_err(|e| VerifyError::Unavailable(e.to_string()))?;
        let keys = Arc::new(
            JwksVerifier::from_jwks(&jwks).map_err(|e| VerifyError::Unavailable(e.to_string()))?,
        );
        self.keys.store(Some(Arc::clone(&keys)));
        Ok(keys)
    }

    /// Refetches the JWKS for an unknown `kid`: one fetch for concurrent callers, at most one
    /// every 30 s (a flood of forged `kid`s cannot hammer the authorization server).
    async fn refetch(&self, seen: Option<&Arc<JwksVerifier>>) -> Option<Arc<JwksVerifier>> {
        let mut last = self.last_fetch.lock().await;
        let current = self.keys.load_full();
        let changed = match (seen, &current) {
            (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
            (None, Some(_)) => true,
            _ => false,
        };
        if changed {
            return current;
        }
        let now = self.clock.now().0;
        if now.saturating_sub(*last) < REFETCH_AT_MOST_EVERY_SECS {
            return current;
        }
        *last = now;
        match self.fetch_keys().await {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::warn!(error = %e, "JWKS fetch failed");
                current
            }
        }
    }

    /// Verifies `token`.
    pub async fn verify(&self, token: &str) -> Result<Principal, VerifyError> {
        let mut keys = self.keys.load_full();
        if keys.is_none() {
            keys = self.refetch(None).await;
        }
        let Some(mut k) = keys else {
            return Err(VerifyError::Unavailable("no keys fetched yet".into()));
        };
        if let Some(kid) = kid_of(token)
            && !k.knows_kid(&kid)
            && let Some(fresh) = self.refetch(Some(&k)).await
        {
            k = fresh;
        }
        let verified = k
            .verify_jws(token)
            .map_err(|_| VerifyError::Invalid("signature"))?;
        if verified.header.typ.as_deref() != Some("at+jwt") {
            return Err(VerifyError::Invalid("not an access token (typ)"));
        }
        let c = verified.claims;
        if c.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(VerifyError::Invalid("issuer"));
        }
        let audience_ok = match c.get("aud") {
            Some(Value::String(a)) => *a == self.audience,
            Some(Value::Array(l)) => l.iter().any(|a| a.as_str() == Some(self.audience.as_str())),
            _ => false,
        };
        if !audience_ok {
            return Err(VerifyError::Audience);
        }
        let now = self.clock.now().0;
        let exp = c
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(VerifyError::Invalid("exp"))?;
        if now >= exp {
            return Err(VerifyError::Time);
        }
        if let Some(nbf) = c.get("nbf").and_then(Value::as_i64)
            && nbf > now + LEEWAY_SECS
        {
            return Err(VerifyError::Time);
        }
        let text = |name: &str| c.get(name).and_then(Value::as_str).map(str::to_owned);
        let client_id = text("client_id").ok_or(VerifyError::Invalid("client_id"))?;
        Ok(Principal {
            subject: text("sub").unwrap_or_else(|| client_id.clone()),
            scopes: text("scope")
                .unwrap_or_default()
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            client_id,
            expires_at: exp,
            claims: c,
        })
    }

    /// The audience this verifier accepts.
    pub fn audience(&self) -> &str {
        &self.audience
    }
}

/// The `kid` of a compact JWS header, if it has one.
fn kid_of(token: &str) -> Option<String> {
    use base64::Engine as _;
    let header = token.split('.').next()?;
    if header.len() > 4096 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("kid")?.as_str().map(str::to_owned)
}
