//! The client credentials grant (RFC 6749 §4.4) as plain functions: resolve what the client
//! asked for against its subscriptions, then mint an RFC 9068 access token. No I/O here.

use std::borrow::Cow;
use std::sync::Arc;

use gatehouse_core::{Api, ApiId, Audience, ClaimMap, ScopeSet, SubscriptionStatus, UnixTime};
use gatehouse_keys::KeyRing;
use gatehouse_proto::TokenResponse;
use gatehouse_store::{Catalog, ClientEntry};
use serde::Serialize;

use crate::OAuthError;

/// The Azure-style scope suffix meaning "everything granted to me on that API".
const DEFAULT_SCOPE_SUFFIX: &str = "/.default";

/// What the client asked for.
#[derive(Debug, Default, Clone)]
pub struct TokenParams<'a> {
    /// `resource` values (RFC 8707), possibly several.
    pub resources: Vec<&'a str>,
    /// `audience` (a common non-standard synonym for one resource).
    pub audience: Option<&'a str>,
    /// `scope`, space-separated.
    pub scope: Option<&'a str>,
}

/// The resolved request: the APIs the token is for and the scopes it carries.
#[derive(Debug, Clone)]
pub struct Target {
    /// Target APIs (one or more; all share one signing algorithm).
    pub apis: Vec<Arc<Api>>,
    /// Granted scopes in the token.
    pub scopes: ScopeSet,
}

/// Resolves audience and scopes against the client's approved subscriptions.
pub fn resolve(
    params: &TokenParams<'_>,
    entry: &ClientEntry,
    catalog: &Catalog,
) -> Result<Target, OAuthError> {
    let granted = |api: &ApiId| {
        entry
            .subscriptions
            .get(api)
            .filter(|s| s.status == SubscriptionStatus::Approved)
            .map(|s| &s.scopes)
    };
    let mut apis: Vec<Arc<Api>> = Vec::new();
    let add = |apis: &mut Vec<Arc<Api>>, api: &Arc<Api>| {
        if !apis.iter().any(|a| a.id == api.id) {
            apis.push(Arc::clone(api));
        }
    };
    if params.audience.is_some() && !params.resources.is_empty() {
        return Err(OAuthError::invalid_request(
            "use either resource or audience, not both",
        ));
    }
    for r in params.resources.iter().copied().chain(params.audience) {
        // Registered audiences were validated when the API was created, so a hit needs no parse;
        // only an unknown value is parsed, to say whether it is malformed or merely unknown.
        let Some(api) = catalog.api_by_audience(r) else {
            Audience::parse(r)
                .map_err(|e| OAuthError::InvalidTarget(format!("resource {}: {e}", quote(r))))?;
            return Err(OAuthError::InvalidTarget(format!(
                "unknown resource {}",
                quote(r)
            )));
        };
        if granted(&api.id).is_none() {
            return Err(OAuthError::InvalidTarget(format!(
                "client has no grant for resource {}",
                quote(r)
            )));
        }
        add(&mut apis, api);
    }
    let requested = ScopeSet::parse_space_separated(params.scope.unwrap_or(""))
        .map_err(|e| OAuthError::InvalidScope(format!("malformed scope: {e}")))?;
    let mut plain = ScopeSet::default();
    for s in requested.iter() {
        match s.as_str().strip_suffix(DEFAULT_SCOPE_SUFFIX) {
            Some(aud) => {
                let api = catalog
                    .api_by_audience(aud)
                    .or_else(|| catalog.api_by_audience(&format!("{aud}/")))
                    .ok_or_else(|| {
                        OAuthError::InvalidScope(format!(
                            "unknown API in scope {}",
                            quote(s.as_str())
                        ))
                    })?;
                if granted(&api.id).is_none() {
                    return Err(OAuthError::InvalidScope(format!(
                        "scope {} is not granted",
                        quote(s.as_str())
                    )));
                }
                add(&mut apis, api);
            }
            None => plain.insert(s.clone()),
        }
    }
    if apis.is_empty() {
        apis = infer_apis(&plain, entry, catalog)?;
    }
    let mut all_granted = ScopeSet::default();
    for api in &apis {
        if let Some(g) = granted(&api.id) {
            all_granted = all_granted.union(g);
        }
    }
    if let Some(missing) = plain.difference(&all_granted).next() {
        return Err(OAuthError::InvalidScope(format!(
            "scope {} is not granted",
            quote(missing.as_str())
        )));
    }
    let scopes = if plain.is_empty() { all_granted } else { plain };
    if let Some(first) = apis.first()
        && apis.iter().any(|a| a.alg != first.alg)
    {
        return Err(OAuthError::InvalidTarget(
            "the requested resources use different signing algorithms; request them separately"
                .into(),
        ));
    }
    Ok(Target { apis, scopes })
}

/// With no resource: the client's only grant, or the one API whose grant covers the scopes.
fn infer_apis(
    plain: &ScopeSet,
    entry: &ClientEntry,
    catalog: &Catalog,
) -> Result<Vec<Arc<Api>>, OAuthError> {
    let grants: Vec<(&Arc<Api>, &ScopeSet)> = entry
        .subscriptions
        .values()
        .filter(|s| s.status == SubscriptionStatus::Approved)
        .filter_map(|s| catalog.api(s.api_id.as_str()).map(|api| (api, &s.scopes)))
        .collect();
    match grants.as_slice() {
        [] => Err(OAuthError::invalid_request(
            "client has no grants; ask an administrator to grant it access to an API",
        )),
        [(api, _)] => Ok(vec![Arc::clone(api)]),
        _ if plain.is_empty() => Err(OAuthError::InvalidRequest(Cow::Owned(format!(
            "client has grants on {} APIs; pass resource=<audience> to choose one",
            grants.len()
        )))),
        _ => {
            let covering: Vec<_> = grants
                .iter()
                .filter(|(_, g)| g.is_superset(plain))
                .collect();
            match covering.as_slice() {
                [(api, _)] => Ok(vec![Arc::clone(api)]),
                [] => Err(OAuthError::InvalidScope(
                    "requested scopes are not granted on any single API".into(),
                )),
                _ => Err(OAuthError::invalid_request(
                    "requested scopes are granted on several APIs; pass resource=<audience> to choose one",
                )),
            }
        }
    }
}

/// Claims of an RFC 9068 access token.
#[derive(Debug, Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: AudClaim<'a>,
    client_id: &'a str,
    scope: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation<'a>>,
    #[serde(flatten)]
    custom: &'a ClaimMap,
}

/// RFC 8705 §3.1 confirmation: the SHA-256 thumbprint of the client's certificate.
#[derive(Debug, Serialize)]
struct Confirmation<'a> {
    #[serde(rename = "x5t#S256")]
    x5t_s256: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum AudClaim<'a> {
    One(&'a str),
    Many(Vec<&'a str>),
}

/// Mints the access token for a resolved target; `bound_to` (an `x5t#S256` thumbprint) makes
/// it a certificate-bound token (RFC 8705 §3).
pub fn mint(
    target: &Target,
    entry: &ClientEntry,
    ring: &KeyRing,
    issuer: &str,
    now: UnixTime,
    jti: &str,
    bound_to: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let first = target.apis.first().ok_or(OAuthError::ServerError)?;
    let key = ring.signer(first.alg).ok_or_else(|| {
        tracing::error!(alg = %first.alg, "no active signing key");
        OAuthError::ServerError
    })?;
    let ttl = target
        .apis
        .iter()
        .map(|a| a.token_ttl_secs)
        .min()
        .unwrap_or(first.token_ttl_secs);
    // A client whose tokens were revoked this second gets tokens dated at the cutoff, which is
    // at most one second ahead (see `revoke-tokens`). `nbf` stays `now`: the token is usable at
    // once, not only from the next second on.
    let iat = entry
        .client
        .tokens_not_before
        .map_or(now.0, |nb| nb.0.max(now.0));
    let exp = iat.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let custom = custom_claims(target, entry);
    let scope = target.scopes.to_space_separated();
    let aud = match target.apis.as_slice() {
        [one] => AudClaim::One(one.audience.as_str()),
        many => AudClaim::Many(many.iter().map(|a| a.audience.as_str()).collect()),
    };
    let id = entry.client.id.as_str();
    let claims = AccessClaims {
        iss: issuer,
        sub: id,
        aud,
        client_id: id,
        scope: &scope,
        iat,
        nbf: now.0,
        exp,
        jti,
        cnf: bound_to.map(|x5t_s256| Confirmation { x5t_s256 }),
        custom: &custom,
    };
    let json = serde_json::to_vec(&claims).map_err(|_| OAuthError::ServerError)?;
    let access_token = key.sign_jwt("at+jwt", &json).map_err(|e| {
        tracing::error!(error = %e, "signing failed");
        OAuthError::ServerError
    })?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ttl,
        scope,
    })
}

/// API static claims, then copied application metadata, then the application's own claims.
/// Registered names were refused when the claims were configured; they are skipped here too.
fn custom_claims(target: &Target, entry: &ClientEntry) -> ClaimMap {
    let mut out = ClaimMap::new();
    for api in &target.apis {
        for (k, v) in &api.claims {
            out.insert(k.clone(), v.clone());
        }
        for key in &api.copy_metadata {
            if let Some(v) = entry.client.metadata.get(key) {
                out.insert(key.clone(), v.clone());
            }
        }
    }
    for (k, v) in &entry.client.claims {
        out.insert(k.clone(), v.clone());
    }
    out.retain(|k, _| !gatehouse_core::REGISTERED_CLAIMS.contains(&k.as_str()));
    out
}

fn quote(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).take(200).collect();
    format!("'{clean}'")
}

#[cfg(test)]
mod tests;
