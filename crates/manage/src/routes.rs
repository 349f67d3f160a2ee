//! `/admin/v1/...`: JSON over the [`ManageService`], behind admin-token authentication and a
//! per-address rate limit.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use gatehouse_net::RequestId;
use gatehouse_proto::admin::{
    AdminTokenRotated, ApiKeyView, ClientDetail, CreateApi, CreateApiKey, CreateClient,
    GrantRequest, KeyView, List, RotateKeys, RotateSecret,
};
use gatehouse_proto::portal::SecretView;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use doc::{BadRequest, Conflict, Guard, NotFound};

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
mod audit;
mod catalog;
mod doc;
mod extract;
mod policies;

pub(crate) use extract::{Body, Id, OptionalBody, Params};

/// The admin API routes, and the OpenAPI document that describes them (served at
/// `/admin/v1/openapi.json`; see [`doc`]).
pub fn router(service: ManageService, limit: AdminRateLimit) -> Router {
    let state = Arc::new(AdminState {
        service,
        limiter: RateLimiter::keyed(Quota::per_second(limit.per_second).allow_burst(limit.burst)),
    });
    let document = Arc::new(OnceLock::new());
    let (router, mut openapi) = OpenApiRouter::with_openapi(doc::AdminApiDoc::openapi())
        .merge(admin_router(Arc::clone(&state)))
        .merge(accounts::router(Arc::clone(&state)))
        .merge(catalog::router(Arc::clone(&state)))
        .merge(applications::router(Arc::clone(&state)))
        .merge(policies::router(state))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(doc::openapi_json))
                .with_state(Arc::clone(&document)),
        )
        .split_for_parts();
    doc::finish(&mut openapi);
    let json = openapi.to_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI document does not serialize");
        String::new()
    });
    // The cell was created above and is set only here.
    let _ = document.set(json);
    router.fallback(|| async { ManageError::NotFound("route".into()) })
}

/// Routes only admins may call (the admin token or an admin's session).
fn admin_router(state: Arc<AdminState>) -> OpenApiRouter {
    let r = OpenApiRouter::new()
        .routes(routes!(list_apis, create_api))
        .routes(routes!(show_api, delete_api))
        .routes(routes!(set_resource_servers))
        .routes(routes!(set_owners))
        .routes(routes!(list_clients, create_client))
        .routes(routes!(show_client, delete_client))
        .routes(routes!(rotate_secret))
        .routes(routes!(revoke_tokens))
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(revoke_api_key))
        .routes(routes!(set_dns_names))
        .routes(routes!(list_client_certificates, issue_certificate))
        .routes(routes!(list_certificates))
        .routes(routes!(revoke_certificate))
        .routes(routes!(list_grants, put_grant))
        .routes(routes!(delete_grant))
        .routes(routes!(list_keys))
        .routes(routes!(rotate_keys))
        .routes(routes!(revoke_key))
        .routes(routes!(rotate_admin_token))
        .routes(routes!(client_usage));
    let mut r = audit::routes(r)
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .with_state(state);
    Guard::Admin.document(r.get_openapi_mut());
    r
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

#[utoipa::path(
    get, path = "/admin/v1/apis", tag = "apis",
    responses((status = 200, description = "Every API, oldest first", body = List<gatehouse_core::Api>))
)]
async fn list_apis(State(s): State<Arc<AdminState>>) -> Json<List<gatehouse_core::Api>> {
    Json(List {
        items: s.service.list_apis(),
    })
}

#[utoipa::path(
    post, path = "/admin/v1/apis", tag = "apis", request_body = CreateApi,
    responses(
        (status = 201, description = "The API", body = gatehouse_core::Api),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
    )
)]
async fn create_api(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Body(req): Body<CreateApi>,
) -> Result<Response> {
    let api = s.service.create_api(&actor.audit_name(), req).await?;
    Ok((StatusCode::CREATED, Json(api)).into_response())
}

#[utoipa::path(
    get, path = "/admin/v1/apis/{api}", tag = "apis", params(("api" = String, Path, description = "API id, name or audience")),
    responses(
        (status = 200, description = "The API", body = gatehouse_core::Api),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn show_api(
    State(s): State<Arc<AdminState>>,
    Id(key): Id<String>,
) -> Result<Json<gatehouse_core::Api>> {
    Ok(Json((*s.service.find_api(&key)?).clone()))
}

#[utoipa::path(
    put, path = "/admin/v1/apis/{api}/resource-servers", tag = "apis", params(("api" = String, Path, description = "API id, name or audience")),
    request_body = gatehouse_proto::admin::SetResourceServers,
    responses(
        (status = 200, description = "The API (idempotent: the list replaces the previous one)", body = gatehouse_core::Api),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn set_resource_servers(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(key): Id<String>,
    Body(req): Body<gatehouse_proto::admin::SetResourceServers>,
) -> Result<Json<gatehouse_core::Api>> {
    Ok(Json(
        s.service
            .set_resource_servers(&actor.audit_name(), &key, &req.clients)
            .await?,
    ))
}

#[utoipa::path(
    put, path = "/admin/v1/apis/{api}/owners", tag = "apis", params(("api" = String, Path, description = "API id, name or audience")),
    request_body = gatehouse_proto::admin::SetOwners,
    responses(
        (status = 200, description = "The API (idempotent: the list replaces the previous one)", body = gatehouse_core::Api),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn set_owners(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(key): Id<String>,
    Body(req): Body<gatehouse_proto::admin::SetOwners>,
) -> Result<Json<gatehouse_core::Api>> {
    Ok(Json(
        s.service
            .set_owners(&actor.audit_name(), &key, &req.clients)
            .await?,
    ))
}

#[utoipa::path(
    delete, path = "/admin/v1/apis/{api}", tag = "apis", params(("api" = String, Path, description = "API id, name or audience")),
    responses(
        (status = 204, description = "Deleted, with its grants"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn delete_api(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(key): Id<String>,
) -> Result<StatusCode> {
    s.service.delete_api(&actor.audit_name(), &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/admin/v1/clients", tag = "clients",
    responses((status = 200, description = "Every client, oldest first", body = List<gatehouse_core::Client>))
)]
async fn list_clients(State(s): State<Arc<AdminState>>) -> Json<List<gatehouse_core::Client>> {
    Json(List {
        items: s.service.list_clients(),
    })
}

#[utoipa::path(
    post, path = "/admin/v1/clients", tag = "clients", request_body = CreateClient,
    responses(
        (status = 201, description = "The client; its secret appears here only", body = gatehouse_proto::admin::CreatedClient),
        (status = 400, response = BadRequest),
    )
)]
async fn create_client(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Body(req): Body<CreateClient>,
) -> Result<Response> {
    let created = s.service.create_client(&actor.audit_name(), req).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(
    get, path = "/admin/v1/clients/{id}", tag = "clients", params(("id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "The client with its credentials' metadata and grants", body = ClientDetail),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn show_client(
    State(s): State<Arc<AdminState>>,
    Id(id): Id<String>,
) -> Result<Json<ClientDetail>> {
    let entry = s.service.get_client(&id)?;
    let now = s.service.state().now();
    let secrets = entry
        .secrets
        .iter()
        .map(|sec| SecretView {
            id: sec.id.to_string(),
            created_at: sec.created_at.0,
            expires_at: sec.expires_at.map(|t| t.0),
            valid: sec.is_valid_at(now),
        })
        .collect();
    let mut grants: Vec<_> = entry.subscriptions.values().cloned().collect();
    grants.sort_by_key(|a| a.created_at);
    let api_keys: Vec<ApiKeyView> = entry
        .api_keys
        .iter()
        .map(|k| api_key_view(k, now))
        .collect();
    Ok(Json(ClientDetail {
        client: entry.client.clone(),
        secrets,
        grants,
        api_keys,
    }))
}

#[utoipa::path(
    delete, path = "/admin/v1/clients/{id}", tag = "clients", params(("id" = String, Path, description = "Client id")),
    responses(
        (status = 204, description = "Deleted, with its secrets, keys and grants"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn delete_client(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
) -> Result<StatusCode> {
    s.service.delete_client(&actor.audit_name(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put, path = "/admin/v1/clients/{id}/dns-names", tag = "clients", params(("id" = String, Path, description = "Client id")),
    request_body = gatehouse_proto::admin::SetDnsNames,
    responses(
        (status = 200, description = "The client (idempotent: the list replaces the previous one)", body = gatehouse_core::Client),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn set_dns_names(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
    Body(req): Body<gatehouse_proto::admin::SetDnsNames>,
) -> Result<Json<gatehouse_core::Client>> {
    Ok(Json(
        s.service
            .set_dns_names(&actor.audit_name(), &id, &req.dns_names)
            .await?,
    ))
}

#[utoipa::path(
    post, path = "/admin/v1/clients/{id}/certificates", tag = "clients", params(("id" = String, Path, description = "Client id")),
    request_body = gatehouse_proto::ca::SignRequest,
    responses(
        (status = 201, description = "The certificate the CA issued", body = gatehouse_proto::ca::SignedCertificate),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn issue_certificate(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
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

#[utoipa::path(
    get, path = "/admin/v1/clients/{id}/certificates", tag = "clients", params(("id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "The client's certificates", body = List<gatehouse_proto::ca::CertificateView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn list_client_certificates(
    State(s): State<Arc<AdminState>>,
    Id(id): Id<String>,
) -> Result<Json<List<gatehouse_proto::ca::CertificateView>>> {
    Ok(Json(List {
        items: s.service.list_certificates(Some(&id)).await?,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CertificateFilter {
    /// Only this client's certificates.
    client: Option<String>,
}

#[utoipa::path(
    get, path = "/admin/v1/certificates", tag = "clients", params(CertificateFilter),
    responses(
        (status = 200, description = "Issued certificates", body = List<gatehouse_proto::ca::CertificateView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn list_certificates(
    State(s): State<Arc<AdminState>>,
    Params(f): Params<CertificateFilter>,
) -> Result<Json<List<gatehouse_proto::ca::CertificateView>>> {
    Ok(Json(List {
        items: s.service.list_certificates(f.client.as_deref()).await?,
    }))
}

#[utoipa::path(
    post, path = "/admin/v1/certificates/{serial}/revoke", tag = "clients",
    params(("serial" = String, Path, description = "Serial number, hexadecimal")),
    responses(
        (status = 204, description = "Revoked (its serial is deny-listed)"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn revoke_certificate(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(serial): Id<String>,
) -> Result<StatusCode> {
    s.service
        .revoke_certificate(&actor.audit_name(), &serial)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/admin/v1/clients/{id}/rotate-secret", operation_id = "client_rotate_secret", tag = "clients", params(("id" = String, Path, description = "Client id")),
    request_body(content = Option<RotateSecret>, description = "Optional; an empty body means no grace"),
    responses(
        (status = 200, description = "The new secret, shown once", body = gatehouse_proto::admin::RotatedSecret),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn rotate_secret(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
    OptionalBody(req): OptionalBody<RotateSecret>,
) -> Result<Response> {
    let rotated = s
        .service
        .rotate_secret(&actor.audit_name(), &id, req.grace.as_deref())
        .await?;
    Ok(no_store(Json(rotated).into_response()))
}

#[utoipa::path(
    post, path = "/admin/v1/clients/{id}/revoke-tokens", tag = "clients", params(("id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "Every token issued so far is invalid", body = gatehouse_proto::admin::TokensRevoked),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn revoke_tokens(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
) -> Result<Response> {
    Ok(Json(s.service.revoke_tokens(&actor.audit_name(), &id).await?).into_response())
}

#[utoipa::path(
    post, path = "/admin/v1/clients/{id}/api-keys", operation_id = "client_create_api_key", tag = "clients", params(("id" = String, Path, description = "Client id")),
    request_body(content = Option<CreateApiKey>, description = "Optional; an empty body means a key that never expires"),
    responses(
        (status = 201, description = "The key, shown once", body = gatehouse_proto::admin::CreatedApiKey),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn create_api_key(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
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

#[utoipa::path(
    get, path = "/admin/v1/clients/{id}/api-keys", operation_id = "client_list_api_keys", tag = "clients", params(("id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "The client's API keys (metadata only)", body = List<ApiKeyView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn list_api_keys(
    State(s): State<Arc<AdminState>>,
    Id(id): Id<String>,
) -> Result<Json<List<ApiKeyView>>> {
    Ok(Json(List {
        items: s.service.list_api_keys(&id).await?,
    }))
}

#[utoipa::path(
    post, path = "/admin/v1/clients/{id}/api-keys/{key}/revoke", operation_id = "client_revoke_api_key", tag = "clients",
    params(("id" = String, Path, description = "Client id"), ("key" = String, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn revoke_api_key(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id((id, key)): Id<(String, String)>,
) -> Result<StatusCode> {
    s.service
        .revoke_api_key(&actor.audit_name(), &id, &key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct GrantFilter {
    /// Only this client's grants.
    client: Option<String>,
    /// Only grants on this API (id, name or audience).
    api: Option<String>,
}

#[utoipa::path(
    get, path = "/admin/v1/grants", tag = "subscriptions", params(GrantFilter),
    responses(
        (status = 200, description = "Grants (subscriptions), oldest first", body = List<gatehouse_core::Subscription>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn list_grants(
    State(s): State<Arc<AdminState>>,
    Params(f): Params<GrantFilter>,
) -> Result<Json<List<gatehouse_core::Subscription>>> {
    Ok(Json(List {
        items: s
            .service
            .list_grants(f.client.as_deref(), f.api.as_deref())?,
    }))
}

#[utoipa::path(
    put, path = "/admin/v1/grants", tag = "subscriptions", request_body = GrantRequest,
    responses(
        (status = 200, description = "The approved subscription (idempotent: the scopes replace the previous set)", body = gatehouse_core::Subscription),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn put_grant(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Body(req): Body<GrantRequest>,
) -> Result<Json<gatehouse_core::Subscription>> {
    Ok(Json(s.service.grant(&actor.audit_name(), req).await?))
}

#[utoipa::path(
    delete, path = "/admin/v1/grants/{client}/{api}", tag = "subscriptions",
    params(("client" = String, Path, description = "Client id"), ("api" = String, Path, description = "API id, name or audience")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn delete_grant(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id((client, api)): Id<(String, String)>,
) -> Result<StatusCode> {
    s.service
        .revoke_grant(&actor.audit_name(), &client, &api)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/admin/v1/keys", tag = "keys",
    responses((status = 200, description = "Signing keys (public parts only)", body = List<KeyView>))
)]
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

#[utoipa::path(
    post, path = "/admin/v1/keys/rotate", tag = "keys",
    request_body(content = Option<RotateKeys>, description = "Optional; an empty body rotates every algorithm in use"),
    responses(
        (status = 204, description = "Rotated"),
        (status = 400, response = BadRequest),
    )
)]
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

#[utoipa::path(
    post, path = "/admin/v1/keys/{kid}/revoke", tag = "keys",
    params(("kid" = String, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked: unpublished at once, its tokens invalid"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn revoke_key(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(kid): Id<String>,
) -> Result<StatusCode> {
    s.service.revoke_key(&actor.audit_name(), &kid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/admin/v1/admin-token/rotate", tag = "keys",
    responses((status = 200, description = "The new admin token, shown once; the old one stops working", body = AdminTokenRotated))
)]
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsageParams {
    /// Range start (seconds since the epoch; default: a day before `to`).
    #[param(minimum = 0, maximum = 253_402_300_799_i64)]
    pub(crate) from: Option<i64>,
    /// Range end, exclusive (default: the end of the current minute); at most 31 days after
    /// `from`.
    #[param(minimum = 0, maximum = 253_402_300_799_i64)]
    pub(crate) to: Option<i64>,
    /// Grouping: `application`, `operation` or `api`.
    #[param(pattern = "^(application|operation|api)$")]
    pub(crate) by: Option<String>,
}

#[utoipa::path(
    get, path = "/admin/v1/clients/{id}/usage", tag = "clients", params(("id" = String, Path, description = "Client id"), UsageParams),
    responses(
        (status = 200, description = "The client's usage across APIs", body = crate::UsageReport),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn client_usage(
    State(s): State<Arc<AdminState>>,
    Id(id): Id<String>,
    Params(q): Params<UsageParams>,
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
