//! The API owner's dashboard: their APIs, the approval queue, and per API the subscribers
//! (with contact emails) and usage charts.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use gatehouse_core::SubscriptionStatus;
use gatehouse_manage::{Decision, SubscriptionFilter, UsageOf};
use gatehouse_proto::portal::SubscriptionView;
use serde::Deserialize;

use super::catalog::PlanRow;
use super::session::page;
use super::usage::{self, UsageCharts};
use super::{Done, PageError, Shared, Submitted, Viewer, done_flash, see_other, url_encode, when};
use crate::layout::{Layout, Section};

/// A subscription as an owner sees it.
struct Subscriber {
    id: String,
    api: String,
    application: String,
    owner_email: String,
    contact_email: String,
    plan: String,
    scopes: String,
    status: &'static str,
    since: String,
}

impl Subscriber {
    fn of(s: &SubscriptionView) -> Self {
        Self {
            id: s.subscription.id.to_string(),
            api: s.api_name.clone(),
            application: s.application_name.clone(),
            owner_email: s.owner_email.clone().unwrap_or_default(),
            contact_email: s.contact_email.clone().unwrap_or_default(),
            plan: s.subscription.plan.clone(),
            scopes: s.subscription.scopes.to_space_separated(),
            status: s.subscription.status.as_str(),
            since: when(s.subscription.updated_at.0),
        }
    }

    fn pending(&self) -> bool {
        self.status == SubscriptionStatus::Pending.as_str()
    }

    fn approved(&self) -> bool {
        self.status == SubscriptionStatus::Approved.as_str()
    }

    fn rejected(&self) -> bool {
        self.status == SubscriptionStatus::Rejected.as_str()
    }
}

struct OwnedApi {
    name: String,
    approved: usize,
    pending: usize,
}

#[derive(Template)]
#[template(path = "owner.html")]
struct DashboardPage {
    layout: Layout,
    csrf: String,
    apis: Vec<OwnedApi>,
    queue: Vec<Subscriber>,
    back: String,
}

#[derive(Template)]
#[template(path = "owner_api.html")]
struct OwnerApiPage {
    layout: Layout,
    csrf: String,
    name: String,
    plans: Vec<PlanRow>,
    subscribers: Vec<Subscriber>,
    usage: UsageCharts,
    days: u32,
    periods: [u32; 4],
    back: String,
}

async fn subscriptions_of(
    state: &Shared,
    viewer: &Viewer,
    api: &str,
) -> Result<Vec<SubscriptionView>, PageError> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let page = state
            .service
            .list_subscriptions(
                &viewer.actor,
                SubscriptionFilter {
                    api: Some(api.to_owned()),
                    offset,
                    limit: Some(gatehouse_manage::MAX_PAGE),
                    ..SubscriptionFilter::default()
                },
            )
            .await?;
        out.extend(page.items);
        match page.next {
            Some(n) if out.len() < 10_000 => offset = n,
            _ => return Ok(out),
        }
    }
}

/// `GET /portal/owner`.
pub(crate) async fn dashboard(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let owned: Vec<_> = state
        .service
        .catalog(&viewer.actor)
        .into_iter()
        .filter(|e| e.owned)
        .collect();
    let mut apis = Vec::new();
    let mut queue = Vec::new();
    for e in &owned {
        let subs = subscriptions_of(&state, &viewer, e.api.id.as_str()).await?;
        let count =
            |st: SubscriptionStatus| subs.iter().filter(|s| s.subscription.status == st).count();
        apis.push(OwnedApi {
            name: e.api.name.clone(),
            approved: count(SubscriptionStatus::Approved),
            pending: count(SubscriptionStatus::Pending),
        });
        queue.extend(
            subs.iter()
                .filter(|s| s.subscription.status == SubscriptionStatus::Pending)
                .map(Subscriber::of),
        );
    }
    page(&DashboardPage {
        layout: done_flash(
            viewer.layout(&state, Some(Section::Owner)),
            q.done.as_deref(),
        ),
        csrf: viewer.csrf(),
        apis,
        queue,
        back: "/portal/owner".into(),
    })
}

/// `GET /portal/owner/apis/{api}`.
pub(crate) async fn api(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(api): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let entry = state.service.catalog_entry(&viewer.actor, &api)?;
    if !entry.owned {
        return Err(gatehouse_manage::ManageError::Forbidden(format!(
            "only the owners of '{}' see its subscribers and usage",
            entry.api.name
        ))
        .into());
    }
    let days = usage::period(q.days);
    let daily = state
        .service
        .daily_usage(&viewer.actor, UsageOf::Api(entry.api.id.as_str()), days)
        .await?;
    let subscribers = subscriptions_of(&state, &viewer, entry.api.id.as_str())
        .await?
        .iter()
        .map(Subscriber::of)
        .collect();
    page(&OwnerApiPage {
        layout: done_flash(
            viewer.layout(&state, Some(Section::Owner)),
            q.done.as_deref(),
        ),
        csrf: viewer.csrf(),
        back: format!("/portal/owner/apis/{}", url_encode(&entry.api.name)),
        name: entry.api.name.clone(),
        plans: entry.plans.iter().map(PlanRow::of).collect(),
        subscribers,
        usage: usage::charts(&daily, "application"),
        days,
        periods: usage::PERIODS,
    })
}

/// The decision form: where to go back to afterwards.
#[derive(Debug, Deserialize)]
pub(crate) struct DecideForm {
    #[serde(default)]
    back: String,
    #[serde(default)]
    reason: String,
}

/// `POST /portal/subscriptions/{id}/{approve|reject|revoke}`.
pub(crate) async fn decide(
    State(state): State<Shared>,
    Path((id, decision)): Path<(String, String)>,
    Submitted { viewer, form }: Submitted<DecideForm>,
) -> Result<Response, PageError> {
    let (decision, done) = match decision.as_str() {
        "approve" => (Decision::Approve, "approved"),
        "reject" => (Decision::Reject, "rejected"),
        "revoke" => (Decision::Revoke, "revoked"),
        _ => {
            return Err(gatehouse_manage::ManageError::NotFound("page".into()).into());
        }
    };
    let reason = form.reason.trim();
    state
        .service
        .decide(
            &viewer.actor,
            &id,
            decision,
            (!reason.is_empty()).then_some(reason),
        )
        .await?;
    let back = if form.back.starts_with("/portal/owner") && !form.back.contains("//") {
        form.back
            .split('?')
            .next()
            .unwrap_or("/portal/owner")
            .to_owned()
    } else {
        "/portal/owner".to_owned()
    };
    Ok(see_other(&format!("{back}?done={done}")))
}
