//! Gatehouse domain model: the newtypes and records every other crate speaks.
//!
//! Values here are *parsed*, not validated later: a [`ClientId`], [`Scope`] or [`Audience`]
//! that exists is well-formed. This crate never performs I/O, never reads the system clock
//! except through [`SystemClock`], and never logs.
#![forbid(unsafe_code)]

mod clock;
mod env;
mod ids;
mod model;
#[cfg(feature = "openapi")]
mod openapi;
mod policy;
mod portal;
mod scope;
mod time;
mod usage;

pub use clock::{Clock, FakeClock, SystemClock};
pub use env::{Env, MapEnv, ProcessEnv};
pub use ids::{
    ApiId, ApiKeyId, ClientId, IdError, Kid, PlanId, PolicyId, SecretId, SubscriptionId, UserId,
};
pub use model::{
    Alg, AlgParseError, Api, ApiKey, AuditEvent, AuthMethod, AuthMethodParseError, CaRecord,
    CertificateRecord, ClaimMap, ClaimsError, Client, ClientSecret, ClientTls, KeyRecord, KeyState,
    MAX_CUSTOM_CLAIMS_BYTES, REGISTERED_CLAIMS, RevokedToken, Subscription, SubscriptionStatus,
    validate_custom_claims,
};
pub use policy::{DecisionRecord, PolicyCaching, PolicyFailure, PolicyRecord};
pub use portal::{
    ApiListing, AppProfile, CredentialType, Plan, PlanRate, SessionRecord, User, UserRole,
    normalize_email,
};
pub use scope::{Audience, AudienceError, Scope, ScopeError, ScopeSet};
pub use time::{DurationParseError, UnixTime, parse_duration};
pub use usage::{
    LATENCY_BOUNDS_MS, LATENCY_BUCKETS, UsageQuery, UsageRecord, latency_bucket, minute_of,
    quantile_ms,
};
