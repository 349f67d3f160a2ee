//! Applications (`/admin/v1/applications`) with their credentials, subscriptions and usage, and
//! subscriptions across applications (`/admin/v1/subscriptions`) with their approval.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use gatehouse_core::SubscriptionStatus;
use gatehouse_proto::admin::{ApiKeyView, CreateApiKey, List, RotateSecret};
use gatehouse_proto::portal::{
    ApplicationView, CreateApplication, DailyUsage, Decide, Page, SecretView, Subscribe,
    SubscriptionView, UpdateApplication,
};
use serde::Deserialize;

use super::catalog::DaysQuery;
use super::{AdminState, Body, OptionalBody, Result, UsageParams, no_store, signed_in};
use crate::service::{Actor, Decision, SubscriptionFilter, UsageOf};
use crate::{ManageError, UsageReport};

pub(super) fn router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route(
            "/admin/v1/applications",
            get(list_applications).post(create_application),
        )
        .route(
            "/admin/v1/applications/{id}",
            get(show_application)
                .patch(update_application)
                .delete(delete_application),
        )
        .route("/admin/v1/applications/{id}/secrets", get(list_secrets))
        .route(
            "/admin/v1/applications/{id}/secrets/rotate",
            post(rotate_secret),
        )
        .route(
            "/admin/v1/applications/{id}/api-keys",
            get(list_api_keys).post(create_api_key),
        )
        .route(
            "/admin/v1/applications/{id}/api-keys/{key}",
            delete(revoke_api_key),
        )
        .route(
            "/admin/v1/applications/{id}/subscriptions",
            get(app_subscriptions).post(subscribe),
        )
        .route("/admin/v1/applications/{id}/usage", get(app_usage))
        .route("/admin/v1/applications/{id}/usage/daily", get(app_daily))
        .route("/admin/v1/subscriptions", get(list_subscriptions))
        .route(
            "/admin/v1/subscriptions/{id}",
            get(show_subscription).delete(unsubscribe),
        )
        .route("/admin/v1/subscriptions/{id}/approve", post(approve))
        .route("/admin/v1/subscriptions/{id}/reject", post(reject))
        .route("/admin/v1/subscriptions/{id}/revoke", post(revoke))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            signed_in,
        ))
        .with_state(state)
}

/// Paging parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    offset: Option<usize>,
    limit: Option<usize>,
}

/// Filters of subscription lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SubscriptionQuery {
    api: Option<String>,
    application: Option<String>,
    status: Option<String>,
    offset: Option<usize>,
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

async fn list_applications(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Query(q): Query<PageQuery>,
) -> Json<Page<ApplicationView>> {
    Json(
        s.service
            .list_applications(&actor, q.offset.unwrap_or(0), q.limit)
            .await,
    )
}

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

async fn show_application(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<ApplicationView>> {
    Ok(Json(s.service.get_application(&actor, &id).await?))
}

async fn update_application(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(req): Body<UpdateApplication>,
) -> Result<Json<ApplicationView>> {
    Ok(Json(s.service.update_application(&actor, &id, req).await?))
}

async fn delete_application(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    s.service.delete_application(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_secrets(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<List<SecretView>>> {
    Ok(Json(List {
        items: s.service.list_secrets(&actor, &id)?,
    }))
}

async fn rotate_secret(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
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

async fn list_api_keys(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<List<ApiKeyView>>> {
    Ok(Json(List {
        items: s.service.list_app_api_keys(&actor, &id).await?,
    }))
}

async fn create_api_key(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
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

async fn revoke_api_key(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode> {
    s.service.revoke_app_api_key(&actor, &id, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn app_subscriptions(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<List<SubscriptionView>>> {
    Ok(Json(List {
        items: s.service.get_application(&actor, &id).await?.subscriptions,
    }))
}

async fn subscribe(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
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

async fn app_usage(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Query(q): Query<UsageParams>,
) -> Result<Json<UsageReport>> {
    let by = q.by.as_deref().unwrap_or("api").parse()?;
    Ok(Json(
        s.service
            .managed_app_usage(&actor, &id, q.from, q.to, by)
            .await?,
    ))
}

async fn app_daily(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Query(q): Query<DaysQuery>,
) -> Result<Json<DailyUsage>> {
    Ok(Json(
        s.service
            .daily_usage(&actor, UsageOf::Application(&id), q.days.unwrap_or(14))
            .await?,
    ))
}

async fn list_subscriptions(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Query(q): Query<SubscriptionQuery>,
) -> Result<Json<Page<SubscriptionView>>> {
    Ok(Json(
        s.service
            .list_subscriptions(&actor, q.into_filter()?)
            .await?,
    ))
}

async fn show_subscription(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<SubscriptionView>> {
    Ok(Json(s.service.get_subscription(&actor, &id).await?))
}

async fn unsubscribe(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
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

async fn approve(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    OptionalBody(req): OptionalBody<Decide>,
) -> Result<Json<SubscriptionView>> {
    decide(&s, &actor, &id, Decision::Approve, &req).await
}

async fn reject(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    OptionalBody(req): OptionalBody<Decide>,
) -> Result<Json<SubscriptionView>> {
    decide(&s, &actor, &id, Decision::Reject, &req).await
}

async fn revoke(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    OptionalBody(req): OptionalBody<Decide>,
) -> Result<Json<SubscriptionView>> {
    decide(&s, &actor, &id, Decision::Revoke, &req).await
}
