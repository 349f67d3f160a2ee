//! The Gatehouse management service and admin REST API (`/admin/v1/...`): APIs, applications
//! (OAuth clients) with their secrets and API keys, grants (subscriptions), signing keys, the
//! admin token and the audit log.
//!
//! Business rules live in [`ManageService`]; the routes are thin. Every change is audited and
//! reloads the in-memory catalog. Secrets appear only in the response that creates them; this
//! crate never logs them.
#![forbid(unsafe_code)]

mod error;
mod routes;
mod service;

pub use error::ManageError;
pub use routes::{AdminRateLimit, CSRF_HEADER, SESSION_COOKIE, router, session_cookie};
pub use service::{
    Actor, Attachment, Caller, Decision, GroupBy, MAX_PAGE, ManageService, POLICY_AUDIENCE,
    POLICY_SCOPE, SESSION_TTL, StartedSession, SubscriptionFilter, UsageGroup, UsageOf,
    UsageReport, algs_in_use, csrf_matches, csrf_token,
};
