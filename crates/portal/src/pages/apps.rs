//! The developer's applications: list, create, the application page (subscriptions,
//! credentials, usage) and the forms on it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_core::SubscriptionStatus;
use gatehouse_manage::{ManageError, UsageOf};
use gatehouse_proto::portal::{
    ApplicationView, CreateApplication, Subscribe, SubscriptionView, UpdateApplication,
};
use serde::Deserialize;

use super::session::{NoFields, page};
use super::usage::{self, UsageCharts};
use super::{
    Done, PageError, Portal, Shared, Submitted, Viewer, done_flash, see_other, url_encode, when,
};
use crate::layout::{Layout, Section};

/// One application in the list.
struct AppRow {
    id: String,
    name: String,
    description: String,
    approved: usize,
    pending: usize,
}

#[derive(Template)]
#[template(path = "apps.html")]
struct AppsPage {
    layout: Layout,
    apps: Vec<AppRow>,
}

#[derive(Template)]
#[template(path = "app_new.html")]
struct NewAppPage {
    layout: Layout,
    csrf: String,
    name: String,
    description: String,
    contact_email: String,
    error: Option<String>,
}

/// A subscription row on the application page.
struct SubRow {
    id: String,
    api: String,
    plan: String,
    scopes: String,
    status: &'static str,
    since: String,
}

struct SecretRow {
    id: String,
    created: String,
    expires: String,
    valid: bool,
}

struct KeyRow {
    id: String,
    prefix: String,
    created: String,
    expires: String,
    state: &'static str,
    valid: bool,
}

/// A secret shown once, in the answer to the form that made it.
struct NewSecret {
    label: &'static str,
    value: String,
    note: String,
}

#[derive(Template)]
#[template(path = "app.html")]
struct AppPage {
    layout: Layout,
    csrf: String,
    id: String,
    name: String,
    description: String,
    contact_email: String,
    owner_email: String,
    auth_method: String,
    token_url: String,
    subscriptions: Vec<SubRow>,
    secrets: Vec<SecretRow>,
    keys: Vec<KeyRow>,
    new_secret: Option<NewSecret>,
    usage: UsageCharts,
    days: u32,
    periods: [u32; 4],
}

fn status_of(s: &SubscriptionView) -> &'static str {
    s.subscription.status.as_str()
}

/// `GET /portal/apps`.
pub(crate) async fn list(
    State(state): State<Shared>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let apps = state
        .service
        .list_applications(&viewer.actor, 0, Some(gatehouse_manage::MAX_PAGE))
        .await
        .items
        .iter()
        .map(|a| AppRow {
            id: a.client.id.to_string(),
            name: a.client.name.clone(),
            description: a.profile.description.clone(),
            approved: a
                .subscriptions
                .iter()
                .filter(|s| s.subscription.status == SubscriptionStatus::Approved)
                .count(),
            pending: a
                .subscriptions
                .iter()
                .filter(|s| s.subscription.status == SubscriptionStatus::Pending)
                .count(),
        })
        .collect();
    page(&AppsPage {
        layout: viewer.layout(&state, Some(Section::MyApps)),
        apps,
    })
}

/// `GET /portal/apps/new`.
pub(crate) async fn new_form(
    State(state): State<Shared>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    page(&NewAppPage {
        layout: viewer.layout(&state, Some(Section::MyApps)),
        csrf: viewer.csrf(),
        name: String::new(),
        description: String::new(),
        contact_email: viewer.user.email.clone(),
        error: None,
    })
}

/// The create-application form.
#[derive(Debug, Deserialize)]
pub(crate) struct NewApp {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    contact_email: String,
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// `POST /portal/apps`: creates the application and shows its client secret once.
pub(crate) async fn create(
    State(state): State<Shared>,
    Submitted { viewer, form }: Submitted<NewApp>,
) -> Result<Response, PageError> {
    let req = CreateApplication {
        name: form.name.clone(),
        description: form.description.clone(),
        contact_email: non_empty(&form.contact_email),
        ..CreateApplication::default()
    };
    match state.service.create_application(&viewer.actor, req).await {
        Ok(created) => {
            let new = created.client_secret.map(|value| NewSecret {
                label: "Client secret",
                value,
                note: format!(
                    "Client id: {}. Use the id and this secret for the client credentials grant.",
                    created.client_id
                ),
            });
            app_page(
                &state,
                &viewer,
                &created.application,
                new,
                usage::DEFAULT_DAYS,
                Some("created"),
            )
            .await
        }
        Err(e @ (ManageError::Invalid(_) | ManageError::Conflict(_))) => super::html(
            StatusCode::BAD_REQUEST,
            &NewAppPage {
                layout: viewer.layout(&state, Some(Section::MyApps)),
                csrf: viewer.csrf(),
                name: form.name,
                description: form.description,
                contact_email: form.contact_email,
                error: Some(e.to_string()),
            },
        ),
        Err(e) => Err(e.into()),
    }
}

/// `GET /portal/apps/{app}`.
pub(crate) async fn detail(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(app): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let view = state.service.get_application(&viewer.actor, &app).await?;
    app_page(
        &state,
        &viewer,
        &view,
        None,
        usage::period(q.days),
        q.done.as_deref(),
    )
    .await
}

async fn app_page(
    state: &Portal,
    viewer: &Viewer,
    view: &ApplicationView,
    new_secret: Option<NewSecret>,
    days: u32,
    done: Option<&str>,
) -> Result<Response, PageError> {
    let id = view.client.id.to_string();
    let s = &state.service;
    let secrets = s
        .list_secrets(&viewer.actor, &id)?
        .into_iter()
        .map(|x| SecretRow {
            id: x.id,
            created: when(x.created_at),
            expires: x.expires_at.map_or_else(|| "never".to_owned(), when),
            valid: x.valid,
        })
        .collect();
    let keys = s
        .list_app_api_keys(&viewer.actor, &id)
        .await?
        .into_iter()
        .map(|k| KeyRow {
            state: if k.revoked_at.is_some() {
                "revoked"
            } else if k.valid {
                "valid"
            } else {
                "expired"
            },
            valid: k.valid,
            id: k.id,
            prefix: k.prefix,
            created: when(k.created_at),
            expires: k.expires_at.map_or_else(|| "never".to_owned(), when),
        })
        .collect();
    let daily = s
        .daily_usage(&viewer.actor, UsageOf::Application(&id), days)
        .await?;
    let owner_email = match &view.profile.owner {
        Some(owner) => s
            .get_user(&gatehouse_manage::Actor::AdminToken, owner.as_str())
            .await
            .map(|u| u.email)
            .unwrap_or_default(),
        None => String::new(),
    };
    let mut layout = viewer.layout(state, Some(Section::MyApps));
    if done == Some("created") {
        layout = layout.with_flash(
            crate::layout::FlashKind::Success,
            "Application created. Copy its client secret now: it is shown only once.",
        );
    } else {
        layout = done_flash(layout, done);
    }
    let issuer = s.state().config.issuer.trim_end_matches('/').to_owned();
    page(&AppPage {
        layout,
        csrf: viewer.csrf(),
        name: view.client.name.clone(),
        description: view.profile.description.clone(),
        contact_email: view.profile.contact_email.clone().unwrap_or_default(),
        owner_email,
        auth_method: view.client.auth_method.to_string(),
        token_url: format!("{issuer}/oauth2/token"),
        subscriptions: view
            .subscriptions
            .iter()
            .map(|x| SubRow {
                id: x.subscription.id.to_string(),
                api: x.api_name.clone(),
                plan: x.subscription.plan.clone(),
                scopes: x.subscription.scopes.to_space_separated(),
                status: status_of(x),
                since: when(x.subscription.updated_at.0),
            })
            .collect(),
        secrets,
        keys,
        new_secret,
        usage: usage::charts(&daily, "API"),
        days,
        periods: usage::PERIODS,
        id,
    })
}

/// The application details form.
#[derive(Debug, Deserialize)]
pub(crate) struct EditApp {
    #[serde(default)]
    description: String,
    #[serde(default)]
    contact_email: String,
}

/// `POST /portal/apps/{app}/edit`.
pub(crate) async fn update(
    State(state): State<Shared>,
    Path(app): Path<String>,
    Submitted { viewer, form }: Submitted<EditApp>,
) -> Result<Response, PageError> {
    state
        .service
        .update_application(
            &viewer.actor,
            &app,
            UpdateApplication {
                description: Some(form.description),
                contact_email: Some(form.contact_email.trim().to_owned()),
            },
        )
        .await?;
    Ok(see_other(&format!(
        "/portal/apps/{}?done=updated",
        url_encode(&app)
    )))
}

/// `POST /portal/apps/{app}/delete`.
pub(crate) async fn delete(
    State(state): State<Shared>,
    Path(app): Path<String>,
    Submitted { viewer, .. }: Submitted<NoFields>,
) -> Result<Response, PageError> {
    state
        .service
        .delete_application(&viewer.actor, &app)
        .await?;
    Ok(see_other("/portal/apps?done=deleted"))
}

/// The subscribe form on an API's page.
#[derive(Debug, Deserialize)]
pub(crate) struct SubscribeForm {
    application: String,
    plan: String,
}

/// `POST /portal/apis/{api}/subscribe`.
pub(crate) async fn subscribe(
    State(state): State<Shared>,
    Path(api): Path<String>,
    Submitted { viewer, form }: Submitted<SubscribeForm>,
) -> Result<Response, PageError> {
    let sub = state
        .service
        .subscribe(
            &viewer.actor,
            &form.application,
            Subscribe {
                api,
                plan: form.plan,
            },
        )
        .await?;
    let done = match sub.subscription.status {
        SubscriptionStatus::Pending => "pending",
        _ => "subscribed",
    };
    Ok(see_other(&format!(
        "/portal/apps/{}?done={done}",
        url_encode(&form.application)
    )))
}

/// `POST /portal/subscriptions/{id}/cancel`.
pub(crate) async fn unsubscribe(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Submitted { viewer, .. }: Submitted<NoFields>,
) -> Result<Response, PageError> {
    let sub = state.service.get_subscription(&viewer.actor, &id).await?;
    state.service.unsubscribe(&viewer.actor, &id).await?;
    Ok(see_other(&format!(
        "/portal/apps/{}?done=cancelled",
        url_encode(sub.subscription.client_id.as_str())
    )))
}

/// The rotate-secret form: how long the current secrets stay valid.
#[derive(Debug, Deserialize)]
pub(crate) struct RotateForm {
    #[serde(default)]
    grace: String,
}

/// `POST /portal/apps/{app}/secrets`: a new client secret, shown once.
pub(crate) async fn rotate_secret(
    State(state): State<Shared>,
    Path(app): Path<String>,
    Submitted { viewer, form }: Submitted<RotateForm>,
) -> Result<Response, PageError> {
    let grace = non_empty(&form.grace);
    let rotated = state
        .service
        .rotate_app_secret(&viewer.actor, &app, grace.as_deref())
        .await?;
    let view = state.service.get_application(&viewer.actor, &app).await?;
    let note = if rotated.previous_valid_until > 0 {
        format!(
            "Earlier secrets stay valid until {}.",
            when(rotated.previous_valid_until)
        )
    } else {
        "Earlier secrets no longer work.".to_owned()
    };
    let new = NewSecret {
        label: "New client secret",
        value: rotated.client_secret,
        note,
    };
    app_page(&state, &viewer, &view, Some(new), usage::DEFAULT_DAYS, None).await
}

/// The new-API-key form.
#[derive(Debug, Deserialize)]
pub(crate) struct NewKeyForm {
    #[serde(default)]
    expires_in: String,
}

/// `POST /portal/apps/{app}/api-keys`: a new API key, shown once.
pub(crate) async fn create_api_key(
    State(state): State<Shared>,
    Path(app): Path<String>,
    Submitted { viewer, form }: Submitted<NewKeyForm>,
) -> Result<Response, PageError> {
    let expires = non_empty(&form.expires_in);
    let created = state
        .service
        .create_app_api_key(&viewer.actor, &app, expires.as_deref())
        .await?;
    let view = state.service.get_application(&viewer.actor, &app).await?;
    let note = match created.expires_at {
        Some(t) => format!("It expires {}. Send it in the X-API-Key header.", when(t)),
        None => "It does not expire. Send it in the X-API-Key header.".to_owned(),
    };
    let new = NewSecret {
        label: "New API key",
        value: created.api_key,
        note,
    };
    app_page(&state, &viewer, &view, Some(new), usage::DEFAULT_DAYS, None).await
}

/// `POST /portal/apps/{app}/api-keys/{key}/revoke`.
pub(crate) async fn revoke_api_key(
    State(state): State<Shared>,
    Path((app, key)): Path<(String, String)>,
    Submitted { viewer, .. }: Submitted<NoFields>,
) -> Result<Response, PageError> {
    state
        .service
        .revoke_app_api_key(&viewer.actor, &app, &key)
        .await?;
    Ok(see_other(&format!(
        "/portal/apps/{}?done=key-revoked",
        url_encode(&app)
    )))
}
