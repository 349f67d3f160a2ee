//! Rego policies attached to APIs and operations, and the decisions gateways log about them.
//! The policy text is compiled by `gatehouse-policy`; these are only the stored records.

use serde::{Deserialize, Serialize};

use crate::{ApiId, ClientId, PolicyId, UnixTime};

/// What a gateway does when a policy cannot be evaluated (a runtime error, a malformed
/// decision, a policy the gateway cannot compile).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PolicyFailure {
    /// Refuse the request (403), the default.
    #[default]
    Deny,
    /// Let the request through as if the policy had allowed it.
    Allow,
}

impl PolicyFailure {
    /// The configuration word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Allow => "allow",
        }
    }

    /// Parses the configuration word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "deny" => Some(Self::Deny),
            "allow" => Some(Self::Allow),
            _ => None,
        }
    }
}

/// Whether a gateway may reuse a decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PolicyCaching {
    /// Evaluate on every request.
    #[default]
    None,
    /// The decision depends only on the caller, the API and the operation: it is cached per
    /// credential for the token's lifetime (at most a minute for other credentials). The
    /// policy then sees no `input.request` and no `input.time`, so it cannot depend on them.
    PerCaller,
}

impl PolicyCaching {
    /// The configuration word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::PerCaller => "per_caller",
        }
    }

    /// Parses the configuration word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "per_caller" => Some(Self::PerCaller),
            _ => None,
        }
    }
}

/// A policy attached to every API (global, set by admins), to one API, or to one operation
/// of an API. Every change is a new version; the id stays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyRecord {
    /// Stable id.
    pub id: PolicyId,
    /// The API it applies to; `None` for a global policy.
    pub api_id: Option<ApiId>,
    /// The operation it applies to; `None` for the whole API.
    pub operation: Option<String>,
    /// Version, from 1, incremented by every update.
    pub version: u32,
    /// The Rego module.
    pub module: String,
    /// Its `data` document (a JSON object), if any.
    pub data: Option<serde_json::Value>,
    /// Behaviour when the policy cannot be evaluated.
    pub on_error: PolicyFailure,
    /// Whether decisions may be cached per caller.
    pub caching: PolicyCaching,
    /// Request headers (lower-case names) copied into `input.request.headers`.
    pub headers: Vec<String>,
    /// Share of allowed decisions written to the decision log, in permille (denials and
    /// errors are always logged).
    pub log_permille: u16,
    /// When version 1 was created.
    pub created_at: UnixTime,
    /// When this version was created.
    pub updated_at: UnixTime,
    /// Who created this version (audit actor).
    pub updated_by: String,
}

impl PolicyRecord {
    /// Whether it applies to `operation` of the API `api` (global policies apply everywhere).
    pub fn applies_to(&self, api: &ApiId, operation: &str) -> bool {
        match (&self.api_id, &self.operation) {
            (None, _) => true,
            (Some(a), None) => a == api,
            (Some(a), Some(op)) => a == api && op == operation,
        }
    }
}

/// One logged policy decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionRecord {
    /// When it was made.
    pub at: UnixTime,
    /// The policy.
    pub policy_id: PolicyId,
    /// Its version.
    pub version: u32,
    /// The API called.
    pub api_id: ApiId,
    /// The operation called.
    pub operation: String,
    /// The caller, when authenticated.
    pub client_id: Option<ClientId>,
    /// `allow`, `deny` or `error`.
    pub outcome: String,
    /// The policy's reason, or the error's message.
    pub reason: Option<String>,
    /// Request method.
    pub method: String,
    /// Request path (without the query string).
    pub path: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(api: Option<&str>, op: Option<&str>) -> PolicyRecord {
        PolicyRecord {
            id: PolicyId::parse("pol_1").unwrap(),
            api_id: api.map(|a| ApiId::parse(a).unwrap()),
            operation: op.map(str::to_owned),
            version: 1,
            module: String::new(),
            data: None,
            on_error: PolicyFailure::Deny,
            caching: PolicyCaching::None,
            headers: Vec::new(),
            log_permille: 0,
            created_at: UnixTime(0),
            updated_at: UnixTime(0),
            updated_by: String::new(),
        }
    }

    #[test]
    fn global_api_and_operation_policies_apply_where_they_are_attached() {
        let orders = ApiId::parse("api_orders").unwrap();
        let other = ApiId::parse("api_other").unwrap();
        assert!(record(None, None).applies_to(&other, "x"));
        assert!(record(Some("api_orders"), None).applies_to(&orders, "list"));
        assert!(!record(Some("api_orders"), None).applies_to(&other, "list"));
        let op = record(Some("api_orders"), Some("create"));
        assert!(op.applies_to(&orders, "create"));
        assert!(!op.applies_to(&orders, "list"));
    }

    #[test]
    fn configuration_words_round_trip() {
        for f in [PolicyFailure::Deny, PolicyFailure::Allow] {
            assert_eq!(PolicyFailure::parse(f.as_str()), Some(f));
        }
        for c in [PolicyCaching::None, PolicyCaching::PerCaller] {
            assert_eq!(PolicyCaching::parse(c.as_str()), Some(c));
        }
        assert_eq!(PolicyFailure::parse("maybe"), None);
    }
}
