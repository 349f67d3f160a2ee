//! Admin API bodies for people and the developer portal: users and sessions, the API catalog
//! (listings and plans), applications with their owners, subscriptions and their approval.
//!
//! Records that carry something secret (a user's password hash) never appear here as they are
//! stored: every answer is a view.

use serde::{Deserialize, Serialize};

use gatehouse_core::{Api, ApiListing, AppProfile, Client, Plan, Subscription, User};

/// A user as the API shows it (no password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// `admin` or `developer`.
    #[cfg_attr(feature = "openapi", schema(value_type = gatehouse_core::UserRole))]
    pub role: String,
    /// Whether the user is disabled.
    pub disabled: bool,
    /// Creation time (seconds since the epoch).
    pub created_at: i64,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.as_str().to_owned(),
            disabled: u.disabled,
            created_at: u.created_at.0,
        }
    }
}

/// `POST /admin/v1/users`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUser {
    /// Sign-in email (unique, case-insensitive).
    pub email: String,
    /// Display name.
    pub name: String,
    /// `admin` or `developer` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<gatehouse_core::UserRole>))]
    pub role: Option<String>,
    /// Initial password (12–1024 characters); generated and returned once when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 12))]
    pub password: Option<String>,
}

/// Answer to user creation: a generated password appears here once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedUser {
    /// The user.
    pub user: UserView,
    /// The generated initial password, when none was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `PATCH /admin/v1/users/{id}`: only the members present change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateUser {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<gatehouse_core::UserRole>))]
    pub role: Option<String>,
    /// Disable (ends their sessions) or enable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// New password (ends their sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 12))]
    pub password: Option<String>,
}

/// `POST /admin/v1/session`: sign in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignIn {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A session: the cookie is set on the answer; unsafe requests authenticated by it must send
/// `X-CSRF-Token: <csrf_token>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    /// Who is signed in.
    pub user: UserView,
    /// The token unsafe requests must echo in `X-CSRF-Token` (or a form's `csrf` field).
    pub csrf_token: String,
    /// When the session ends (seconds since the epoch).
    pub expires_at: i64,
}

/// `GET /admin/v1/session`: the signed-in user and the session's CSRF token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurrentSession {
    /// Who is signed in.
    pub user: UserView,
    /// The token unsafe requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
}

/// `GET /admin/v1/me`: the caller, a user or the admin token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Me {
    /// The admin token.
    AdminToken(AdminTokenCaller),
    /// A signed-in user.
    User(UserView),
}

/// The admin token as `GET /admin/v1/me` shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminTokenCaller {
    /// Always `true`.
    pub admin_token: bool,
    /// Always `admin`.
    pub role: String,
}

/// `PUT /admin/v1/me/password`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePassword {
    /// The current password.
    pub current: String,
    /// The new one (12–1024 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 12))]
    pub new: String,
}

/// `PUT /admin/v1/apis/{api}/listing`: what the catalog says about an API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PutListing {
    /// Description (plain text, at most 4096 characters).
    #[serde(default)]
    pub description: String,
    /// Documentation link (https, or http on loopback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
    /// Accepted credentials: `bearer`, `api_key`, `mtls`, `basic` (default `["bearer"]`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<gatehouse_core::CredentialType>))]
    pub credentials: Vec<String>,
    /// Owners by user id or email (admins only; owners keep the list when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners: Option<Vec<String>>,
    /// Shown to every developer (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
}

/// `PUT /admin/v1/apis/{api}/plans/{name}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PutPlan {
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Requests per second per application (with `burst`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_second: Option<u32>,
    /// Burst size (default: twice the rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Requests per application per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_quota: Option<u64>,
    /// Subscriptions wait for an owner's approval.
    #[serde(default)]
    pub requires_approval: bool,
    /// Scopes a subscriber receives (each defined by the API).
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// One API of the catalog with its listing and plans.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogEntry {
    /// The API.
    pub api: Api,
    /// Its listing.
    pub listing: ApiListing,
    /// Its plans, oldest first.
    pub plans: Vec<Plan>,
    /// Whether the caller owns it.
    pub owned: bool,
}

/// `POST /admin/v1/applications`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateApplication {
    /// Name.
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Whom API owners write to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// How it authenticates for tokens (`client_secret_basic` by default; `private_key_jwt`
    /// with `jwks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
    /// Public JWK Set for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Owner's user id or email (admins only; default: the caller, none for the admin token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// `PATCH /admin/v1/applications/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateApplication {
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New contact email (empty string clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
}

/// An application: the OAuth client, its profile and its subscriptions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationView {
    /// The client record (its `id` is the `client_id`).
    pub client: Client,
    /// Owner and contact.
    pub profile: AppProfile,
    /// Its subscriptions.
    pub subscriptions: Vec<SubscriptionView>,
}

/// Answer to application creation: the client secret appears here once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApplication {
    /// The application.
    pub application: ApplicationView,
    /// The `client_id`.
    pub client_id: String,
    /// The client secret (secret methods only), shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// A client secret's metadata (never the secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretView {
    /// Id.
    pub id: String,
    /// Created (seconds since the epoch).
    pub created_at: i64,
    /// Stops working at (seconds since the epoch), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Whether it works now.
    pub valid: bool,
}

/// `POST /admin/v1/applications/{id}/subscriptions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subscribe {
    /// API id or name.
    pub api: String,
    /// Plan name.
    pub plan: String,
}

/// A subscription with the names and contacts an owner needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionView {
    /// The record.
    #[serde(flatten)]
    pub subscription: Subscription,
    /// The application's name.
    pub application_name: String,
    /// The API's name.
    pub api_name: String,
    /// The application's contact email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// The application owner's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_email: Option<String>,
}

/// `POST /admin/v1/subscriptions/{id}/approve|reject|revoke`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decide {
    /// Why (kept in the audit log; at most 512 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A page of a list: `next` is the `offset` of the following page, when there is one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// Items.
    pub items: Vec<T>,
    /// Offset of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<usize>,
}

/// Requests per day of one application to one API, with errors and p99 latency: what the
/// usage charts plot.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyUsage {
    /// UTC days (`YYYY-MM-DD`), oldest first.
    pub days: Vec<String>,
    /// One series per application (or API), a count per day.
    pub series: Vec<DailySeries>,
    /// Share of requests answered 4xx or 5xx per day, in percent.
    pub error_rate: Vec<f64>,
    /// p99 latency per day (ms), when there were requests.
    pub p99_ms: Vec<Option<u64>>,
}

/// One application's (or API's) requests per day.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailySeries {
    /// Application or API id.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Requests per day.
    pub counts: Vec<u64>,
}
