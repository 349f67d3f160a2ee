//! The portal's pages: `/portal/...`, server-rendered HTML over the [`ManageService`].
//!
//! Every page goes through the same management service as the admin API, with the signed-in
//! user as the [`Actor`], so a developer sees exactly what `/admin/v1` would show them and an
//! owner decides only for the APIs they own. Pages are plain HTML forms (POST, then a 303
//! redirect to a page that says what happened), so the basic flows work without JavaScript;
//! htmx and `portal.js` only add comfort (copy buttons, confirmations).
//!
//! Secrets (a new client secret, API key or generated password) are rendered once, in the
//! answer to the POST that created them, with `Cache-Control: no-store`; no page can show
//! them again.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gatehouse_manage::{Actor, ManageError, ManageService};

use crate::layout::{FlashKind, Layout};

mod admin;
mod apps;
mod catalog;
mod owner;
mod session;
mod usage;

pub(crate) use session::{Submitted, Viewer};

/// What every page handler shares.
#[derive(Debug)]
pub(crate) struct Portal {
    pub(crate) service: ManageService,
}

type Shared = Arc<Portal>;

/// The portal: its pages under `/portal` and its assets under `/portal/assets/`. Merge it into
/// the server's router next to the admin API; it sets no fallback.
pub fn router(service: ManageService) -> Router {
    let state = Arc::new(Portal { service });
    let pages = Router::new()
        .route("/portal", get(home))
        .route("/portal/", get(home))
        .route(
            "/portal/signin",
            get(session::signin_page).post(session::signin),
        )
        .route("/portal/signout", post(session::signout))
        .route("/portal/apis", get(catalog::list))
        .route("/portal/apis/{api}", get(catalog::detail))
        .route("/portal/apis/{api}/subscribe", post(apps::subscribe))
        .route("/portal/apps", get(apps::list).post(apps::create))
        .route("/portal/apps/new", get(apps::new_form))
        .route("/portal/apps/{app}", get(apps::detail))
        .route("/portal/apps/{app}/edit", post(apps::update))
        .route("/portal/apps/{app}/delete", post(apps::delete))
        .route("/portal/apps/{app}/secrets", post(apps::rotate_secret))
        .route("/portal/apps/{app}/api-keys", post(apps::create_api_key))
        .route(
            "/portal/apps/{app}/api-keys/{key}/revoke",
            post(apps::revoke_api_key),
        )
        .route("/portal/subscriptions/{id}/cancel", post(apps::unsubscribe))
        .route("/portal/owner", get(owner::dashboard))
        .route("/portal/owner/apis/{api}", get(owner::api))
        .route("/portal/subscriptions/{id}/{decision}", post(owner::decide))
        .route("/portal/admin", get(admin::page))
        .route("/portal/admin/users", post(admin::create_user))
        .route("/portal/admin/users/{id}", post(admin::update_user))
        .with_state(state)
        .layer(axum::middleware::map_response(
            |mut resp: Response| async move {
                crate::security_headers(resp.headers_mut());
                resp
            },
        ));
    pages.merge(crate::assets::router())
}

async fn home(viewer: Option<Viewer>) -> Redirect {
    match viewer {
        Some(_) => Redirect::to("/portal/apis"),
        None => Redirect::to("/portal/signin"),
    }
}

/// Renders a template as an HTML page with `status`.
pub(crate) fn html<T: Template>(status: StatusCode, page: &T) -> Result<Response, PageError> {
    let body = page
        .render()
        .map_err(|e| PageError::Manage(ManageError::Internal(format!("template: {e}"))))?;
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(resp)
}

/// A 303 to `to` after a form: the browser then GETs the page that shows the result.
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A page could not be shown or a form not carried out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// The management service refused or failed.
    #[error(transparent)]
    Manage(#[from] ManageError),
    /// Nobody is signed in: go to the sign-in page, then come back to `next`.
    #[error("sign in required")]
    SignIn { next: String },
    /// A form without the session's CSRF token.
    #[error("the form has expired or did not come from this portal")]
    Csrf,
    /// A form that could not be read.
    #[error("the form could not be read: {0}")]
    BadForm(String),
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    title: &'static str,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            Self::SignIn { next } => {
                let to = if next.is_empty() {
                    "/portal/signin".to_owned()
                } else {
                    format!("/portal/signin?next={}", url_encode(next))
                };
                return Redirect::to(&to).into_response();
            }
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form has expired or did not come from this portal. Go back, reload the page and try again.".to_owned(),
            ),
            Self::BadForm(m) => (StatusCode::BAD_REQUEST, "Bad request", m.clone()),
            Self::Manage(e) => {
                let status = e.status();
                let title = match status {
                    StatusCode::BAD_REQUEST => "Please check your input",
                    StatusCode::UNAUTHORIZED => "Sign in required",
                    StatusCode::FORBIDDEN => "Not allowed",
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::CONFLICT => "Not possible",
                    StatusCode::TOO_MANY_REQUESTS => "Too many requests",
                    _ => "Something went wrong",
                };
                let message = if let ManageError::Internal(detail) = e {
                    tracing::error!(%detail, "portal page failed");
                    "The server could not complete this request. Try again later.".to_owned()
                } else {
                    e.to_string()
                };
                (status, title, message)
            }
        };
        let page = ErrorPage {
            layout: Layout::signed_out(),
            title,
            message,
        };
        match html(status, &page) {
            Ok(r) => r,
            Err(_) => (status, title).into_response(),
        }
    }
}

/// Percent-encodes a query value.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `2026-12-02 19:30 UTC` for a Unix time.
pub(crate) fn when(secs: i64) -> String {
    let Ok(s) = u64::try_from(secs) else {
        return String::new();
    };
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
    let text = humantime::format_rfc3339_seconds(t).to_string();
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => text,
    }
}

/// The one-time messages a redirect after a form can ask for (`?done=…`). Only these fixed
/// texts are ever shown, so a crafted link cannot put words on the page.
pub(crate) fn done_flash(layout: Layout, done: Option<&str>) -> Layout {
    let msg = match done.unwrap_or_default() {
        "subscribed" => (
            FlashKind::Success,
            "Subscribed: the application may call the API now.",
        ),
        "pending" => (
            FlashKind::Info,
            "Subscription requested: it waits for the API owner's approval.",
        ),
        "cancelled" => (FlashKind::Success, "Subscription cancelled."),
        "approved" => (FlashKind::Success, "Subscription approved."),
        "rejected" => (FlashKind::Success, "Subscription rejected."),
        "revoked" => (FlashKind::Success, "Subscription revoked."),
        "key-revoked" => (FlashKind::Success, "API key revoked."),
        "updated" => (FlashKind::Success, "Saved."),
        "deleted" => (FlashKind::Success, "Application deleted."),
        "signed-out" => (FlashKind::Info, "You are signed out."),
        _ => return layout,
    };
    layout.with_flash(msg.0, msg.1)
}

/// The query of pages that can show a [`done_flash`].
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    pub(crate) done: Option<String>,
    #[serde(default)]
    pub(crate) days: Option<u32>,
}

/// Whether the viewer owns at least one API (the owner dashboard link).
pub(crate) fn owns_any(service: &ManageService, actor: &Actor) -> bool {
    actor.is_admin() || service.catalog(actor).iter().any(|e| e.owned)
}
