//! The API catalog: `GET /portal/apis` and an API's page `GET /portal/apis/{api}` (plans and
//! the subscribe form).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use gatehouse_core::{CredentialType, Plan};
use gatehouse_proto::portal::CatalogEntry;

use super::session::page;
use super::{Done, PageError, Shared, Viewer, done_flash};
use crate::layout::{Layout, Section};

/// One API as a catalog card.
pub(crate) struct ApiCard {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) credentials: Vec<&'static str>,
    pub(crate) plans: usize,
    pub(crate) owned: bool,
}

#[derive(Template)]
#[template(path = "catalog.html")]
struct CatalogPage {
    layout: Layout,
    apis: Vec<ApiCard>,
}

/// What a plan offers, in words.
pub(crate) struct PlanRow {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) rate: String,
    pub(crate) quota: String,
    pub(crate) approval: bool,
    pub(crate) scopes: String,
}

impl PlanRow {
    pub(crate) fn of(p: &Plan) -> Self {
        Self {
            name: p.name.clone(),
            description: p.description.clone(),
            rate: p.rate_limit.map_or_else(
                || "API default".to_owned(),
                |r| format!("{}/s (burst {})", r.per_second, r.burst),
            ),
            quota: p
                .daily_quota
                .map_or_else(|| "none".to_owned(), |q| format!("{q} per day")),
            approval: p.requires_approval,
            scopes: if p.scopes.is_empty() {
                "none".to_owned()
            } else {
                p.scopes.to_space_separated()
            },
        }
    }
}

/// An application of the viewer, as a choice in the subscribe form.
struct AppChoice {
    id: String,
    name: String,
}

/// A subscription of one of the viewer's applications to this API.
struct MySubscription {
    app_id: String,
    app_name: String,
    plan: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "api.html")]
struct ApiPage {
    layout: Layout,
    csrf: String,
    name: String,
    audience: String,
    description: String,
    docs_url: Option<String>,
    credentials: Vec<(&'static str, &'static str)>,
    scopes: Vec<String>,
    plans: Vec<PlanRow>,
    apps: Vec<AppChoice>,
    mine: Vec<MySubscription>,
    owned: bool,
}

/// What a credential type means for a subscriber.
pub(crate) fn credential_help(c: CredentialType) -> &'static str {
    match c {
        CredentialType::Bearer => {
            "OAuth 2.0 access token: your application's client credentials, token audience set to this API"
        }
        CredentialType::ApiKey => "API key from your application's credentials page",
        CredentialType::Mtls => "client certificate (mTLS) issued to your application",
        CredentialType::Basic => "HTTP Basic credentials (legacy)",
    }
}

fn card(e: &CatalogEntry) -> ApiCard {
    ApiCard {
        name: e.api.name.clone(),
        description: e.listing.description.clone(),
        credentials: e.listing.credentials.iter().map(|c| c.as_str()).collect(),
        plans: e.plans.len(),
        owned: e.owned,
    }
}

/// `GET /portal/apis`.
pub(crate) async fn list(
    State(state): State<Shared>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let apis = state
        .service
        .catalog(&viewer.actor)
        .iter()
        .map(card)
        .collect();
    page(&CatalogPage {
        layout: viewer.layout(&state, Some(Section::Catalog)),
        apis,
    })
}

/// `GET /portal/apis/{api}`.
pub(crate) async fn detail(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(api): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let entry = state.service.catalog_entry(&viewer.actor, &api)?;
    let mine_apps = state
        .service
        .list_applications(&viewer.actor, 0, Some(gatehouse_manage::MAX_PAGE))
        .await
        .items;
    let mut mine = Vec::new();
    for app in &mine_apps {
        for s in &app.subscriptions {
            if s.subscription.api_id == entry.api.id {
                mine.push(MySubscription {
                    app_id: app.client.id.to_string(),
                    app_name: app.client.name.clone(),
                    plan: s.subscription.plan.clone(),
                    status: s.subscription.status.as_str(),
                });
            }
        }
    }
    let apps = mine_apps
        .iter()
        .map(|a| AppChoice {
            id: a.client.id.to_string(),
            name: a.client.name.clone(),
        })
        .collect();
    let layout = done_flash(
        viewer.layout(&state, Some(Section::Catalog)),
        q.done.as_deref(),
    );
    page(&ApiPage {
        layout,
        csrf: viewer.csrf(),
        name: entry.api.name.clone(),
        audience: entry.api.audience.to_string(),
        description: entry.listing.description.clone(),
        docs_url: entry.listing.docs_url.clone(),
        credentials: entry
            .listing
            .credentials
            .iter()
            .map(|c| (c.as_str(), credential_help(*c)))
            .collect(),
        scopes: entry
            .api
            .scopes
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        plans: entry.plans.iter().map(PlanRow::of).collect(),
        apps,
        mine,
        owned: entry.owned,
    })
}
