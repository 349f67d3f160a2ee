//! Applications as developers see them: an OAuth client with an owner and a contact, its
//! credentials (client secrets, API keys) and its subscriptions with their approval.
//!
//! Authorization, in one place: an application's owner and admins manage it; an API's owners
//! and admins decide its subscriptions and see its subscribers. Someone who may not see a
//! record gets 404, not 403, so ids of others' applications are not confirmed.

use std::sync::Arc;

use gatehouse_core::{
    AppProfile, ClientId, Subscription, SubscriptionId, SubscriptionStatus, UserId,
};
use gatehouse_proto::admin::{CreateClient, CreatedApiKey, RotatedSecret};
use gatehouse_proto::portal::{
    ApplicationView, CreateApplication, CreatedApplication, Page, SecretView, Subscribe,
    SubscriptionView, UpdateApplication,
};
use gatehouse_store::ClientEntry;

use super::catalog::check_description;
use super::people::Actor;
use super::{ManageService, invalid, new_id};
use crate::ManageError;

/// Longest accepted reason for a decision.
const MAX_REASON: usize = 512;
/// Largest page.
pub const MAX_PAGE: usize = 500;

fn check_contact(email: Option<&str>) -> Result<Option<String>, ManageError> {
    match email.map(str::trim) {
        None | Some("") => Ok(None),
        Some(e)
            if e.len() <= 254
                && e.split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
                && !e.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(Some(e.to_owned()))
        }
        Some(_) => Err(invalid("contact_email must look like team@example.com")),
    }
}

/// Filters for listing subscriptions.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionFilter {
    /// Only this API (id or name).
    pub api: Option<String>,
    /// Only this application.
    pub application: Option<String>,
    /// Only this status.
    pub status: Option<SubscriptionStatus>,
    /// Skip this many.
    pub offset: usize,
    /// At most this many (default 100, at most [`MAX_PAGE`]).
    pub limit: Option<usize>,
}

/// A decision on a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Pending or rejected → approved.
    Approve,
    /// Pending → rejected.
    Reject,
    /// Approved → revoked.
    Revoke,
}

impl Decision {
    fn name(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Revoke => "revoke",
        }
    }
}

impl ManageService {
    /// The profile of an application (an empty one when none was written).
    pub fn profile_of(&self, client: &ClientId) -> AppProfile {
        self.state
            .catalog
            .get()
            .profile(client)
            .map(|p| (**p).clone())
            .unwrap_or_else(|| AppProfile {
                client_id: client.clone(),
                owner: None,
                description: String::new(),
                contact_email: None,
                updated_at: gatehouse_core::UnixTime(0),
            })
    }

    fn manages_app(&self, actor: &Actor, client: &ClientId) -> bool {
        actor.is_admin()
            || actor
                .user_id()
                .is_some_and(|u| self.profile_of(client).owner.as_ref() == Some(u))
    }

    /// An application `actor` manages (404 otherwise).
    pub fn managed_app(&self, actor: &Actor, id: &str) -> Result<Arc<ClientEntry>, ManageError> {
        let not_found = || ManageError::NotFound(format!("application '{id}'"));
        let entry = self.get_client(id).map_err(|_| not_found())?;
        if self.manages_app(actor, &entry.client.id) {
            Ok(entry)
        } else {
            Err(not_found())
        }
    }

    async fn user_email(&self, id: Option<&UserId>) -> Option<String> {
        let id = id?;
        self.state
            .store
            .get_user(id)
            .await
            .ok()
            .flatten()
            .map(|u| u.email)
    }

    /// The subscription with names and contacts.
    pub async fn subscription_view(&self, sub: &Subscription) -> SubscriptionView {
        let catalog = self.state.catalog.get();
        let profile = self.profile_of(&sub.client_id);
        SubscriptionView {
            application_name: catalog
                .client(sub.client_id.as_str())
                .map(|c| c.client.name.clone())
                .unwrap_or_default(),
            api_name: catalog
                .api(sub.api_id.as_str())
                .map(|a| a.name.clone())
                .unwrap_or_default(),
            contact_email: profile.contact_email.clone(),
            owner_email: self.user_email(profile.owner.as_ref()).await,
            subscription: sub.clone(),
        }
    }

    async fn application_view(&self, entry: &ClientEntry) -> ApplicationView {
        let mut subs: Vec<&Subscription> = entry.subscriptions.values().collect();
        subs.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let mut views = Vec::with_capacity(subs.len());
        for s in subs {
            views.push(self.subscription_view(s).await);
        }
        ApplicationView {
            client: entry.client.clone(),
            profile: self.profile_of(&entry.client.id),
            subscriptions: views,
        }
    }

    /// Registers an application owned by the caller (admins may name another owner).
    pub async fn create_application(
        &self,
        actor: &Actor,
        req: CreateApplication,
    ) -> Result<CreatedApplication, ManageError> {
        let owner = match (&req.owner, actor) {
            (Some(o), a) if a.is_admin() => {
                Some(self.resolve_users(std::slice::from_ref(o)).await?.remove(0))
            }
            (Some(_), _) => {
                return Err(ManageError::Forbidden(
                    "only admins create applications for someone else".into(),
                ));
            }
            (None, a) => a.user_id().cloned(),
        };
        let description = check_description(&req.description)?;
        let contact_email = check_contact(req.contact_email.as_deref())?;
        let created = self
            .create_client(
                &actor.audit_name(),
                CreateClient {
                    name: req.name,
                    auth_method: req.auth_method,
                    jwks: req.jwks,
                    ..CreateClient::default()
                },
            )
            .await?;
        let profile = AppProfile {
            client_id: created.client.id.clone(),
            owner,
            description,
            contact_email,
            updated_at: self.now(),
        };
        self.state.store.put_app_profile(&profile).await?;
        self.changed().await?;
        let entry = self.get_client(created.client.id.as_str())?;
        Ok(CreatedApplication {
            application: self.application_view(&entry).await,
            client_id: created.client_id,
            client_secret: created.client_secret,
        })
    }

    /// The applications `actor` manages (admins: all), oldest first, paged.
    pub async fn list_applications(
        &self,
        actor: &Actor,
        offset: usize,
        limit: Option<usize>,
    ) -> Page<ApplicationView> {
        let catalog = self.state.catalog.get();
        let mut entries: Vec<&Arc<ClientEntry>> = catalog
            .clients()
            .filter(|c| self.manages_app(actor, &c.client.id))
            .filter(|c| actor.is_admin() || !c.client.name.starts_with("gatehouse"))
            .collect();
        entries.sort_by(|a, b| {
            (a.client.created_at, &a.client.id).cmp(&(b.client.created_at, &b.client.id))
        });
        let limit = limit.unwrap_or(100).clamp(1, MAX_PAGE);
        let mut items = Vec::new();
        for e in entries.iter().skip(offset).take(limit) {
            items.push(self.application_view(e).await);
        }
        let next = (offset.saturating_add(limit) < entries.len()).then_some(offset + limit);
        Page { items, next }
    }

    /// One application.
    pub async fn get_application(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<ApplicationView, ManageError> {
        let entry = self.managed_app(actor, id)?;
        Ok(self.application_view(&entry).await)
    }

    /// Changes an application's description or contact.
    pub async fn update_application(
        &self,
        actor: &Actor,
        id: &str,
        req: UpdateApplication,
    ) -> Result<ApplicationView, ManageError> {
        let entry = self.managed_app(actor, id)?;
        let mut profile = self.profile_of(&entry.client.id);
        if let Some(d) = &req.description {
            profile.description = check_description(d)?;
        }
        if let Some(c) = &req.contact_email {
            profile.contact_email = check_contact(Some(c))?;
        }
        profile.updated_at = self.now();
        self.state.store.put_app_profile(&profile).await?;
        self.audit(
            &actor.audit_name(),
            "application.update",
            id,
            serde_json::json!({"description": req.description.is_some(), "contact_email": profile.contact_email}),
        )
        .await?;
        self.changed().await?;
        self.get_application(actor, id).await
    }

    /// Deletes an application with its credentials and subscriptions.
    pub async fn delete_application(&self, actor: &Actor, id: &str) -> Result<(), ManageError> {
        self.managed_app(actor, id)?;
        self.delete_client(&actor.audit_name(), id).await
    }

    /// The client secrets of an application (metadata only).
    pub fn list_secrets(&self, actor: &Actor, id: &str) -> Result<Vec<SecretView>, ManageError> {
        let entry = self.managed_app(actor, id)?;
        let now = self.now();
        let mut out: Vec<SecretView> = entry
            .secrets
            .iter()
            .map(|s| SecretView {
                id: s.id.to_string(),
                created_at: s.created_at.0,
                expires_at: s.expires_at.map(|t| t.0),
                valid: s.is_valid_at(now),
            })
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    /// A new client secret; the others stay valid for `grace` (then stop).
    pub async fn rotate_app_secret(
        &self,
        actor: &Actor,
        id: &str,
        grace: Option<&str>,
    ) -> Result<RotatedSecret, ManageError> {
        self.managed_app(actor, id)?;
        self.rotate_secret(&actor.audit_name(), id, grace).await
    }

    /// A new API key for an application.
    pub async fn create_app_api_key(
        &self,
        actor: &Actor,
        id: &str,
        expires_in: Option<&str>,
    ) -> Result<CreatedApiKey, ManageError> {
        self.managed_app(actor, id)?;
        self.create_api_key(&actor.audit_name(), id, expires_in)
            .await
    }

    /// The API keys of an application.
    pub async fn list_app_api_keys(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Vec<gatehouse_proto::admin::ApiKeyView>, ManageError> {
        self.managed_app(actor, id)?;
        self.list_api_keys(id).await
    }

    /// Revokes an API key of an application.
    pub async fn revoke_app_api_key(
        &self,
        actor: &Actor,
        id: &str,
        key: &str,
    ) -> Result<(), ManageError> {
        self.managed_app(actor, id)?;
        self.revoke_api_key(&actor.audit_name(), id, key).await
    }

    // === Subscriptions ===

    /// Subscribes an application to an API on a plan: approved at once, or pending when the
    /// plan requires approval. The subscriber receives the plan's scopes.
    pub async fn subscribe(
        &self,
        actor: &Actor,
        id: &str,
        req: Subscribe,
    ) -> Result<SubscriptionView, ManageError> {
        let entry = self.managed_app(actor, id)?;
        let api_entry = self.catalog_entry(actor, &req.api)?;
        let api = api_entry.api;
        let plan = api_entry
            .plans
            .iter()
            .find(|p| p.name == req.plan)
            .ok_or_else(|| {
                ManageError::NotFound(format!("plan '{}' of '{}'", req.plan, api.name))
            })?;
        if let Some(existing) = entry.subscriptions.get(&api.id)
            && matches!(
                existing.status,
                SubscriptionStatus::Approved | SubscriptionStatus::Pending
            )
            && existing.plan == plan.name
        {
            return Err(ManageError::Conflict(format!(
                "already subscribed to '{}' on plan '{}' ({})",
                api.name,
                plan.name,
                existing.status.as_str()
            )));
        }
        let status = if plan.requires_approval && !self.owns_api(actor, &api) {
            SubscriptionStatus::Pending
        } else {
            SubscriptionStatus::Approved
        };
        // Moving from an approved plan to one that needs approval keeps nothing of the old
        // plan: the application waits like any new subscriber.
        let now = self.now();
        let sub = Subscription {
            id: new_id::<SubscriptionId>("sub_")?,
            client_id: entry.client.id.clone(),
            api_id: api.id.clone(),
            plan: plan.name.clone(),
            scopes: plan.scopes.clone(),
            status,
            created_at: now,
            updated_at: now,
        };
        let stored = self.state.store.upsert_subscription(&sub).await?;
        self.audit(
            &actor.audit_name(),
            "subscription.request",
            stored.id.as_str(),
            serde_json::json!({"client": entry.client.id, "api": api.id, "plan": plan.name,
                "status": stored.status.as_str()}),
        )
        .await?;
        self.changed().await?;
        Ok(self.subscription_view(&stored).await)
    }

    fn find_subscription(&self, id: &str) -> Option<Subscription> {
        self.state
            .catalog
            .get()
            .clients()
            .flat_map(|c| c.subscriptions.values())
            .find(|s| s.id.as_str() == id)
            .cloned()
    }

    /// Whether `actor` may see a subscription: its application's manager or its API's owner.
    fn may_see(&self, actor: &Actor, sub: &Subscription) -> bool {
        self.manages_app(actor, &sub.client_id)
            || self
                .state
                .catalog
                .get()
                .api(sub.api_id.as_str())
                .is_some_and(|api| self.owns_api(actor, api))
    }

    /// One subscription.
    pub async fn get_subscription(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<SubscriptionView, ManageError> {
        match self.find_subscription(id) {
            Some(s) if self.may_see(actor, &s) => Ok(self.subscription_view(&s).await),
            _ => Err(ManageError::NotFound(format!("subscription '{id}'"))),
        }
    }

    /// Subscriptions `actor` may see, filtered, oldest first, paged.
    pub async fn list_subscriptions(
        &self,
        actor: &Actor,
        filter: SubscriptionFilter,
    ) -> Result<Page<SubscriptionView>, ManageError> {
        let api = filter
            .api
            .as_deref()
            .map(|a| self.find_api(a).map(|a| a.id.clone()))
            .transpose()?;
        let mut subs: Vec<Subscription> = self
            .state
            .catalog
            .get()
            .clients()
            .flat_map(|c| c.subscriptions.values())
            .filter(|s| api.as_ref().is_none_or(|a| &s.api_id == a))
            .filter(|s| {
                filter
                    .application
                    .as_deref()
                    .is_none_or(|a| s.client_id.as_str() == a)
            })
            .filter(|s| filter.status.is_none_or(|st| s.status == st))
            .filter(|s| self.may_see(actor, s))
            .cloned()
            .collect();
        subs.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let limit = filter.limit.unwrap_or(100).clamp(1, MAX_PAGE);
        let mut items = Vec::new();
        for s in subs.iter().skip(filter.offset).take(limit) {
            items.push(self.subscription_view(s).await);
        }
        let next =
            (filter.offset.saturating_add(limit) < subs.len()).then_some(filter.offset + limit);
        Ok(Page { items, next })
    }

    /// Approves, rejects or revokes a subscription (the API's owners and admins).
    pub async fn decide(
        &self,
        actor: &Actor,
        id: &str,
        decision: Decision,
        reason: Option<&str>,
    ) -> Result<SubscriptionView, ManageError> {
        let not_found = || ManageError::NotFound(format!("subscription '{id}'"));
        let mut sub = self.find_subscription(id).ok_or_else(not_found)?;
        if !self.may_see(actor, &sub) {
            return Err(not_found());
        }
        let api = self.find_api(sub.api_id.as_str())?;
        if !self.owns_api(actor, &api) {
            return Err(ManageError::Forbidden(format!(
                "only the owners of '{}' decide its subscriptions",
                api.name
            )));
        }
        if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
            return Err(invalid(format!(
                "reason must be at most {MAX_REASON} characters"
            )));
        }
        use SubscriptionStatus as S;
        let to = match (decision, sub.status) {
            (Decision::Approve, S::Pending | S::Rejected) => S::Approved,
            (Decision::Reject, S::Pending) => S::Rejected,
            (Decision::Revoke, S::Approved | S::Pending) => S::Revoked,
            (d, from) => {
                return Err(ManageError::Conflict(format!(
                    "cannot {} a subscription that is {}",
                    d.name(),
                    from.as_str()
                )));
            }
        };
        sub.status = to;
        sub.updated_at = self.now();
        let stored = self.state.store.upsert_subscription(&sub).await?;
        self.audit(
            &actor.audit_name(),
            &format!("subscription.{}", decision.name()),
            stored.id.as_str(),
            serde_json::json!({"client": stored.client_id, "api": stored.api_id,
                "plan": stored.plan, "reason": reason}),
        )
        .await?;
        self.changed().await?;
        Ok(self.subscription_view(&stored).await)
    }

    /// Withdraws a subscription of an application the caller manages (deletes it).
    pub async fn unsubscribe(&self, actor: &Actor, id: &str) -> Result<(), ManageError> {
        let not_found = || ManageError::NotFound(format!("subscription '{id}'"));
        let sub = self.find_subscription(id).ok_or_else(not_found)?;
        if !self.manages_app(actor, &sub.client_id) {
            return Err(not_found());
        }
        self.state
            .store
            .delete_subscription(&sub.client_id, &sub.api_id)
            .await?;
        self.audit(
            &actor.audit_name(),
            "subscription.withdraw",
            id,
            serde_json::json!({"client": sub.client_id, "api": sub.api_id}),
        )
        .await?;
        self.changed().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_optional_and_checked() {
        assert_eq!(check_contact(None).unwrap(), None);
        assert_eq!(check_contact(Some("  ")).unwrap(), None);
        assert_eq!(
            check_contact(Some(" team@example.com "))
                .unwrap()
                .as_deref(),
            Some("team@example.com")
        );
        for bad in ["team", "a b@example.com", "@example.com", "x@y"] {
            assert!(check_contact(Some(bad)).is_err(), "{bad}");
        }
    }
}
