//! The API catalog (`/admin/v1/catalog`), listings and plans of APIs, and what an API's owners
//! read about it: subscribers and usage.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::{Extension, Json};
use gatehouse_core::{ApiListing, Plan};
use gatehouse_proto::admin::List;
use gatehouse_proto::portal::{
    CatalogEntry, DailyUsage, Page, PutListing, PutPlan, SubscriptionView,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::applications::SubscriptionQuery;
use super::doc::{BadRequest, Conflict, Guard, NotFound};
use super::{AdminState, Body, Id, Params, Result, UsageParams, signed_in};
use crate::UsageReport;
use crate::service::{Actor, UsageOf};

pub(super) fn router(state: Arc<AdminState>) -> OpenApiRouter {
    let mut r = OpenApiRouter::new()
        .routes(routes!(catalog))
        .routes(routes!(catalog_entry))
        .routes(routes!(put_listing))
        .routes(routes!(list_plans))
        .routes(routes!(put_plan, delete_plan))
        .routes(routes!(api_subscriptions))
        .routes(routes!(api_usage))
        .routes(routes!(api_daily))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            signed_in,
        ))
        .with_state(state);
    Guard::SignedIn.document(r.get_openapi_mut());
    r
}

#[utoipa::path(
    get, path = "/admin/v1/catalog", tag = "apis",
    responses((status = 200, description = "The APIs the caller may see, with listings and plans", body = List<CatalogEntry>))
)]
async fn catalog(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
) -> Json<List<CatalogEntry>> {
    Json(List {
        items: s.service.catalog(&actor),
    })
}

#[utoipa::path(
    get, path = "/admin/v1/catalog/{api}", tag = "apis", params(("api" = String, Path, description = "API id, name or audience")),
    responses(
        (status = 200, description = "One API of the catalog", body = CatalogEntry),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn catalog_entry(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(api): Id<String>,
) -> Result<Json<CatalogEntry>> {
    Ok(Json(s.service.catalog_entry(&actor, &api)?))
}

#[utoipa::path(
    put, path = "/admin/v1/apis/{api}/listing", tag = "apis", params(("api" = String, Path, description = "API id, name or audience")), request_body = PutListing,
    responses(
        (status = 200, description = "The listing (idempotent: it replaces the previous one)", body = ApiListing),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn put_listing(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(api): Id<String>,
    Body(req): Body<PutListing>,
) -> Result<Json<ApiListing>> {
    Ok(Json(s.service.put_listing(&actor, &api, req).await?))
}

#[utoipa::path(
    get, path = "/admin/v1/apis/{api}/plans", tag = "apis", params(("api" = String, Path, description = "API id, name or audience")),
    responses(
        (status = 200, description = "The API's plans, oldest first", body = List<Plan>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn list_plans(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(api): Id<String>,
) -> Result<Json<List<Plan>>> {
    Ok(Json(List {
        items: s.service.list_plans(&actor, &api)?,
    }))
}

#[utoipa::path(
    put, path = "/admin/v1/apis/{api}/plans/{plan}", tag = "apis",
    params(("api" = String, Path, description = "API id, name or audience"), ("plan" = String, Path, description = "Plan name")), request_body = PutPlan,
    responses(
        (status = 200, description = "The plan, created or replaced (idempotent)", body = Plan),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn put_plan(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id((api, plan)): Id<(String, String)>,
    Body(req): Body<PutPlan>,
) -> Result<Json<Plan>> {
    Ok(Json(s.service.put_plan(&actor, &api, &plan, req).await?))
}

#[utoipa::path(
    delete, path = "/admin/v1/apis/{api}/plans/{plan}", tag = "apis",
    params(("api" = String, Path, description = "API id, name or audience"), ("plan" = String, Path, description = "Plan name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn delete_plan(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id((api, plan)): Id<(String, String)>,
) -> Result<StatusCode> {
    s.service.delete_plan(&actor, &api, &plan).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/admin/v1/apis/{api}/subscriptions", tag = "subscriptions", params(("api" = String, Path, description = "API id, name or audience"), SubscriptionQuery),
    responses(
        (status = 200, description = "A page of the API's subscriptions (owners and admins)", body = Page<SubscriptionView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn api_subscriptions(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(api): Id<String>,
    Params(q): Params<SubscriptionQuery>,
) -> Result<Json<Page<SubscriptionView>>> {
    // An owner's view: 403/404 for APIs the caller does not own.
    let owned = s.service.owned_api(&actor, &api)?;
    let mut filter = q.into_filter()?;
    filter.api = Some(owned.id.to_string());
    Ok(Json(s.service.list_subscriptions(&actor, filter).await?))
}

#[utoipa::path(
    get, path = "/admin/v1/apis/{api}/usage", tag = "apis", params(("api" = String, Path, description = "API id, name or audience"), UsageParams),
    responses(
        (status = 200, description = "The API's usage (owners and admins; grouped by application by default)", body = UsageReport),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn api_usage(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(api): Id<String>,
    Params(q): Params<UsageParams>,
) -> Result<Json<UsageReport>> {
    let by = q.by.as_deref().unwrap_or("application").parse()?;
    Ok(Json(
        s.service
            .owned_api_usage(&actor, &api, q.from, q.to, by)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct DaysQuery {
    /// Days, today included (1-90, default 14).
    #[param(minimum = 1, maximum = 90)]
    pub(super) days: Option<u32>,
}

#[utoipa::path(
    get, path = "/admin/v1/apis/{api}/usage/daily", tag = "apis", params(("api" = String, Path, description = "API id, name or audience"), DaysQuery),
    responses(
        (status = 200, description = "Requests per UTC day per application", body = DailyUsage),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn api_daily(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(api): Id<String>,
    Params(q): Params<DaysQuery>,
) -> Result<Json<DailyUsage>> {
    Ok(Json(
        s.service
            .daily_usage(&actor, UsageOf::Api(&api), q.days.unwrap_or(14))
            .await?,
    ))
}
