//! Policy routes: the admin token may manage every policy; an API owner (an application
//! listed in the API's `owners`) manages its APIs' policies with a token for
//! `urn:gatehouse:policies` carrying `policies:write`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use gatehouse_core::{DecisionRecord, PolicyRecord, UnixTime};
use gatehouse_proto::admin::{List, PutPolicy};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BadRequest, Conflict, Guard, NotFound};
use super::{AdminState, Body, Id, Params, Result, rate_limited, request_id};
use crate::ManageError;
use crate::service::{Attachment, Caller};

/// The policy routes, with their own authentication (admin token or owner token).
pub(super) fn router(state: Arc<AdminState>) -> OpenApiRouter {
    let mut r = OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show_global, put_global, delete_global))
        .routes(routes!(global_versions))
        .routes(routes!(show_api, put_api, delete_api))
        .routes(routes!(api_versions))
        .routes(routes!(show_op, put_op, delete_op))
        .routes(routes!(op_versions))
        .routes(routes!(decisions))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .with_state(state);
    Guard::Policy.document(r.get_openapi_mut());
    r
}

/// Rate limit, then the caller: the admin token, or an owner's access token.
async fn guard(State(state): State<Arc<AdminState>>, mut req: Request, next: Next) -> Response {
    let rid = request_id(&req);
    if rate_limited(&state, &req) {
        return ManageError::RateLimited.to_response(&rid);
    }
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let caller = match value.as_deref() {
        Some(v) if state.service.state().admin_tokens.verify_bearer_header(v) => Ok(Caller::Admin),
        Some(v) => match gatehouse_oauth::admin_auth::bearer_token(v) {
            Some(token) => state.service.owner_of_token(token),
            None => Err(ManageError::Unauthenticated),
        },
        None => Err(ManageError::Unauthenticated),
    };
    match caller {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.to_response(&rid),
    }
}

fn put_response(record: PolicyRecord, changed: bool) -> Response {
    let status = if changed && record.version == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(record)).into_response()
}

#[utoipa::path(
    get, path = "/admin/v1/policies", tag = "policies", operation_id = "list_policies",
    responses((status = 200, description = "The policies the caller may manage", body = List<PolicyRecord>))
)]
async fn list(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
) -> Json<List<PolicyRecord>> {
    Json(List {
        items: s.service.list_policies(&caller),
    })
}

#[utoipa::path(
    get, path = "/admin/v1/policies/global", tag = "policies", operation_id = "show_global_policy",
    responses(
        (status = 200, description = "The current version", body = PolicyRecord),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn show_global(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<PolicyRecord>> {
    Ok(Json(s.service.get_policy(&caller, Attachment::Global)?))
}

#[utoipa::path(
    put, path = "/admin/v1/policies/global", tag = "policies", operation_id = "put_global_policy", request_body = PutPolicy,
    responses(
        (status = 200, description = "The current version: a new one, or the same when nothing changed (idempotent)", body = PolicyRecord),
        (status = 201, description = "Version 1 of a new policy", body = PolicyRecord),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn put_global(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Body(req): Body<PutPolicy>,
) -> Result<Response> {
    let (record, changed) = s
        .service
        .put_policy(&caller, Attachment::Global, req)
        .await?;
    Ok(put_response(record, changed))
}

#[utoipa::path(
    delete, path = "/admin/v1/policies/global", tag = "policies", operation_id = "delete_global_policy",
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn delete_global(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
) -> Result<StatusCode> {
    s.service.delete_policy(&caller, Attachment::Global).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/admin/v1/policies/global/versions", tag = "policies", operation_id = "global_policy_versions",
    responses(
        (status = 200, description = "Every version, newest first", body = List<PolicyRecord>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn global_versions(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<List<PolicyRecord>>> {
    let items = s
        .service
        .policy_versions(&caller, Attachment::Global)
        .await?;
    Ok(Json(List { items }))
}

#[utoipa::path(
    get, path = "/admin/v1/apis/{api}/policy", tag = "policies", operation_id = "show_api_policy", params(("api" = String, Path, description = "API id, name or audience")),
    responses(
        (status = 200, description = "The current version", body = PolicyRecord),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn show_api(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Id(api): Id<String>,
) -> Result<Json<PolicyRecord>> {
    Ok(Json(s.service.get_policy(&caller, Attachment::Api(&api))?))
}

#[utoipa::path(
    put, path = "/admin/v1/apis/{api}/policy", tag = "policies", operation_id = "put_api_policy", params(("api" = String, Path, description = "API id, name or audience")), request_body = PutPolicy,
    responses(
        (status = 200, description = "The current version: a new one, or the same when nothing changed (idempotent)", body = PolicyRecord),
        (status = 201, description = "Version 1 of a new policy", body = PolicyRecord),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn put_api(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Id(api): Id<String>,
    Body(req): Body<PutPolicy>,
) -> Result<Response> {
    let (record, changed) = s
        .service
        .put_policy(&caller, Attachment::Api(&api), req)
        .await?;
    Ok(put_response(record, changed))
}

#[utoipa::path(
    delete, path = "/admin/v1/apis/{api}/policy", tag = "policies", operation_id = "delete_api_policy", params(("api" = String, Path, description = "API id, name or audience")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn delete_api(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Id(api): Id<String>,
) -> Result<StatusCode> {
    s.service
        .delete_policy(&caller, Attachment::Api(&api))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/admin/v1/apis/{api}/policy/versions", tag = "policies", operation_id = "api_policy_versions", params(("api" = String, Path, description = "API id, name or audience")),
    responses(
        (status = 200, description = "Every version, newest first", body = List<PolicyRecord>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn api_versions(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Id(api): Id<String>,
) -> Result<Json<List<PolicyRecord>>> {
    let items = s
        .service
        .policy_versions(&caller, Attachment::Api(&api))
        .await?;
    Ok(Json(List { items }))
}

#[utoipa::path(
    get, path = "/admin/v1/apis/{api}/operations/{op}/policy", tag = "policies", operation_id = "show_operation_policy", params(("api" = String, Path, description = "API id, name or audience"), ("op" = String, Path, description = "Operation name")),
    responses(
        (status = 200, description = "The current version", body = PolicyRecord),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn show_op(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Id((api, op)): Id<(String, String)>,
) -> Result<Json<PolicyRecord>> {
    Ok(Json(
        s.service
            .get_policy(&caller, Attachment::Operation(&api, &op))?,
    ))
}

#[utoipa::path(
    put, path = "/admin/v1/apis/{api}/operations/{op}/policy", tag = "policies", operation_id = "put_operation_policy", params(("api" = String, Path, description = "API id, name or audience"), ("op" = String, Path, description = "Operation name")), request_body = PutPolicy,
    responses(
        (status = 200, description = "The current version: a new one, or the same when nothing changed (idempotent)", body = PolicyRecord),
        (status = 201, description = "Version 1 of a new policy", body = PolicyRecord),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn put_op(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Id((api, op)): Id<(String, String)>,
    Body(req): Body<PutPolicy>,
) -> Result<Response> {
    let (record, changed) = s
        .service
        .put_policy(&caller, Attachment::Operation(&api, &op), req)
        .await?;
    Ok(put_response(record, changed))
}

#[utoipa::path(
    delete, path = "/admin/v1/apis/{api}/operations/{op}/policy", tag = "policies", operation_id = "delete_operation_policy", params(("api" = String, Path, description = "API id, name or audience"), ("op" = String, Path, description = "Operation name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn delete_op(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Id((api, op)): Id<(String, String)>,
) -> Result<StatusCode> {
    s.service
        .delete_policy(&caller, Attachment::Operation(&api, &op))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/admin/v1/apis/{api}/operations/{op}/policy/versions", tag = "policies", operation_id = "operation_policy_versions", params(("api" = String, Path, description = "API id, name or audience"), ("op" = String, Path, description = "Operation name")),
    responses(
        (status = 200, description = "Every version, newest first", body = List<PolicyRecord>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn op_versions(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Id((api, op)): Id<(String, String)>,
) -> Result<Json<List<PolicyRecord>>> {
    let items = s
        .service
        .policy_versions(&caller, Attachment::Operation(&api, &op))
        .await?;
    Ok(Json(List { items }))
}

/// `?since=<unix seconds>&limit=<n>` (default: the last day, 100 decisions).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DecisionParams {
    /// Only decisions since this time (seconds since the epoch; default: a day ago).
    since: Option<i64>,
    /// How many (default 100).
    limit: Option<u32>,
}

#[utoipa::path(
    get, path = "/admin/v1/apis/{api}/decisions", tag = "policies", params(("api" = String, Path, description = "API id, name or audience"), DecisionParams),
    responses(
        (status = 200, description = "Logged decisions of the API's policies, newest first", body = List<DecisionRecord>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn decisions(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Id(api): Id<String>,
    Params(q): Params<DecisionParams>,
) -> Result<Json<List<DecisionRecord>>> {
    let now = s.service.state().now();
    let since = q.since.map_or(UnixTime(now.0 - 86_400), UnixTime);
    let items = s
        .service
        .decisions(&caller, &api, since, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(List { items }))
}
