//! `/admin/v1/...`: JSON over the [`ManageService`], behind admin-token authentication and a
//! per-address rate limit.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use gatehouse_net::RequestId;
use gatehouse_proto::admin::{
    AdminTokenRotated, ApiKeyView, CreateApi, CreateApiKey, CreateClient, GrantRequest, KeyView,
    List, RotateKeys, RotateSecret,
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

use crate::service::{Actor, api_key_view};
use crate::{ManageError, ManageService};

/// The session cookie of the portal and the admin API.
pub const SESSION_COOKIE: &str = "gatehouse_session";
/// The header unsafe requests authenticated by the session cookie must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Debug)]
pub(crate) struct AdminState {
    pub(crate) service: ManageService,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

/// Admin API rate limit per source address.
#[derive(Debug, Clone, Copy)]
pub struct AdminRateLimit {
    /// Sustained requests per second.
    pub per_second: NonZeroU32,
    /// Burst size.
    pub burst: NonZeroU32,
}

impl Default for AdminRateLimit {
    fn default() -> Self {
        Self {
            per_second: NonZeroU32::MIN.saturating_add(49),
            burst: NonZeroU32::MIN.saturating_add(99),
        }
    }
}

type Result<T> = std::result::Result<T, ManageError>;

mod accounts;
pub use accounts::session_cookie;
mod applications;
mod catalog;
mod policies;

/// The admin API routes.
pub fn router(service: ManageService, limit: AdminRateLimit) -> Router {
    let state = Arc::new(AdminState {
        service,
        limiter: RateLimiter::keyed(Quota::per_second(limit.per_second).allow_burst(limit.burst)),
    });
    Router::new()
        .route("/admin/v1/apis", get(list_apis).post(create_api))
        .route("/admin/v1/apis/{api}", get(show_api).delete(delete_api))
        .route(
            "/admin/v1/apis/{api}/resource-servers",
            axum::routing::put(set_resource_servers),
        )
        .route(
            "/admin/v1/apis/{api}/owners",
            axum::routing::put(set_owners),
        )
        .route("/admin/v1/clients", get(list_clients).post(create_client))
        .route(
            "/admin/v1/clients/{id}",
            get(show_client).delete(delete_client),
        )
        .route("/admin/v1/clients/{id}/rotate-secret", post(rotate_secret))
        .route("/admin/v1/clients/{id}/revoke-tokens", post(revoke_tokens))
        .route(
            "/admin/v1/clients/{id}/api-keys",
            get(list_api_keys).post(create_api_key),
        )
        .route(
            "/admin/v1/clients/{id}/api-keys/{key}/revoke",
            post(revoke_api_key),
        )
        .route(
            "/admin/v1/clients/{id}/dns-names",
            axum::routing::put(set_dns_names),
        )
        .route(
            "/admin/v1/clients/{id}/certificates",
            get(list_client_certificates).post(issue_certificate),
        )
        .route("/admin/v1/certificates", get(list_certificates))
        .route(
            "/admin/v1/certificates/{serial}/revoke",
            post(revoke_certificate),
        )
        .route("/admin/v1/grants", get(list_grants).put(put_grant))
        .route("/admin/v1/grants/{client}/{api}", delete(delete_grant))
        .route("/admin/v1/keys", get(list_keys))
        .route("/admin/v1/keys/rotate", post(rotate_keys))
        .route("/admin/v1/keys/{kid}/revoke", post(revoke_key))
        .route("/admin/v1/admin-token/rotate", post(rotate_admin_token))
        .route("/admin/v1/audit", get(list_audit))
        .route("/admin/v1/audit.csv", get(export_audit))
        .route("/admin/v1/revocations", get(revocations))
        .route("/admin/v1/clients/{id}/usage", get(client_usage))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .with_state(Arc::clone(&state))
        .merge(accounts::router(Arc::clone(&state)))
        .merge(catalog::router(Arc::clone(&state)))
        .merge(applications::router(Arc::clone(&state)))
        .merge(policies::router(state))
        .fallback(|| async { ManageError::NotFound("route".into()) })
}

pub(crate) fn request_id(req: &Request) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|r| r.0.to_string())
        .unwrap_or_default()
}

/// Whether the caller's address has used up its rate.
pub(crate) fn rate_limited(state: &AdminState, req: &Request) -> bool {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| state.limiter.check_key(&c.0.ip()).is_err())
}

/// Whether the method changes something (and so needs the CSRF token under a cookie).
fn is_unsafe(method: &axum::http::Method) -> bool {
    !matches!(
        *method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    )
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Who is calling: the admin token (`Authorization: Bearer`), or a signed-in user (session
/// cookie; an unsafe method must also carry the session's CSRF token in `X-CSRF-Token`).
/// A wrong credential is an error, never a fall-through to another one.
pub(crate) async fn authenticate(
    state: &AdminState,
    headers: &axum::http::HeaderMap,
    method: &axum::http::Method,
) -> Result<Actor> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let ok = v
            .to_str()
            .is_ok_and(|v| state.service.state().admin_tokens.verify_bearer_header(v));
        return if ok {
            Ok(Actor::AdminToken)
        } else {
            Err(ManageError::Unauthenticated)
        };
    }
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Err(ManageError::Unauthenticated);
    };
    let Some(user) = state.service.session_user(secret).await? else {
        return Err(ManageError::Unauthenticated);
    };
    if is_unsafe(method) {
        let given = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !crate::service::csrf_matches(secret, given) {
            return Err(ManageError::Forbidden(
                "the X-CSRF-Token header is missing or wrong".into(),
            ));
        }
    }
    Ok(Actor::User(user))
}

/// Rate limit, then authentication; the actor goes into the request's extensions. With
/// `admin_only`, a signed-in developer is refused (403).
async fn admit(state: &AdminState, mut req: Request, next: Next, admin_only: bool) -> Response {
    let request_id = request_id(&req);
    if rate_limited(state, &req) {
        return ManageError::RateLimited.to_response(&request_id);
    }
    let actor = match authenticate(state, req.headers(), req.method()).await {
        Ok(a) => a,
        Err(e) => return e.to_response(&request_id),
    };
    if admin_only && !actor.is_admin() {
        return ManageError::Forbidden("admins only".into()).to_response(&request_id);
    }
    req.extensions_mut().insert(actor);
    let resp = next.run(req).await;
    if resp.status().is_server_error() {
        tracing::error!(request_id, status = %resp.status(), "admin request failed");
    }
    resp
}

/// The admin-only routes' guard: the admin token or an admin's session.
async fn guard(State(state): State<Arc<AdminState>>, req: Request, next: Next) -> Response {
    admit(&state, req, next, true).await
}

/// The guard of routes every signed-in user may call (each checks what the actor may see).
pub(crate) async fn signed_in(
    State(state): State<Arc<AdminState>>,
    req: Request,
    next: Next,
) -> Response {
    admit(&state, req, next, false).await
}

/// JSON bodies: a malformed one is a 400 problem, not axum's plain-text rejection.
pub(crate) struct Body<T>(pub(crate) T);

impl<T, S> axum::extract::FromRequest<S> for Body<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ManageError;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(ManageError::Invalid(e.body_text())),
        }
    }
}

/// A JSON body whose members are all optional: an empty body (a bare `POST`) means defaults.
pub(crate) struct OptionalBody<T>(pub(crate) T);

impl<T, S> axum::extract::FromRequest<S> for OptionalBody<T>
where
    T: serde::de::DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ManageError;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 64 * 1024)
            .await
            .map_err(|_| ManageError::Invalid("request body too large or unreadable".into()))?;
        if bytes.is_empty() {
            return Ok(OptionalBody(T::default()));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        let Body(v) = Body::<T>::from_request(req, state).await?;
        Ok(OptionalBody(v))
    }
}

async fn list_apis(State(s): State<Arc<AdminState>>) -> Json<List<gatehouse_core::Api>> {
    Json(List {
        items: s.service.list_apis(),
    })
}

async fn create_api(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Body(req): Body<CreateApi>,
) -> Result<Response> {
    let api = s.service.create_api(&actor.audit_name(), req).await?;
    Ok((StatusCode::CREATED, Json(api)).into_response())
}

async fn show_api(
    State(s): State<Arc<AdminState>>,
    Path(key): Path<String>,
) -> Result<Json<gatehouse_core::Api>> {
    Ok(Json((*s.service.find_api(&key)?).clone()))
}

async fn set_resource_servers(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(key): Path<String>,
    Body(req): Body<gatehouse_proto::admin::SetResourceServers>,
) -> Result<Json<gatehouse_core::Api>> {
    Ok(Json(
        s.service
            .set_resource_servers(&actor.audit_name(), &key, &req.clients)
            .await?,
    ))
}

async fn set_owners(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(key): Path<String>,
    Body(req): Body<gatehouse_proto::admin::SetOwners>,
) -> Result<Json<gatehouse_core::Api>> {
    Ok(Json(
        s.service
            .set_owners(&actor.audit_name(), &key, &req.clients)
            .await?,
    ))
}

async fn delete_api(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(key): Path<String>,
) -> Result<StatusCode> {
    s.service.delete_api(&actor.audit_name(), &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_clients(State(s): State<Arc<AdminState>>) -> Json<List<gatehouse_core::Client>> {
    Json(List {
        items: s.service.list_clients(),
    })
}

async fn create_client(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Body(req): Body<CreateClient>,
) -> Result<Response> {
    let created = s.service.create_client(&actor.audit_name(), req).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn show_client(
    State(s): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>> {
    let entry = s.service.get_client(&id)?;
    let now = s.service.state().now();
    let secrets: Vec<serde_json::Value> = entry
        .secrets
        .iter()
        .map(|sec| {
            serde_json::json!({
                "id": sec.id, "created_at": sec.created_at, "expires_at": sec.expires_at, "valid": sec.is_valid_at(now)
            })
        })
        .collect();
    let mut grants: Vec<_> = entry.subscriptions.values().cloned().collect();
    grants.sort_by_key(|a| a.created_at);
    let api_keys: Vec<ApiKeyView> = entry
        .api_keys
        .iter()
        .map(|k| api_key_view(k, now))
        .collect();
    Ok(Json(serde_json::json!({
        "client": entry.client, "secrets": secrets, "grants": grants, "api_keys": api_keys
    })))
}

async fn delete_client(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    s.service.delete_client(&actor.audit_name(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_dns_names(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(req): Body<gatehouse_proto::admin::SetDnsNames>,
) -> Result<Json<gatehouse_core::Client>> {
    Ok(Json(
        s.service
            .set_dns_names(&actor.audit_name(), &id, &req.dns_names)
            .await?,
    ))
}

async fn issue_certificate(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(req): Body<gatehouse_proto::ca::SignRequest>,
) -> Result<Response> {
    let signed = s
        .service
        .issue_certificate(&actor.audit_name(), &id, &req.csr, req.ttl.as_deref())
        .await?;
    Ok(no_store(
        (StatusCode::CREATED, Json(signed)).into_response(),
    ))
}

async fn list_client_certificates(
    State(s): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> Result<Json<List<gatehouse_proto::ca::CertificateView>>> {
    Ok(Json(List {
        items: s.service.list_certificates(Some(&id)).await?,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateFilter {
    client: Option<String>,
}

async fn list_certificates(
    State(s): State<Arc<AdminState>>,
    Query(f): Query<CertificateFilter>,
) -> Result<Json<List<gatehouse_proto::ca::CertificateView>>> {
    Ok(Json(List {
        items: s.service.list_certificates(f.client.as_deref()).await?,
    }))
}

async fn revoke_certificate(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(serial): Path<String>,
) -> Result<StatusCode> {
    s.service
        .revoke_certificate(&actor.audit_name(), &serial)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_secret(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    OptionalBody(req): OptionalBody<RotateSecret>,
) -> Result<Response> {
    let rotated = s
        .service
        .rotate_secret(&actor.audit_name(), &id, req.grace.as_deref())
        .await?;
    Ok(no_store(Json(rotated).into_response()))
}

async fn revoke_tokens(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Response> {
    Ok(Json(s.service.revoke_tokens(&actor.audit_name(), &id).await?).into_response())
}

async fn create_api_key(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    OptionalBody(req): OptionalBody<CreateApiKey>,
) -> Result<Response> {
    let created = s
        .service
        .create_api_key(&actor.audit_name(), &id, req.expires_in.as_deref())
        .await?;
    Ok(no_store(
        (StatusCode::CREATED, Json(created)).into_response(),
    ))
}

async fn list_api_keys(
    State(s): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> Result<Json<List<ApiKeyView>>> {
    Ok(Json(List {
        items: s.service.list_api_keys(&id).await?,
    }))
}

async fn revoke_api_key(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode> {
    s.service
        .revoke_api_key(&actor.audit_name(), &id, &key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantFilter {
    client: Option<String>,
    api: Option<String>,
}

async fn list_grants(
    State(s): State<Arc<AdminState>>,
    Query(f): Query<GrantFilter>,
) -> Result<Json<List<gatehouse_core::Subscription>>> {
    Ok(Json(List {
        items: s
            .service
            .list_grants(f.client.as_deref(), f.api.as_deref())?,
    }))
}

async fn put_grant(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Body(req): Body<GrantRequest>,
) -> Result<Json<gatehouse_core::Subscription>> {
    Ok(Json(s.service.grant(&actor.audit_name(), req).await?))
}

async fn delete_grant(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path((client, api)): Path<(String, String)>,
) -> Result<StatusCode> {
    s.service
        .revoke_grant(&actor.audit_name(), &client, &api)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_keys(State(s): State<Arc<AdminState>>) -> Result<Json<List<KeyView>>> {
    let records = s.service.state().store.list_keys().await?;
    let items = records
        .into_iter()
        .map(|r| KeyView {
            kid: r.kid.to_string(),
            alg: r.alg.to_string(),
            state: r.state.as_str().to_owned(),
            created_at: r.created_at.0,
            activated_at: r.activated_at.map(|t| t.0),
            retired_at: r.retired_at.map(|t| t.0),
            publish_until: r.publish_until.map(|t| t.0),
        })
        .collect();
    Ok(Json(List { items }))
}

async fn rotate_keys(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    OptionalBody(req): OptionalBody<RotateKeys>,
) -> Result<StatusCode> {
    s.service
        .rotate_keys(&actor.audit_name(), req.alg.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_key(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(kid): Path<String>,
) -> Result<StatusCode> {
    s.service.revoke_key(&actor.audit_name(), &kid).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_admin_token(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
) -> Result<Response> {
    let token = s.service.rotate_admin_token(&actor.audit_name()).await?;
    Ok(no_store(
        Json(AdminTokenRotated {
            admin_token: token.expose().to_owned(),
        })
        .into_response(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<u32>,
    before: Option<i64>,
}

/// The audit log as CSV (newest first, at most 100,000 events), for spreadsheets and
/// auditors. Text fields are quoted, and cells that a spreadsheet would run as a formula are
/// prefixed with `'`.
async fn export_audit(
    State(s): State<Arc<AdminState>>,
    Query(q): Query<AuditQuery>,
) -> Result<Response> {
    let limit = q.limit.unwrap_or(100_000).clamp(1, 100_000);
    let mut out = String::from("id,at,time,actor,action,target,detail\r\n");
    let mut before = q.before;
    let mut left = limit;
    while left > 0 {
        let page = s
            .service
            .state()
            .store
            .list_audit(left.min(1000), before)
            .await?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        left = left.saturating_sub(u32::try_from(page.len()).unwrap_or(u32::MAX));
        for e in &page {
            let time = std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(u64::try_from(e.at.0).unwrap_or(0));
            let cells = [
                e.id.to_string(),
                e.at.0.to_string(),
                humantime::format_rfc3339_seconds(time).to_string(),
                csv_cell(&e.actor),
                csv_cell(&e.action),
                csv_cell(&e.target),
                csv_cell(&e.detail.to_string()),
            ];
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
    }
    let mut resp = out.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        axum::http::HeaderValue::from_static("attachment; filename=\"gatehouse-audit.csv\""),
    );
    Ok(no_store(resp))
}

/// One quoted CSV cell; a leading `=`, `+`, `-`, `@`, tab or CR is defused with `'` (CSV
/// injection).
fn csv_cell(v: &str) -> String {
    let defused = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

async fn list_audit(
    State(s): State<Arc<AdminState>>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<List<gatehouse_core::AuditEvent>>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(List {
        items: s.service.state().store.list_audit(limit, q.before).await?,
    }))
}

/// What gateways and resource servers need to honour revocations: the `jti` deny list (until
/// each token's expiry) and the per-client cut-offs.
async fn revocations(State(s): State<Arc<AdminState>>) -> Json<serde_json::Value> {
    let catalog = s.service.state().catalog.get();
    let mut tokens: Vec<(&String, &gatehouse_core::UnixTime)> = catalog.revoked().collect();
    tokens.sort();
    let mut clients: Vec<(&gatehouse_core::ClientId, gatehouse_core::UnixTime)> = catalog
        .clients()
        .filter_map(|c| c.client.tokens_not_before.map(|nb| (&c.client.id, nb)))
        .collect();
    clients.sort();
    Json(serde_json::json!({
        "tokens": tokens
            .iter()
            .map(|(jti, exp)| serde_json::json!({ "jti": jti, "expires_at": exp }))
            .collect::<Vec<_>>(),
        "clients": clients
            .iter()
            .map(|(id, nb)| serde_json::json!({ "client_id": id, "tokens_not_before": nb }))
            .collect::<Vec<_>>(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsageParams {
    pub(crate) from: Option<i64>,
    pub(crate) to: Option<i64>,
    pub(crate) by: Option<String>,
}

async fn client_usage(
    State(s): State<Arc<AdminState>>,
    Path(id): Path<String>,
    Query(q): Query<UsageParams>,
) -> Result<Json<crate::UsageReport>> {
    let by = q.by.as_deref().unwrap_or("api").parse()?;
    Ok(Json(s.service.client_usage(&id, q.from, q.to, by).await?))
}

pub(crate) fn no_store(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    resp
}
