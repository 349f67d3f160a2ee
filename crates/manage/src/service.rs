//! The management service: the one place for the business rules of APIs, clients, secrets,
//! grants and keys. The admin routes, the portal (later) and `apply` all call these functions.
//! Every change is audited and followed by a catalog reload, so the token path sees it at once.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::{
    Alg, Api, ApiId, Audience, AuditEvent, AuthMethod, Client, ClientId, ClientSecret, Scope,
    ScopeSet, SecretId, Subscription, SubscriptionId, SubscriptionStatus, UnixTime, parse_duration,
    validate_custom_claims,
};
use gatehouse_keys::secret::{self, SecretKind};
use gatehouse_keys::{check_public_jwks, secret::Secret};
use gatehouse_oauth::OAuthState;
use gatehouse_proto::admin::{
    CreateApi, CreateClient, CreatedClient, GrantRequest, RotatedSecret, TokensRevoked,
};
use gatehouse_store::Catalog;

use crate::ManageError;

mod api_keys;
mod applications;
mod catalog;
mod certificates;
mod people;
mod policies;
mod usage;

pub(crate) use api_keys::api_key_view;
pub use applications::{Decision, MAX_PAGE, SubscriptionFilter};
pub use people::{Actor, SESSION_TTL, StartedSession, csrf_matches, csrf_token};
pub use policies::{Attachment, Caller, POLICY_AUDIENCE, POLICY_SCOPE};
pub use usage::{GroupBy, UsageGroup, UsageOf, UsageReport};

/// Longest accepted API or client name.
const MAX_NAME: usize = 128;
/// Most scopes one API may define.
const MAX_SCOPES: usize = 256;

/// Management operations over the shared authorization-server state.
#[derive(Debug, Clone)]
pub struct ManageService {
    state: Arc<OAuthState>,
}

fn invalid(msg: impl Into<String>) -> ManageError {
    ManageError::Invalid(msg.into())
}

fn check_name(kind: &str, name: &str) -> Result<String, ManageError> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{kind} name must be 1-{MAX_NAME} printable characters"
        )));
    }
    Ok(name.to_owned())
}

/// The signing algorithms that must have keys: ES256 (default) and every API's.
pub fn algs_in_use(catalog: &Catalog) -> Vec<Alg> {
    let mut algs = vec![Alg::ES256];
    for api in catalog.apis() {
        if !algs.contains(&api.alg) {
            algs.push(api.alg);
        }
    }
    algs.sort();
    algs
}

impl ManageService {
    /// A service over `state`.
    pub fn new(state: Arc<OAuthState>) -> Self {
        Self { state }
    }

    /// The shared state.
    pub fn state(&self) -> &Arc<OAuthState> {
        &self.state
    }

    fn now(&self) -> UnixTime {
        self.state.now()
    }

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<(), ManageError> {
        let event = AuditEvent {
            id: 0,
            at: self.now(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            detail,
        };
        self.state.store.append_audit(&event).await?;
        tracing::info!(actor, action, target, "admin change");
        Ok(())
    }

    async fn changed(&self) -> Result<(), ManageError> {
        self.state.reload_catalog().await?;
        Ok(())
    }

    // === APIs ===

    /// Registers an API.
    pub async fn create_api(&self, actor: &str, req: CreateApi) -> Result<Api, ManageError> {
        let cfg = &self.state.config;
        let name = check_name("api", &req.name)?;
        let audience =
            Audience::parse(&req.audience).map_err(|e| invalid(format!("audience: {e}")))?;
        if req.scopes.len() > MAX_SCOPES {
            return Err(invalid(format!(
                "an API may define at most {MAX_SCOPES} scopes"
            )));
        }
        let scopes = req
            .scopes
            .iter()
            .map(|s| Scope::parse(s).map_err(|e| invalid(format!("scope {s:?}: {e}"))))
            .collect::<Result<ScopeSet, _>>()?;
        if let Some(bad) = scopes.iter().find(|s| s.as_str().ends_with("/.default")) {
            return Err(invalid(format!(
                "scope {bad} is reserved: '/.default' means all granted scopes"
            )));
        }
        let ttl = match &req.token_ttl {
            Some(t) => parse_duration(t).map_err(|e| invalid(format!("token_ttl: {e}")))?,
            None => cfg.default_token_ttl,
        };
        if ttl < Duration::from_secs(10) || ttl > cfg.max_token_ttl {
            return Err(invalid(format!(
                "token_ttl must be between 10s and {}",
                humanize(cfg.max_token_ttl)
            )));
        }
        let alg = match &req.alg {
            Some(a) => a.parse::<Alg>().map_err(|e| invalid(e.to_string()))?,
            None => Alg::ES256,
        };
        validate_custom_claims(&req.claims).map_err(|e| invalid(format!("claims: {e}")))?;
        for key in &req.copy_metadata {
            if key.is_empty() || gatehouse_core::REGISTERED_CLAIMS.contains(&key.as_str()) {
                return Err(invalid(format!(
                    "copy_metadata: {key:?} cannot be used as a claim name"
                )));
            }
        }
        let catalog = self.state.catalog.get();
        if catalog.find_api(&name).is_some_and(|a| a.name == name) {
            return Err(ManageError::Conflict(format!(
                "an API named '{name}' already exists"
            )));
        }
        if catalog.api_by_audience(audience.as_str()).is_some() {
            return Err(ManageError::Conflict(format!(
                "an API with audience '{audience}' already exists"
            )));
        }
        let api = Api {
            id: new_id::<ApiId>("api_")?,
            name,
            audience,
            scopes,
            token_ttl_secs: ttl.as_secs(),
            alg,
            claims: req.claims,
            copy_metadata: req.copy_metadata,
            resource_servers: self.resolve_clients(&req.resource_servers)?,
            owners: Vec::new(),
            created_at: self.now(),
        };
        self.state.store.create_api(&api).await?;
        self.audit(
            actor,
            "api.create",
            api.id.as_str(),
            serde_json::json!({"name": api.name, "audience": api.audience}),
        )
        .await?;
        self.changed().await?;
        let algs = algs_in_use(&self.state.catalog.get());
        self.state.keys.reconcile(&algs).await?;
        Ok(api)
    }

    /// Finds an API by id, name or audience.
    pub fn find_api(&self, key: &str) -> Result<Arc<Api>, ManageError> {
        self.state
            .catalog
            .get()
            .find_api(key)
            .cloned()
            .ok_or_else(|| ManageError::NotFound(format!("api '{key}'")))
    }

    /// Every API, oldest first.
    pub fn list_apis(&self) -> Vec<Api> {
        let mut apis: Vec<Api> = self
            .state
            .catalog
            .get()
            .apis()
            .map(|a| (**a).clone())
            .collect();
        apis.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        apis
    }

    /// Client ids that must all exist.
    fn resolve_clients(&self, ids: &[String]) -> Result<Vec<ClientId>, ManageError> {
        let catalog = self.state.catalog.get();
        let mut out: Vec<ClientId> = Vec::new();
        for id in ids {
            let entry = catalog
                .client(id)
                .ok_or_else(|| invalid(format!("resource server client '{id}' does not exist")))?;
            if !out.contains(&entry.client.id) {
                out.push(entry.client.id.clone());
            }
        }
        Ok(out)
    }

    /// Replaces the clients acting as the API's resource server.
    pub async fn set_resource_servers(
        &self,
        actor: &str,
        key: &str,
        clients: &[String],
    ) -> Result<Api, ManageError> {
        let mut api = (*self.find_api(key)?).clone();
        api.resource_servers = self.resolve_clients(clients)?;
        self.state.store.update_api(&api).await?;
        self.audit(
            actor,
            "api.set_resource_servers",
            api.id.as_str(),
            serde_json::json!({ "clients": api.resource_servers }),
        )
        .await?;
        self.changed().await?;
        Ok(api)
    }

    /// Deletes an API and its grants.
    pub async fn delete_api(&self, actor: &str, key: &str) -> Result<(), ManageError> {
        let api = self.find_api(key)?;
        self.state.store.delete_api(&api.id).await?;
        self.audit(
            actor,
            "api.delete",
            api.id.as_str(),
            serde_json::json!({"name": api.name}),
        )
        .await?;
        self.changed().await
    }

    // === Clients ===

    /// Registers a client; returns its secret once (secret methods).
    pub async fn create_client(
        &self,
        actor: &str,
        req: CreateClient,
    ) -> Result<CreatedClient, ManageError> {
        let name = check_name("client", &req.name)?;
        let auth_method = match &req.auth_method {
            Some(m) => m
                .parse::<AuthMethod>()
                .map_err(|e| invalid(e.to_string()))?,
            None => AuthMethod::ClientSecretBasic,
        };
        validate_custom_claims(&req.claims).map_err(|e| invalid(format!("claims: {e}")))?;
        if serde_json::to_vec(&req.metadata)
            .map(|v| v.len())
            .unwrap_or(usize::MAX)
            > gatehouse_core::MAX_CUSTOM_CLAIMS_BYTES
        {
            return Err(invalid("metadata exceeds 4096 bytes"));
        }
        match auth_method {
            AuthMethod::PrivateKeyJwt => match (&req.jwks, &req.jwks_uri) {
                (Some(jwks), None) => {
                    check_public_jwks(jwks).map_err(|e| invalid(format!("jwks: {e}")))?
                }
                (None, Some(uri)) => check_jwks_uri(uri)?,
                _ => {
                    return Err(invalid(
                        "private_key_jwt needs exactly one of jwks or jwks_uri",
                    ));
                }
            },
            _ if req.jwks.is_some() || req.jwks_uri.is_some() => {
                return Err(invalid("jwks and jwks_uri apply only to private_key_jwt"));
            }
            _ => {}
        }
        let tls = certificates::check_tls(auth_method, req.tls, &req.certificates)?;
        let dns_names = certificates::check_dns_names(&req.dns_names)?;
        let now = self.now();
        let client = Client {
            id: new_id::<ClientId>("app_")?,
            name,
            auth_method,
            jwks: req.jwks,
            jwks_uri: req.jwks_uri,
            metadata: req.metadata,
            claims: req.claims,
            tokens_not_before: None,
            tls,
            dns_names,
            created_at: now,
        };
        self.state.store.create_client(&client).await?;
        let client_secret = if auth_method.uses_secret() {
            let s = secret::generate(SecretKind::ClientSecret);
            self.store_secret(&client.id, &s, now).await?;
            Some(s.expose().to_owned())
        } else {
            None
        };
        self.audit(
            actor,
            "client.create",
            client.id.as_str(),
            serde_json::json!({"name": client.name, "auth_method": auth_method}),
        )
        .await?;
        self.changed().await?;
        Ok(CreatedClient {
            client_id: client.id.to_string(),
            client_secret,
            client,
        })
    }

    async fn store_secret(
        &self,
        client: &ClientId,
        s: &Secret,
        now: UnixTime,
    ) -> Result<SecretId, ManageError> {
        let record = ClientSecret {
            id: new_id::<SecretId>("cs_")?,
            client_id: client.clone(),
            digest: secret::digest(s.expose()),
            created_at: now,
            expires_at: None,
        };
        self.state.store.add_client_secret(&record).await?;
        Ok(record.id)
    }

    /// A client by id.
    pub fn get_client(&self, id: &str) -> Result<Arc<gatehouse_store::ClientEntry>, ManageError> {
        self.state
            .catalog
            .get()
            .client(id)
            .cloned()
            .ok_or_else(|| ManageError::NotFound(format!("client '{id}'")))
    }

    /// Every client, oldest first.
    pub fn list_clients(&self) -> Vec<Client> {
        let mut clients: Vec<Client> = self
            .state
            .catalog
            .get()
            .clients()
            .map(|c| c.client.clone())
            .collect();
        clients.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        clients
    }

    /// Deletes a client with its secrets and grants; its tokens stop introspecting as active.
    pub async fn delete_client(&self, actor: &str, id: &str) -> Result<(), ManageError> {
        let entry = self.get_client(id)?;
        self.state.store.delete_client(&entry.client.id).await?;
        self.audit(
            actor,
            "client.delete",
            id,
            serde_json::json!({"name": entry.client.name}),
        )
        .await?;
        self.changed().await
    }

    /// Issues a new secret; existing ones stay valid for `grace`.
    pub async fn rotate_secret(
        &self,
        actor: &str,
        id: &str,
        grace: Option<&str>,
    ) -> Result<RotatedSecret, ManageError> {
        let entry = self.get_client(id)?;
        if !entry.client.auth_method.uses_secret() {
            return Err(invalid("client does not authenticate with a secret"));
        }
        let grace = match grace {
            Some(g) => parse_duration(g).map_err(|e| invalid(format!("grace: {e}")))?,
            None => Duration::ZERO,
        };
        if grace > Duration::from_secs(90 * 86400) {
            return Err(invalid("grace must be at most 90d"));
        }
        let now = self.now();
        let s = secret::generate(SecretKind::ClientSecret);
        let keep = self.store_secret(&entry.client.id, &s, now).await?;
        let until = now.plus(grace);
        self.state
            .store
            .expire_client_secrets(&entry.client.id, &keep, until)
            .await?;
        self.audit(
            actor,
            "client.rotate_secret",
            id,
            serde_json::json!({"grace_secs": grace.as_secs()}),
        )
        .await?;
        self.changed().await?;
        Ok(RotatedSecret {
            client_id: id.to_owned(),
            client_secret: s.expose().to_owned(),
            previous_valid_until: until.0,
        })
    }

    /// Invalidates every token issued to the client so far.
    pub async fn revoke_tokens(&self, actor: &str, id: &str) -> Result<TokensRevoked, ManageError> {
        let entry = self.get_client(id)?;
        let mut client = entry.client.clone();
        // Tokens carry whole-second `iat`s: a cutoff one second ahead covers every token issued
        // in the current second too; new tokens are dated at the cutoff (see grant::mint).
        let cutoff = UnixTime(self.now().0 + 1);
        client.tokens_not_before = Some(cutoff);
        self.state.store.update_client(&client).await?;
        self.audit(
            actor,
            "client.revoke_tokens",
            id,
            serde_json::json!({"not_before": cutoff}),
        )
        .await?;
        self.changed().await?;
        Ok(TokensRevoked {
            client_id: id.to_owned(),
            tokens_not_before: cutoff.0,
        })
    }

    // === Grants ===

    /// Writes an approved subscription with exactly `scopes` (replacing a previous set).
    pub async fn grant(&self, actor: &str, req: GrantRequest) -> Result<Subscription, ManageError> {
        let entry = self.get_client(&req.client_id)?;
        let api = self.find_api(&req.api)?;
        let mut scopes = ScopeSet::default();
        for s in &req.scopes {
            let scope = Scope::parse(s).map_err(|e| invalid(format!("scope {s:?}: {e}")))?;
            if !api.scopes.contains(&scope) {
                return Err(invalid(format!(
                    "API '{}' does not define scope '{scope}'",
                    api.name
                )));
            }
            scopes.insert(scope);
        }
        let now = self.now();
        let sub = Subscription {
            id: new_id::<SubscriptionId>("sub_")?,
            client_id: entry.client.id.clone(),
            api_id: api.id.clone(),
            plan: "default".into(),
            scopes,
            status: SubscriptionStatus::Approved,
            created_at: now,
            updated_at: now,
        };
        let stored = self.state.store.upsert_subscription(&sub).await?;
        self.audit(actor, "grant.set", stored.id.as_str(), serde_json::json!({"client": entry.client.id, "api": api.id, "scopes": stored.scopes.to_space_separated()})).await?;
        self.changed().await?;
        Ok(stored)
    }

    /// Subscriptions, optionally filtered by client and API.
    pub fn list_grants(
        &self,
        client: Option<&str>,
        api: Option<&str>,
    ) -> Result<Vec<Subscription>, ManageError> {
        let api_id = api
            .map(|a| self.find_api(a).map(|a| a.id.clone()))
            .transpose()?;
        let catalog = self.state.catalog.get();
        let mut out: Vec<Subscription> = catalog
            .clients()
            .filter(|c| client.is_none_or(|id| c.client.id.as_str() == id))
            .flat_map(|c| c.subscriptions.values().cloned())
            .filter(|s| api_id.as_ref().is_none_or(|a| &s.api_id == a))
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    /// Removes the grant of `client` on `api`.
    pub async fn revoke_grant(
        &self,
        actor: &str,
        client: &str,
        api: &str,
    ) -> Result<(), ManageError> {
        let entry = self.get_client(client)?;
        let api = self.find_api(api)?;
        if !entry.subscriptions.contains_key(&api.id) {
            return Err(ManageError::NotFound(format!(
                "grant of '{client}' on '{}'",
                api.name
            )));
        }
        self.state
            .store
            .delete_subscription(&entry.client.id, &api.id)
            .await?;
        self.audit(
            actor,
            "grant.revoke",
            client,
            serde_json::json!({"api": api.id}),
        )
        .await?;
        self.changed().await
    }

    // === Keys ===

    /// Rotates one algorithm, or every algorithm in use.
    pub async fn rotate_keys(&self, actor: &str, alg: Option<&str>) -> Result<(), ManageError> {
        let algs = match alg {
            Some(a) => vec![a.parse::<Alg>().map_err(|e| invalid(e.to_string()))?],
            None => algs_in_use(&self.state.catalog.get()),
        };
        for alg in &algs {
            self.state.keys.rotate(*alg).await?;
        }
        let names: Vec<&str> = algs.iter().map(|a| a.as_str()).collect();
        self.audit(
            actor,
            "keys.rotate",
            &names.join(","),
            serde_json::Value::Null,
        )
        .await
    }

    /// Emergency-revokes a key.
    pub async fn revoke_key(&self, actor: &str, kid: &str) -> Result<(), ManageError> {
        let kid = gatehouse_core::Kid::parse(kid).map_err(|e| invalid(e.to_string()))?;
        let algs = algs_in_use(&self.state.catalog.get());
        self.state.keys.revoke(&kid, &algs).await?;
        self.audit(actor, "keys.revoke", kid.as_str(), serde_json::Value::Null)
            .await
    }

    // === Admin token ===

    /// Replaces the admin token; returns the new one (shown once).
    pub async fn rotate_admin_token(&self, actor: &str) -> Result<Secret, ManageError> {
        let token = secret::generate(SecretKind::AdminToken);
        let digest = secret::digest(token.expose());
        self.state
            .store
            .replace_admin_token(&digest, self.now())
            .await?;
        self.state.admin_tokens.replace(vec![digest]);
        self.audit(
            actor,
            "admin_token.rotate",
            "admin-token",
            serde_json::Value::Null,
        )
        .await?;
        Ok(token)
    }
}

fn new_id<T: std::str::FromStr>(prefix: &str) -> Result<T, ManageError> {
    secret::random_id(prefix)
        .parse::<T>()
        .map_err(|_| ManageError::Internal("generated id did not parse".into()))
}

fn check_jwks_uri(uri: &str) -> Result<(), ManageError> {
    let url = url_host(uri).ok_or_else(|| invalid("jwks_uri must be an absolute https URL"))?;
    let (scheme, host) = url;
    let loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
    if scheme == "https" || (scheme == "http" && loopback) {
        Ok(())
    } else {
        Err(invalid(
            "jwks_uri must use https (plain http only for loopback)",
        ))
    }
}

fn url_host(uri: &str) -> Option<(String, String)> {
    let (scheme, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| format!("{h}]"))?
    } else {
        host.split(':').next()?.to_owned()
    };
    (!host.is_empty()).then(|| (scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

fn humanize(d: Duration) -> String {
    humantime_like(d.as_secs())
}

fn humantime_like(secs: u64) -> String {
    if secs.is_multiple_of(86400) {
        format!("{}d", secs / 86400)
    } else if secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}
