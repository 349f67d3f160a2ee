//! Policy routes: the admin token may manage every policy; an API owner (an application
//! listed in the API's `owners`) manages its APIs' policies with a token for
//! `urn:gatehouse:policies` carrying `policies:write`.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use gatehouse_core::{DecisionRecord, PolicyRecord, UnixTime};
use gatehouse_proto::admin::{List, PutPolicy};
use serde::Deserialize;

use super::{AdminState, Body, Result, rate_limited, request_id};
use crate::ManageError;
use crate::service::{Attachment, Caller};

/// The policy routes, with their own authentication (admin token or owner token).
pub(super) fn router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route("/admin/v1/policies", get(list))
        .route(
            "/admin/v1/policies/global",
            get(show_global).put(put_global).delete(delete_global),
        )
        .route("/admin/v1/policies/global/versions", get(global_versions))
        .route(
            "/admin/v1/apis/{api}/policy",
            get(show_api).put(put_api).delete(delete_api),
        )
        .route("/admin/v1/apis/{api}/policy/versions", get(api_versions))
        .route(
            "/admin/v1/apis/{api}/operations/{op}/policy",
            get(show_op).put(put_op).delete(delete_op),
        )
        .route(
            "/admin/v1/apis/{api}/operations/{op}/policy/versions",
            get(op_versions),
        )
        .route("/admin/v1/apis/{api}/decisions", get(decisions))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .with_state(state)
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

async fn list(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
) -> Json<List<PolicyRecord>> {
    Json(List {
        items: s.service.list_policies(&caller),
    })
}

async fn show_global(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<PolicyRecord>> {
    Ok(Json(s.service.get_policy(&caller, Attachment::Global)?))
}

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

async fn delete_global(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
) -> Result<StatusCode> {
    s.service.delete_policy(&caller, Attachment::Global).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

async fn show_api(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Path(api): Path<String>,
) -> Result<Json<PolicyRecord>> {
    Ok(Json(s.service.get_policy(&caller, Attachment::Api(&api))?))
}

async fn put_api(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Path(api): Path<String>,
    Body(req): Body<PutPolicy>,
) -> Result<Response> {
    let (record, changed) = s
        .service
        .put_policy(&caller, Attachment::Api(&api), req)
        .await?;
    Ok(put_response(record, changed))
}

async fn delete_api(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Path(api): Path<String>,
) -> Result<StatusCode> {
    s.service
        .delete_policy(&caller, Attachment::Api(&api))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn api_versions(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Path(api): Path<String>,
) -> Result<Json<List<PolicyRecord>>> {
    let items = s
        .service
        .policy_versions(&caller, Attachment::Api(&api))
        .await?;
    Ok(Json(List { items }))
}

async fn show_op(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Path((api, op)): Path<(String, String)>,
) -> Result<Json<PolicyRecord>> {
    Ok(Json(
        s.service
            .get_policy(&caller, Attachment::Operation(&api, &op))?,
    ))
}

async fn put_op(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Path((api, op)): Path<(String, String)>,
    Body(req): Body<PutPolicy>,
) -> Result<Response> {
    let (record, changed) = s
        .service
        .put_policy(&caller, Attachment::Operation(&api, &op), req)
        .await?;
    Ok(put_response(record, changed))
}

async fn delete_op(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Path((api, op)): Path<(String, String)>,
) -> Result<StatusCode> {
    s.service
        .delete_policy(&caller, Attachment::Operation(&api, &op))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn op_versions(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Path((api, op)): Path<(String, String)>,
) -> Result<Json<List<PolicyRecord>>> {
    let items = s
        .service
        .policy_versions(&caller, Attachment::Operation(&api, &op))
        .await?;
    Ok(Json(List { items }))
}

/// `?since=<unix seconds>&limit=<n>` (default: the last day, 100 decisions).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionParams {
    since: Option<i64>,
    limit: Option<u32>,
}

async fn decisions(
    State(s): State<Arc<AdminState>>,
    Extension(caller): Extension<Caller>,
    Path(api): Path<String>,
    q: std::result::Result<Query<DecisionParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<List<DecisionRecord>>> {
    let Query(q) = q.map_err(|e| ManageError::Invalid(e.body_text()))?;
    let now = s.service.state().now();
    let since = q.since.map_or(UnixTime(now.0 - 86_400), UnixTime);
    let items = s
        .service
        .decisions(&caller, &api, since, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(List { items }))
}
