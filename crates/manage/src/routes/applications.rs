//! Applications (`/admin/v1/applications`) with their credentials, subscriptions and usage, and
//! subscriptions across applications (`/admin/v1/subscriptions`) with their approval.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use gatehouse_core::SubscriptionStatus;
use gatehouse_proto::admin::{
    ApiKeyView, CreateApiKey, CreatedApiKey, List, RotateSecret, RotatedSecret,
};
use gatehouse_proto::portal::{
    ApplicationView, CreateApplication, CreatedApplication, DailyUsage, Decide, Page, SecretView,
    Subscribe, SubscriptionView, UpdateApplication,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::catalog::DaysQuery;
use super::doc::{BadRequest, Conflict, Guard, NotFound};
use super::{AdminState, Body, Id, OptionalBody, Params, Result, UsageParams, no_store, signed_in};
use crate::service::{Actor, Decision, SubscriptionFilter, UsageOf};
use crate::{ManageError, UsageReport};

pub(super) fn router(state: Arc<AdminState>) -> OpenApiRouter {
    let mut r = OpenApiRouter::new()
        .routes(routes!(list_applications, create_application))
        .routes(routes!(
            show_application,
            update_application,
            delete_application
        ))
        .routes(routes!(list_secrets))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(revoke_api_key))
        .routes(routes!(app_subscriptions, subscribe))
        .routes(routes!(app_usage))
        .routes(routes!(app_daily))
        .routes(routes!(list_subscriptions))
        .routes(routes!(show_subscription, unsubscribe))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(revoke))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            signed_in,
        ))
        .with_state(state);
    Guard::SignedIn.document(r.get_openapi_mut());
    r
}

/// Paging parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    /// Items to skip (a previous page's `next`).
    offset: Option<usize>,
    /// Items per page (default 100, at most 500).
    limit: Option<usize>,
}

/// Filters of subscription lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct SubscriptionQuery {
    /// Only subscriptions to this API (id, name or audience).
    api: Option<String>,
    /// Only this application's subscriptions.
    application: Option<String>,
    /// `pending`, `approved`, `rejected` or `revoked`.
    #[param(value_type = Option<SubscriptionStatus>)]
    status: Option<String>,
    /// Items to skip (a previous page's `next`).
    offset: Option<usize>,
    /// Items per page (default 100, at most 500).
    limit: Option<usize>,
}

impl SubscriptionQuery {
    pub(super) fn into_filter(self) -> Result<SubscriptionFilter> {
        let status = self
            .status
            .as_deref()
            .map(|s| {
                s.parse::<SubscriptionStatus>().map_err(|_| {
                    ManageError::Invalid(
                        "status must be pending, approved, rejected or revoked".into(),
                    )
                })
            })
            .transpose()?;
        Ok(SubscriptionFilter {
            api: self.api,
            application: self.application,
            status,
            offset: self.offset.unwrap_or(0),
            limit: self.limit,
        })
    }
}

#[utoipa::path(
    get, path = "/admin/v1/applications", tag = "applications", params(PageQuery),
    responses(
        (status = 200, description = "A page of the applications the caller manages", body = Page<ApplicationView>),
        (status = 400, response = BadRequest),
    )
)]
async fn list_applications(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Params(q): Params<PageQuery>,
) -> Json<Page<ApplicationView>> {
    Json(
        s.service
            .list_applications(&actor, q.offset.unwrap_or(0), q.limit)
            .await,
    )
}

#[utoipa::path(
    post, path = "/admin/v1/applications", tag = "applications", request_body = CreateApplication,
    responses(
        (status = 201, description = "The application; its client secret appears here only", body = CreatedApplication),
        (status = 400, response = BadRequest),
    )
)]
async fn create_application(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Body(req): Body<CreateApplication>,
) -> Result<Response> {
    let created = s.service.create_application(&actor, req).await?;
    Ok(no_store(
        (StatusCode::CREATED, Json(created)).into_response(),
    ))
}

#[utoipa::path(
    get, path = "/admin/v1/applications/{id}", tag = "applications", params(("id" = String, Path, description = "Application (client) id")),
    responses(
        (status = 200, description = "The application", body = ApplicationView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn show_application(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
) -> Result<Json<ApplicationView>> {
    Ok(Json(s.service.get_application(&actor, &id).await?))
}

#[utoipa::path(
    patch, path = "/admin/v1/applications/{id}", tag = "applications", params(("id" = String, Path, description = "Application (client) id")), request_body = UpdateApplication,
    responses(
        (status = 200, description = "The application", body = ApplicationView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn update_application(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
    Body(req): Body<UpdateApplication>,
) -> Result<Json<ApplicationView>> {
    Ok(Json(s.service.update_application(&actor, &id, req).await?))
}

#[utoipa::path(
    delete, path = "/admin/v1/applications/{id}", tag = "applications", params(("id" = String, Path, description = "Application (client) id")),
    responses(
        (status = 204, description = "Deleted, with its credentials and subscriptions"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn delete_application(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
) -> Result<StatusCode> {
    s.service.delete_application(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/admin/v1/applications/{id}/secrets", tag = "applications", params(("id" = String, Path, description = "Application (client) id")),
    responses(
        (status = 200, description = "The application's client secrets (metadata only)", body = List<SecretView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn list_secrets(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
) -> Result<Json<List<SecretView>>> {
    Ok(Json(List {
        items: s.service.list_secrets(&actor, &id)?,
    }))
}

#[utoipa::path(
    post, path = "/admin/v1/applications/{id}/secrets/rotate", tag = "applications", operation_id = "application_rotate_secret", params(("id" = String, Path, description = "Application (client) id")),
    request_body(content = Option<RotateSecret>, description = "Optional; an empty body means no grace"),
    responses(
        (status = 201, description = "The new secret, shown once", body = RotatedSecret),
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
        .rotate_app_secret(&actor, &id, req.grace.as_deref())
        .await?;
    Ok(no_store(
        (StatusCode::CREATED, Json(rotated)).into_response(),
    ))
}

#[utoipa::path(
    get, path = "/admin/v1/applications/{id}/api-keys", tag = "applications", operation_id = "application_list_api_keys", params(("id" = String, Path, description = "Application (client) id")),
    responses(
        (status = 200, description = "The application's API keys (metadata only)", body = List<ApiKeyView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn list_api_keys(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
) -> Result<Json<List<ApiKeyView>>> {
    Ok(Json(List {
        items: s.service.list_app_api_keys(&actor, &id).await?,
    }))
}

#[utoipa::path(
    post, path = "/admin/v1/applications/{id}/api-keys", tag = "applications", operation_id = "application_create_api_key", params(("id" = String, Path, description = "Application (client) id")),
    request_body(content = Option<CreateApiKey>, description = "Optional; an empty body means a key that never expires"),
    responses(
        (status = 201, description = "The key, shown once", body = CreatedApiKey),
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
        .create_app_api_key(&actor, &id, req.expires_in.as_deref())
        .await?;
    Ok(no_store(
        (StatusCode::CREATED, Json(created)).into_response(),
    ))
}

#[utoipa::path(
    delete, path = "/admin/v1/applications/{id}/api-keys/{key}", tag = "applications", operation_id = "application_revoke_api_key",
    params(("id" = String, Path, description = "Application (client) id"), ("key" = String, Path, description = "API key id")),
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
    s.service.revoke_app_api_key(&actor, &id, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/admin/v1/applications/{id}/subscriptions", tag = "applications", params(("id" = String, Path, description = "Application (client) id")),
    responses(
        (status = 200, description = "The application's subscriptions", body = List<SubscriptionView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn app_subscriptions(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
) -> Result<Json<List<SubscriptionView>>> {
    Ok(Json(List {
        items: s.service.get_application(&actor, &id).await?.subscriptions,
    }))
}

#[utoipa::path(
    post, path = "/admin/v1/applications/{id}/subscriptions", tag = "applications", params(("id" = String, Path, description = "Application (client) id")), request_body = Subscribe,
    responses(
        (status = 201, description = "Subscribed (the plan needs no approval)", body = SubscriptionView),
        (status = 202, description = "Waiting for an owner's approval", body = SubscriptionView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn subscribe(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
    Body(req): Body<Subscribe>,
) -> Result<Response> {
    let sub = s.service.subscribe(&actor, &id, req).await?;
    let status = if sub.subscription.status == SubscriptionStatus::Pending {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(sub)).into_response())
}

#[utoipa::path(
    get, path = "/admin/v1/applications/{id}/usage", tag = "applications", params(("id" = String, Path, description = "Application (client) id"), UsageParams),
    responses(
        (status = 200, description = "The application's usage (grouped by API by default)", body = UsageReport),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn app_usage(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
    Params(q): Params<UsageParams>,
) -> Result<Json<UsageReport>> {
    let by = q.by.as_deref().unwrap_or("api").parse()?;
    Ok(Json(
        s.service
            .managed_app_usage(&actor, &id, q.from, q.to, by)
            .await?,
    ))
}

#[utoipa::path(
    get, path = "/admin/v1/applications/{id}/usage/daily", tag = "applications", params(("id" = String, Path, description = "Application (client) id"), DaysQuery),
    responses(
        (status = 200, description = "Requests per UTC day per API", body = DailyUsage),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn app_daily(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
    Params(q): Params<DaysQuery>,
) -> Result<Json<DailyUsage>> {
    Ok(Json(
        s.service
            .daily_usage(&actor, UsageOf::Application(&id), q.days.unwrap_or(14))
            .await?,
    ))
}

#[utoipa::path(
    get, path = "/admin/v1/subscriptions", tag = "subscriptions", params(SubscriptionQuery),
    responses(
        (status = 200, description = "A page of the subscriptions the caller may see", body = Page<SubscriptionView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn list_subscriptions(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Params(q): Params<SubscriptionQuery>,
) -> Result<Json<Page<SubscriptionView>>> {
    Ok(Json(
        s.service
            .list_subscriptions(&actor, q.into_filter()?)
            .await?,
    ))
}

#[utoipa::path(
    get, path = "/admin/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = String, Path, description = "Subscription id")),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn show_subscription(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
) -> Result<Json<SubscriptionView>> {
    Ok(Json(s.service.get_subscription(&actor, &id).await?))
}

#[utoipa::path(
    delete, path = "/admin/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = String, Path, description = "Subscription id")),
    responses(
        (status = 204, description = "Unsubscribed"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn unsubscribe(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
) -> Result<StatusCode> {
    s.service.unsubscribe(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn decide(
    s: &AdminState,
    actor: &Actor,
    id: &str,
    decision: Decision,
    req: &Decide,
) -> Result<Json<SubscriptionView>> {
    Ok(Json(
        s.service
            .decide(actor, id, decision, req.reason.as_deref())
            .await?,
    ))
}

#[utoipa::path(
    post, path = "/admin/v1/subscriptions/{id}/approve", tag = "subscriptions", operation_id = "approve_subscription", params(("id" = String, Path, description = "Subscription id")),
    request_body(content = Option<Decide>, description = "Optional; the reason is kept in the audit log"),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn approve(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
    OptionalBody(req): OptionalBody<Decide>,
) -> Result<Json<SubscriptionView>> {
    decide(&s, &actor, &id, Decision::Approve, &req).await
}

#[utoipa::path(
    post, path = "/admin/v1/subscriptions/{id}/reject", tag = "subscriptions", operation_id = "reject_subscription", params(("id" = String, Path, description = "Subscription id")),
    request_body(content = Option<Decide>, description = "Optional; the reason is kept in the audit log"),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn reject(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
    OptionalBody(req): OptionalBody<Decide>,
) -> Result<Json<SubscriptionView>> {
    decide(&s, &actor, &id, Decision::Reject, &req).await
}

#[utoipa::path(
    post, path = "/admin/v1/subscriptions/{id}/revoke", tag = "subscriptions", operation_id = "revoke_subscription", params(("id" = String, Path, description = "Subscription id")),
    request_body(content = Option<Decide>, description = "Optional; the reason is kept in the audit log"),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn revoke(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
    OptionalBody(req): OptionalBody<Decide>,
) -> Result<Json<SubscriptionView>> {
    decide(&s, &actor, &id, Decision::Revoke, &req).await
}
