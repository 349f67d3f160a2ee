//! Where tokens come from: the authorization server's token endpoint, with the client
//! credentials grant (RFC 6749 §4.4), the audience as an RFC 8707 `resource`, and the agent's
//! own credential (a client secret, sent with HTTP Basic).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use gatehouse_proto::TokenResponse;

/// What a token is for: an audience and, optionally, scopes (sorted, deduplicated).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenKey {
    /// The API's audience URI (the RFC 8707 `resource`).
    pub audience: String,
    /// Scopes asked for; empty means everything the grant allows.
    pub scopes: Vec<String>,
}

impl TokenKey {
    /// A key with its scopes normalised.
    pub fn new(audience: impl Into<String>, scopes: impl IntoIterator<Item = String>) -> Self {
        let mut scopes: Vec<String> = scopes.into_iter().filter(|s| !s.is_empty()).collect();
        scopes.sort();
        scopes.dedup();
        Self {
            audience: audience.into(),
            scopes,
        }
    }
}

/// A token as the authorization server issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The access token.
    pub access_token: std::sync::Arc<str>,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// When it was obtained (Unix seconds, the agent's clock).
    pub issued_at: i64,
    /// When it expires (Unix seconds, the agent's clock).
    pub expires_at: i64,
}

/// Why no token could be obtained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The authorization server refused this audience or these scopes for the workload
    /// (`invalid_target`, `invalid_scope`, `unauthorized_client`): it is not entitled.
    #[error("not entitled: {0}")]
    NotEntitled(String),
    /// The authorization server refused the agent's own credential (`invalid_client`).
    #[error("the agent's credential was refused by the authorization server")]
    Credential,
    /// The authorization server could not be reached or failed.
    #[error("the authorization server is unavailable: {0}")]
    Unavailable(String),
}

/// The boxed future of a fetch.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Fetched, FetchError>> + Send + 'a>>;

/// Something that obtains tokens (the authorization server; a counting fake in unit tests).
pub trait Fetch: Send + Sync + std::fmt::Debug + 'static {
    /// Obtains a fresh token for `key`, stamped with the agent's time `now`.
    fn fetch<'a>(&'a self, key: &'a TokenKey, now: i64) -> FetchFuture<'a>;
}

/// How the client authenticates at the token endpoint.
pub enum ClientAuth {
    /// `client_secret_basic`.
    Secret(String),
    /// `private_key_jwt` (RFC 7523): a fresh assertion signed with this key per request.
    PrivateKey(Box<gatehouse_keys::SigningKey>),
    /// `tls_client_auth` (RFC 8705): the client certificate presented at the TLS handshake.
    Certificate(std::sync::Arc<dyn ClientIdentity>),
}

/// A client certificate that may change (renewal): its serial, its key and chain as one PEM,
/// and the CA bundle to trust the server with.
pub trait ClientIdentity: Send + Sync + std::fmt::Debug {
    /// `(serial, key and chain PEM, CA bundle PEM)`, when a certificate is held.
    fn current_identity(&self) -> Option<(String, String, String)>;
}

/// A reqwest client presenting `identity` and trusting `bundle` (besides the usual roots).
pub fn mtls_client(
    identity_pem: &str,
    bundle: &str,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    let identity =
        reqwest::Identity::from_pem(identity_pem.as_bytes()).map_err(|e| e.to_string())?;
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .identity(identity);
    for root in
        reqwest::Certificate::from_pem_bundle(bundle.as_bytes()).map_err(|e| e.to_string())?
    {
        b = b.add_root_certificate(root);
    }
    b.build().map_err(|e| e.to_string())
}

/// The authorization server's token endpoint, with the client's credential.
pub struct TokenEndpoint {
    http: reqwest::Client,
    url: String,
    client_id: String,
    auth: ClientAuth,
    /// For [`ClientAuth::Certificate`]: the client for the current certificate, by serial.
    mtls: parking_lot::Mutex<Option<(String, reqwest::Client)>>,
}

impl std::fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Longest token response read.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

impl TokenEndpoint {
    /// The token endpoint at `url`, authenticating as `client_id` with `secret`.
    pub fn new(url: String, client_id: String, secret: String) -> Result<Self, FetchError> {
        Self::with_auth(url, client_id, ClientAuth::Secret(secret))
    }

    /// The token endpoint at `url`, authenticating as `client_id` with `auth`.
    pub fn with_auth(url: String, client_id: String, auth: ClientAuth) -> Result<Self, FetchError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| FetchError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            url,
            client_id,
            auth,
            mtls: parking_lot::Mutex::new(None),
        })
    }

    fn http_for(&self) -> Result<reqwest::Client, FetchError> {
        let ClientAuth::Certificate(identity) = &self.auth else {
            return Ok(self.http.clone());
        };
        let (serial, pem, bundle) = identity
            .current_identity()
            .ok_or_else(|| FetchError::Unavailable("no client certificate yet".into()))?;
        let mut slot = self.mtls.lock();
        if let Some((s, c)) = slot.as_ref()
            && *s == serial
        {
            return Ok(c.clone());
        }
        let client = mtls_client(&pem, &bundle, Duration::from_secs(15))
            .map_err(|e| FetchError::Unavailable(format!("client certificate: {e}")))?;
        *slot = Some((serial, client.clone()));
        Ok(client)
    }

    /// A client assertion for `private_key_jwt`: iss = sub = the client, aud = the token
    /// endpoint, one minute of validity, a fresh `jti`.
    fn assertion(&self, key: &gatehouse_keys::SigningKey, now: i64) -> Result<String, FetchError> {
        let claims = serde_json::json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.url,
            "iat": now,
            "exp": now + 60,
            "jti": gatehouse_keys::secret::random_id(""),
        });
        key.sign_jwt("JWT", claims.to_string().as_bytes())
            .map_err(|e| FetchError::Unavailable(format!("signing the client assertion: {e}")))
    }
}

fn unavailable(e: impl std::fmt::Display) -> FetchError {
    FetchError::Unavailable(e.to_string())
}

impl Fetch for TokenEndpoint {
    fn fetch<'a>(&'a self, key: &'a TokenKey, now: i64) -> FetchFuture<'a> {
        Box::pin(async move {
            let mut form = vec![
                ("grant_type", "client_credentials".to_owned()),
                ("resource", key.audience.clone()),
            ];
            if !key.scopes.is_empty() {
                form.push(("scope", key.scopes.join(" ")));
            }
            let mut req = self.http_for()?.post(&self.url);
            match &self.auth {
                ClientAuth::Certificate(_) => {
                    form.push(("client_id", self.client_id.clone()));
                }
                ClientAuth::Secret(secret) => {
                    req = req.basic_auth(&self.client_id, Some(secret));
                }
                ClientAuth::PrivateKey(key) => {
                    form.push((
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                    ));
                    form.push(("client_assertion", self.assertion(key, now)?));
                    form.push(("client_id", self.client_id.clone()));
                }
            }
            let resp = req.form(&form).send().await.map_err(unavailable)?;
            let status = resp.status();
            let body = resp.bytes().await.map_err(unavailable)?;
            if body.len() > MAX_RESPONSE_BYTES {
                return Err(unavailable("token response too large"));
            }
            if status.is_success() {
                let t: TokenResponse = serde_json::from_slice(&body)
                    .map_err(|e| unavailable(format!("token response: {e}")))?;
                let lifetime = i64::try_from(t.expires_in).unwrap_or(i64::MAX);
                return Ok(Fetched {
                    access_token: t.access_token.into(),
                    scope: t.scope,
                    issued_at: now,
                    expires_at: now.saturating_add(lifetime),
                });
            }
            let err: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let code = err.get("error").and_then(|e| e.as_str()).unwrap_or("");
            let description = err
                .get("error_description")
                .and_then(|e| e.as_str())
                .unwrap_or(code);
            match code {
                "invalid_target" | "invalid_scope" | "unauthorized_client" | "invalid_request" => {
                    Err(FetchError::NotEntitled(
                        description.chars().take(300).collect(),
                    ))
                }
                "invalid_client" => Err(FetchError::Credential),
                _ => Err(unavailable(format!("token endpoint answered {status}"))),
            }
        })
    }
}

/// The local `gatehouse agent`'s native endpoint (`GET /v1/token`).
pub struct AgentEndpoint {
    http: reqwest::Client,
    base: String,
    secret: String,
}

impl std::fmt::Debug for AgentEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentEndpoint")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl AgentEndpoint {
    /// The agent at `base` (e.g. `http://127.0.0.1:7071`) with its `IDENTITY_HEADER` secret.
    pub fn new(base: String, secret: String) -> Result<Self, FetchError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| FetchError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            secret,
        })
    }
}

impl Fetch for AgentEndpoint {
    fn fetch<'a>(&'a self, key: &'a TokenKey, now: i64) -> FetchFuture<'a> {
        Box::pin(async move {
            let mut query = vec![("audience", key.audience.clone())];
            if !key.scopes.is_empty() {
                query.push(("scope", key.scopes.join(" ")));
            }
            let resp = self
                .http
                .get(format!("{}/v1/token", self.base))
                .header("x-identity-header", &self.secret)
                .query(&query)
                .send()
                .await
                .map_err(unavailable)?;
            let status = resp.status();
            let body = resp.bytes().await.map_err(unavailable)?;
            if body.len() > MAX_RESPONSE_BYTES {
                return Err(unavailable("agent response too large"));
            }
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            if status.is_success() {
                let token = v
                    .get("access_token")
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| unavailable("agent answer without access_token"))?;
                let expires_in = v
                    .get("expires_in")
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(0);
                return Ok(Fetched {
                    access_token: token.into(),
                    scope: v
                        .get("scope")
                        .and_then(|s| s.as_str())
                        .unwrap_or("")
                        .to_owned(),
                    issued_at: now,
                    expires_at: now.saturating_add(expires_in),
                });
            }
            let description = v
                .get("error_description")
                .and_then(|e| e.as_str())
                .unwrap_or("")
                .chars()
                .take(300)
                .collect::<String>();
            match status.as_u16() {
                400 => Err(FetchError::NotEntitled(description)),
                500 => Err(FetchError::Credential),
                _ => Err(unavailable(format!(
                    "agent answered {status}: {description}"
                ))),
            }
        })
    }
}
