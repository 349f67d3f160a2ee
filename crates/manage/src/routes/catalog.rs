//! The API catalog (`/admin/v1/catalog`), listings and plans of APIs, and what an API's owners
//! read about it: subscribers and usage.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, put};
use axum::{Extension, Json, Router};
use gatehouse_core::{ApiListing, Plan};
use gatehouse_proto::admin::List;
use gatehouse_proto::portal::{
    CatalogEntry, DailyUsage, Page, PutListing, PutPlan, SubscriptionView,
};
use serde::Deserialize;

use super::applications::SubscriptionQuery;
use super::{AdminState, Body, Result, UsageParams, signed_in};
use crate::UsageReport;
use crate::service::{Actor, UsageOf};

pub(super) fn router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route("/admin/v1/catalog", get(catalog))
        .route("/admin/v1/catalog/{api}", get(catalog_entry))
        .route("/admin/v1/apis/{api}/listing", put(put_listing))
        .route("/admin/v1/apis/{api}/plans", get(list_plans))
        .route(
            "/admin/v1/apis/{api}/plans/{plan}",
            put(put_plan).delete(delete_plan),
        )
        .route("/admin/v1/apis/{api}/subscriptions", get(api_subscriptions))
        .route("/admin/v1/apis/{api}/usage", get(api_usage))
        .route("/admin/v1/apis/{api}/usage/daily", get(api_daily))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            signed_in,
        ))
        .with_state(state)
}

async fn catalog(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
) -> Json<List<CatalogEntry>> {
    Json(List {
        items: s.service.catalog(&actor),
    })
}

async fn catalog_entry(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(api): Path<String>,
) -> Result<Json<CatalogEntry>> {
    Ok(Json(s.service.catalog_entry(&actor, &api)?))
}

async fn put_listing(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(api): Path<String>,
    Body(req): Body<PutListing>,
) -> Result<Json<ApiListing>> {
    Ok(Json(s.service.put_listing(&actor, &api, req).await?))
}

async fn list_plans(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(api): Path<String>,
) -> Result<Json<List<Plan>>> {
    Ok(Json(List {
        items: s.service.list_plans(&actor, &api)?,
    }))
}

async fn put_plan(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path((api, plan)): Path<(String, String)>,
    Body(req): Body<PutPlan>,
) -> Result<Json<Plan>> {
    Ok(Json(s.service.put_plan(&actor, &api, &plan, req).await?))
}

async fn delete_plan(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path((api, plan)): Path<(String, String)>,
) -> Result<StatusCode> {
    s.service.delete_plan(&actor, &api, &plan).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn api_subscriptions(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(api): Path<String>,
    Query(q): Query<SubscriptionQuery>,
) -> Result<Json<Page<SubscriptionView>>> {
    // An owner's view: 403/404 for APIs the caller does not own.
    let owned = s.service.owned_api(&actor, &api)?;
    let mut filter = q.into_filter()?;
    filter.api = Some(owned.id.to_string());
    Ok(Json(s.service.list_subscriptions(&actor, filter).await?))
}

async fn api_usage(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(api): Path<String>,
    Query(q): Query<UsageParams>,
) -> Result<Json<UsageReport>> {
    let by = q.by.as_deref().unwrap_or("application").parse()?;
    Ok(Json(
        s.service
            .owned_api_usage(&actor, &api, q.from, q.to, by)
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DaysQuery {
    pub(super) days: Option<u32>,
}

async fn api_daily(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(api): Path<String>,
    Query(q): Query<DaysQuery>,
) -> Result<Json<DailyUsage>> {
    Ok(Json(
        s.service
            .daily_usage(&actor, UsageOf::Api(&api), q.days.unwrap_or(14))
            .await?,
    ))
}
