//! The API catalog: each API's listing (description, docs, accepted credentials, owners,
//! visibility) and its plans (rate limit, daily quota, approval, scopes).
//!
//! Everyone signed in sees the visible APIs; owners and admins see theirs whatever the
//! visibility. Owners edit their APIs' listings (not the owner list) and plans; admins
//! everything.

use gatehouse_core::{Api, ApiListing, CredentialType, Plan, PlanId, PlanRate, Scope, ScopeSet};
use gatehouse_proto::portal::{CatalogEntry, PutListing, PutPlan};

use super::people::Actor;
use super::{ManageService, check_name, invalid, new_id};
use crate::ManageError;

/// Longest accepted description.
const MAX_DESCRIPTION: usize = 4096;
/// Most plans one API may have.
const MAX_PLANS: usize = 32;

pub(crate) fn check_description(d: &str) -> Result<String, ManageError> {
    if d.chars().count() > MAX_DESCRIPTION || d.contains('\0') {
        return Err(invalid(format!(
            "description must be at most {MAX_DESCRIPTION} characters"
        )));
    }
    Ok(d.trim().to_owned())
}

fn check_url(u: &str) -> Result<String, ManageError> {
    let url = url::Url::parse(u).map_err(|_| invalid("docs_url must be an absolute URL"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() == "https" || (url.scheme() == "http" && loopback) {
        Ok(url.to_string())
    } else {
        Err(invalid("docs_url must be https (or http on loopback)"))
    }
}

impl ManageService {
    /// The listing of `api` (the default one when none was written).
    pub fn listing_of(&self, api: &Api) -> ApiListing {
        self.state
            .catalog
            .get()
            .listing(&api.id)
            .map(|l| (**l).clone())
            .unwrap_or_else(|| ApiListing::default_for(api.id.clone(), api.created_at))
    }

    /// Whether `actor` owns `api` (admins own everything).
    pub fn owns_api(&self, actor: &Actor, api: &Api) -> bool {
        actor.is_admin()
            || actor
                .user_id()
                .is_some_and(|u| self.listing_of(api).owners.contains(u))
    }

    fn entry(&self, actor: &Actor, api: &Api) -> Option<CatalogEntry> {
        let listing = self.listing_of(api);
        let owned = self.owns_api(actor, api);
        if !listing.visible && !owned {
            return None;
        }
        let plans = self
            .state
            .catalog
            .get()
            .plans_for(&api.id)
            .iter()
            .map(|p| (**p).clone())
            .collect();
        Some(CatalogEntry {
            api: api.clone(),
            listing,
            plans,
            owned,
        })
    }

    /// The catalog as `actor` sees it, by name. Built-in APIs (`gatehouse*`) are listed only
    /// for admins.
    pub fn catalog(&self, actor: &Actor) -> Vec<CatalogEntry> {
        let mut out: Vec<CatalogEntry> = self
            .list_apis()
            .iter()
            .filter(|a| actor.is_admin() || !a.name.starts_with("gatehouse"))
            .filter_map(|a| self.entry(actor, a))
            .collect();
        out.sort_by(|a, b| a.api.name.cmp(&b.api.name));
        out
    }

    /// One catalog entry (404 when the API is not visible to `actor`).
    pub fn catalog_entry(&self, actor: &Actor, key: &str) -> Result<CatalogEntry, ManageError> {
        let api = self.find_api(key)?;
        self.entry(actor, &api)
            .ok_or_else(|| ManageError::NotFound(format!("api '{key}'")))
    }

    /// An API `actor` owns: 404 when they cannot see it, 403 when they see but do not own it.
    pub(crate) fn owned_api(
        &self,
        actor: &Actor,
        key: &str,
    ) -> Result<std::sync::Arc<Api>, ManageError> {
        let api = self.find_api(key)?;
        if self.owns_api(actor, &api) {
            return Ok(api);
        }
        if self.listing_of(&api).visible {
            Err(ManageError::Forbidden(format!(
                "only the owners of '{}' may do this",
                api.name
            )))
        } else {
            Err(ManageError::NotFound(format!("api '{key}'")))
        }
    }

    /// Writes an API's listing (owners and admins; only admins change the owner list).
    pub async fn put_listing(
        &self,
        actor: &Actor,
        key: &str,
        req: PutListing,
    ) -> Result<ApiListing, ManageError> {
        let api = self.owned_api(actor, key)?;
        let before = self.listing_of(&api);
        let owners = match &req.owners {
            Some(list) if actor.is_admin() => self.resolve_users(list).await?,
            Some(list)
                if *list
                    != before
                        .owners
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>() =>
            {
                return Err(ManageError::Forbidden(
                    "only admins change an API's owners".into(),
                ));
            }
            _ => before.owners.clone(),
        };
        let mut credentials = Vec::new();
        for c in &req.credentials {
            let c = CredentialType::parse(c).ok_or_else(|| {
                invalid(format!(
                    "credential {c:?}: expected bearer, api_key, mtls or basic"
                ))
            })?;
            if !credentials.contains(&c) {
                credentials.push(c);
            }
        }
        if credentials.is_empty() {
            credentials.push(CredentialType::Bearer);
        }
        credentials.sort();
        let listing = ApiListing {
            api_id: api.id.clone(),
            description: check_description(&req.description)?,
            docs_url: req.docs_url.as_deref().map(check_url).transpose()?,
            credentials,
            owners,
            visible: req.visible.unwrap_or(before.visible),
            updated_at: self.now(),
        };
        self.state.store.put_api_listing(&listing).await?;
        self.audit(
            &actor.audit_name(),
            "api.listing",
            api.id.as_str(),
            serde_json::json!({"owners": listing.owners, "visible": listing.visible,
                "credentials": listing.credentials}),
        )
        .await?;
        self.changed().await?;
        Ok(listing)
    }

    /// Creates or replaces the plan `name` of an API (owners and admins). Idempotent. A new
    /// plan's scopes apply to new subscriptions; existing subscribers keep theirs until they
    /// subscribe again or an owner approves anew.
    pub async fn put_plan(
        &self,
        actor: &Actor,
        key: &str,
        name: &str,
        req: PutPlan,
    ) -> Result<Plan, ManageError> {
        let api = self.owned_api(actor, key)?;
        let name = check_name("plan", name)?;
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(invalid("plan names use A-Z, a-z, 0-9, '-', '_' and '.'"));
        }
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
        let rate_limit = match (req.rate_limit_per_second, req.burst) {
            (None, None) => None,
            (None, Some(_)) => return Err(invalid("burst needs rate_limit_per_second")),
            (Some(0), _) | (_, Some(0)) => {
                return Err(invalid("rate_limit_per_second and burst must be positive"));
            }
            (Some(r), b) => Some(PlanRate {
                per_second: r,
                burst: b.unwrap_or_else(|| r.saturating_mul(2)),
            }),
        };
        if req.daily_quota == Some(0) {
            return Err(invalid(
                "daily_quota must be positive (omit it for no quota)",
            ));
        }
        let catalog = self.state.catalog.get();
        let existing = catalog.plan(&api.id, &name);
        if existing.is_none() && catalog.plans_for(&api.id).len() >= MAX_PLANS {
            return Err(invalid(format!(
                "an API may have at most {MAX_PLANS} plans"
            )));
        }
        let plan = Plan {
            id: match existing {
                Some(p) => p.id.clone(),
                None => new_id::<PlanId>("pl_")?,
            },
            api_id: api.id.clone(),
            name,
            description: check_description(&req.description)?,
            rate_limit,
            daily_quota: req.daily_quota,
            requires_approval: req.requires_approval,
            scopes,
            created_at: existing.map_or_else(|| self.now(), |p| p.created_at),
        };
        if existing.is_some_and(|p| **p == plan) {
            return Ok(plan);
        }
        self.state.store.put_plan(&plan).await?;
        self.audit(
            &actor.audit_name(),
            "plan.put",
            plan.id.as_str(),
            serde_json::json!({"api": api.id, "name": plan.name,
                "requires_approval": plan.requires_approval,
                "scopes": plan.scopes.to_space_separated()}),
        )
        .await?;
        self.changed().await?;
        Ok(plan)
    }

    /// The plans of an API visible to `actor`.
    pub fn list_plans(&self, actor: &Actor, key: &str) -> Result<Vec<Plan>, ManageError> {
        Ok(self.catalog_entry(actor, key)?.plans)
    }

    /// Deletes a plan (owners and admins) unless a live subscription uses it.
    pub async fn delete_plan(
        &self,
        actor: &Actor,
        key: &str,
        name: &str,
    ) -> Result<(), ManageError> {
        let api = self.owned_api(actor, key)?;
        let catalog = self.state.catalog.get();
        let plan = catalog
            .plan(&api.id, name)
            .ok_or_else(|| ManageError::NotFound(format!("plan '{name}' of '{}'", api.name)))?;
        let in_use = catalog.clients().any(|c| {
            c.subscriptions.get(&api.id).is_some_and(|s| {
                s.plan == plan.name
                    && matches!(
                        s.status,
                        gatehouse_core::SubscriptionStatus::Approved
                            | gatehouse_core::SubscriptionStatus::Pending
                    )
            })
        });
        if in_use {
            return Err(ManageError::Conflict(format!(
                "plan '{name}' has subscribers; revoke them first"
            )));
        }
        self.state.store.delete_plan(&plan.id).await?;
        self.audit(
            &actor.audit_name(),
            "plan.delete",
            plan.id.as_str(),
            serde_json::json!({"api": api.id, "name": plan.name}),
        )
        .await?;
        self.changed().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_urls_must_be_https_except_on_loopback() {
        assert!(check_url("https://docs.example/orders").is_ok());
        assert!(check_url("http://127.0.0.1:8080/docs").is_ok());
        for bad in [
            "http://docs.example",
            "javascript:alert(1)",
            "docs",
            "ftp://x.example",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn descriptions_are_bounded() {
        assert_eq!(check_description("  hi  ").unwrap(), "hi");
        assert!(check_description(&"x".repeat(4097)).is_err());
        assert!(check_description("a\0b").is_err());
    }
}
