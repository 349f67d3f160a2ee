//! Rego policies: attached globally (admins only), to an API or to one of its operations
//! (admins and the API's owners). Every upload is compiled first: a policy that does not
//! compile is refused with the compiler's message and nothing changes. Each change is a new
//! version, audited, and reaches the gateways with the next catalog.

use gatehouse_core::{
    ApiId, ClientId, DecisionRecord, PolicyCaching, PolicyFailure, PolicyId, PolicyRecord, UnixTime,
};
use gatehouse_proto::admin::PutPolicy;

use super::{ManageService, invalid, new_id};
use crate::ManageError;

/// Audience of the tokens API owners present to manage their policies.
pub const POLICY_AUDIENCE: &str = "urn:gatehouse:policies";
/// The scope those tokens must carry.
pub const POLICY_SCOPE: &str = "policies:write";

/// Most request headers one policy may ask for.
const MAX_INPUT_HEADERS: usize = 32;
/// Default share of allowed decisions logged, in permille.
const DEFAULT_LOG_PERMILLE: u16 = 10;

/// Headers that carry credentials: never passed to a policy.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
];

/// Who is calling the policy endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The admin token: everything.
    Admin,
    /// An application listed as an owner of some APIs: only their policies.
    Owner(ClientId),
}

impl Caller {
    /// The audit actor.
    pub fn actor(&self) -> String {
        match self {
            Self::Admin => "admin-token".to_owned(),
            Self::Owner(c) => format!("owner:{c}"),
        }
    }
}

/// Where a policy is attached, as the routes name it.
#[derive(Debug, Clone, Copy)]
pub enum Attachment<'a> {
    /// Every API.
    Global,
    /// An API (by id, name or audience).
    Api(&'a str),
    /// One operation of an API.
    Operation(&'a str, &'a str),
}

fn check_operation(op: &str) -> Result<(), ManageError> {
    let ok = !op.is_empty()
        && op.len() <= 128
        && op
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "operation names are 1-128 characters of letters, digits, '-', '_' and '.'",
        ))
    }
}

fn check_headers(headers: &[String]) -> Result<Vec<String>, ManageError> {
    if headers.len() > MAX_INPUT_HEADERS {
        return Err(invalid(format!(
            "a policy may ask for at most {MAX_INPUT_HEADERS} request headers"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for h in headers {
        let name = http::HeaderName::from_bytes(h.as_bytes())
            .map_err(|_| invalid(format!("headers: {h:?} is not a header name")))?;
        let name = name.as_str().to_owned();
        if CREDENTIAL_HEADERS.contains(&name.as_str()) {
            return Err(invalid(format!(
                "headers: {name} carries credentials and is never passed to a policy"
            )));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

impl ManageService {
    /// Whether `caller` may manage the policies of `api`.
    fn may_manage(caller: &Caller, api: &gatehouse_core::Api) -> bool {
        match caller {
            Caller::Admin => true,
            Caller::Owner(c) => api.owners.contains(c),
        }
    }

    /// Resolves an attachment point and checks that `caller` may manage it.
    fn attachment(
        &self,
        caller: &Caller,
        at: Attachment<'_>,
    ) -> Result<(Option<ApiId>, Option<String>), ManageError> {
        let (api, op) = match at {
            Attachment::Global => {
                if *caller != Caller::Admin {
                    return Err(ManageError::Forbidden(
                        "only admins manage the global policy".into(),
                    ));
                }
                return Ok((None, None));
            }
            Attachment::Api(api) => (api, None),
            Attachment::Operation(api, op) => {
                check_operation(op)?;
                (api, Some(op.to_owned()))
            }
        };
        let api = self.find_api(api)?;
        if !Self::may_manage(caller, &api) {
            return Err(ManageError::Forbidden(format!(
                "you are not an owner of api '{}'",
                api.name
            )));
        }
        Ok((Some(api.id.clone()), op))
    }

    fn current_policy(&self, api: Option<&ApiId>, op: Option<&str>) -> Option<PolicyRecord> {
        self.state
            .catalog
            .get()
            .policies()
            .iter()
            .find(|p| p.api_id.as_ref() == api && p.operation.as_deref() == op)
            .map(|p| (**p).clone())
    }

    /// The policy at an attachment point.
    pub fn get_policy(
        &self,
        caller: &Caller,
        at: Attachment<'_>,
    ) -> Result<PolicyRecord, ManageError> {
        let (api, op) = match (caller, at) {
            // Owners may read the global policy: it applies to their API too.
            (Caller::Owner(_), Attachment::Global) => (None, None),
            _ => self.attachment(caller, at)?,
        };
        self.current_policy(api.as_ref(), op.as_deref())
            .ok_or_else(|| ManageError::NotFound("policy".into()))
    }

    /// Compiles and stores the next version of the policy at `at`. Returns the record and
    /// whether anything changed (the same policy again is not a new version).
    pub async fn put_policy(
        &self,
        caller: &Caller,
        at: Attachment<'_>,
        req: PutPolicy,
    ) -> Result<(PolicyRecord, bool), ManageError> {
        let (api_id, operation) = self.attachment(caller, at)?;
        let on_error = match req.on_error.as_deref() {
            None => PolicyFailure::Deny,
            Some(s) => PolicyFailure::parse(s)
                .ok_or_else(|| invalid("on_error must be \"deny\" or \"allow\""))?,
        };
        let caching = match req.caching.as_deref() {
            None => PolicyCaching::None,
            Some(s) => PolicyCaching::parse(s)
                .ok_or_else(|| invalid("caching must be \"none\" or \"per_caller\""))?,
        };
        let log_permille = req.log_permille.unwrap_or(DEFAULT_LOG_PERMILLE);
        if log_permille > 1000 {
            return Err(invalid("log_permille must be between 0 and 1000"));
        }
        let headers = check_headers(&req.headers)?;
        gatehouse_policy::Policy::compile(&req.module, req.data.as_ref())
            .map_err(|e| invalid(format!("policy refused: {e}")))?;

        let current = self.current_policy(api_id.as_ref(), operation.as_deref());
        let current_version = current.as_ref().map_or(0, |p| p.version);
        if let Some(expected) = req.if_version
            && expected != current_version
        {
            return Err(ManageError::Conflict(format!(
                "the policy is at version {current_version}, not {expected}"
            )));
        }
        if let Some(cur) = &current
            && cur.module == req.module
            && cur.data == req.data
            && cur.on_error == on_error
            && cur.caching == caching
            && cur.headers == headers
            && cur.log_permille == log_permille
        {
            return Ok((cur.clone(), false));
        }
        let now = self.now();
        let record = PolicyRecord {
            id: match &current {
                Some(c) => c.id.clone(),
                None => new_id::<PolicyId>("pol_")?,
            },
            api_id,
            operation,
            version: current_version.saturating_add(1),
            module: req.module,
            data: req.data,
            on_error,
            caching,
            headers,
            log_permille,
            created_at: current.as_ref().map_or(now, |c| c.created_at),
            updated_at: now,
            updated_by: caller.actor(),
        };
        self.state.store.put_policy(&record).await?;
        self.audit(
            &caller.actor(),
            "policy.put",
            record.id.as_str(),
            serde_json::json!({
                "api": record.api_id,
                "operation": record.operation,
                "version": record.version,
            }),
        )
        .await?;
        self.changed().await?;
        Ok((record, true))
    }

    /// Detaches (deletes) the policy at `at`, with its history.
    pub async fn delete_policy(
        &self,
        caller: &Caller,
        at: Attachment<'_>,
    ) -> Result<(), ManageError> {
        let (api, op) = self.attachment(caller, at)?;
        let current = self
            .current_policy(api.as_ref(), op.as_deref())
            .ok_or_else(|| ManageError::NotFound("policy".into()))?;
        self.state.store.delete_policy(&current.id).await?;
        self.audit(
            &caller.actor(),
            "policy.delete",
            current.id.as_str(),
            serde_json::json!({"api": current.api_id, "operation": current.operation}),
        )
        .await?;
        self.changed().await
    }

    /// Every version of the policy at `at`, oldest first.
    pub async fn policy_versions(
        &self,
        caller: &Caller,
        at: Attachment<'_>,
    ) -> Result<Vec<PolicyRecord>, ManageError> {
        let current = self.get_policy(caller, at)?;
        Ok(self.state.store.policy_versions(&current.id).await?)
    }

    /// The policies `caller` may see: all for admins; for an owner, those of its APIs and the
    /// global one.
    pub fn list_policies(&self, caller: &Caller) -> Vec<PolicyRecord> {
        let catalog = self.state.catalog.get();
        catalog
            .policies()
            .iter()
            .filter(|p| match (&p.api_id, caller) {
                (_, Caller::Admin) | (None, Caller::Owner(_)) => true,
                (Some(api), Caller::Owner(_)) => catalog
                    .api(api.as_str())
                    .is_some_and(|a| Self::may_manage(caller, a)),
            })
            .map(|p| (**p).clone())
            .collect()
    }

    /// The newest logged decisions about `api`, newest first.
    pub async fn decisions(
        &self,
        caller: &Caller,
        api: &str,
        since: UnixTime,
        limit: u32,
    ) -> Result<Vec<DecisionRecord>, ManageError> {
        let (api, _) = self.attachment(caller, Attachment::Api(api))?;
        Ok(self
            .state
            .store
            .list_decisions(api.as_ref(), since, limit)
            .await?)
    }

    /// Replaces the owners of an API (admins only: the route says so).
    pub async fn set_owners(
        &self,
        actor: &str,
        key: &str,
        clients: &[String],
    ) -> Result<gatehouse_core::Api, ManageError> {
        let mut api = (*self.find_api(key)?).clone();
        let catalog = self.state.catalog.get();
        let mut owners: Vec<ClientId> = Vec::new();
        for id in clients {
            let entry = catalog
                .client(id)
                .ok_or_else(|| invalid(format!("owner client '{id}' does not exist")))?;
            if !owners.contains(&entry.client.id) {
                owners.push(entry.client.id.clone());
            }
        }
        api.owners = owners;
        self.state.store.update_api(&api).await?;
        self.audit(
            actor,
            "api.set_owners",
            api.id.as_str(),
            serde_json::json!({ "clients": api.owners }),
        )
        .await?;
        self.changed().await?;
        Ok(api)
    }

    /// The owner an access token for [`POLICY_AUDIENCE`] with [`POLICY_SCOPE`] speaks for.
    pub fn owner_of_token(&self, token: &str) -> Result<Caller, ManageError> {
        let state = &self.state;
        let catalog = state.catalog.get();
        let t = gatehouse_oauth::verify::verify_access_token(
            token,
            &state.keys.ring(),
            &catalog,
            &state.config.issuer,
            state.now(),
        )
        .map_err(|_| ManageError::Unauthenticated)?;
        if !t.has_audience(POLICY_AUDIENCE) {
            return Err(ManageError::Unauthenticated);
        }
        let scopes = t.claims.get("scope").and_then(|s| s.as_str()).unwrap_or("");
        if !scopes.split(' ').any(|s| s == POLICY_SCOPE) {
            return Err(ManageError::Forbidden(format!(
                "the token lacks the {POLICY_SCOPE} scope"
            )));
        }
        let id = ClientId::parse(&t.client_id).map_err(|_| ManageError::Unauthenticated)?;
        Ok(Caller::Owner(id))
    }
}
