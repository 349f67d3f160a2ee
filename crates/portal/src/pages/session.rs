//! Who is looking: the session cookie (shared with the admin API), the CSRF token every form
//! carries, and the sign-in pre-session.
//!
//! - A signed-in page reads the `gatehouse_session` cookie (HttpOnly, SameSite=Lax, Secure
//!   over HTTPS) and asks the management service for its user; no session means a 303 to the
//!   sign-in page, which comes back to the page afterwards.
//! - Every form posts a hidden `csrf` field, the session's CSRF token (derived from the
//!   session secret, compared in constant time). [`Submitted`] is the only way a handler gets
//!   a form, so no form can skip the check.
//! - The sign-in form itself is protected against login CSRF by a pre-session: a random,
//!   HttpOnly, SameSite=Strict cookie whose CSRF token the form must carry.
//! - Failed sign-ins count towards the management service's lockout (per email and per
//!   address), the same one the admin API uses.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{
    ConnectInfo, Form, FromRequest, FromRequestParts, OptionalFromRequestParts, Query, Request,
    State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use gatehouse_core::User;
use gatehouse_manage::{
    Actor, ManageError, SESSION_COOKIE, SESSION_TTL, csrf_matches, csrf_token, session_cookie,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{PageError, Portal, Shared, done_flash, see_other};
use crate::layout::{Layout, Nav, Section, SigninForm, SigninPage};

/// The cookie of the sign-in form's pre-session.
const PRESESSION_COOKIE: &str = "gatehouse_signin";

/// The signed-in user looking at a page.
#[derive(Clone)]
pub(crate) struct Viewer {
    pub(crate) actor: Actor,
    pub(crate) user: Arc<User>,
    secret: String,
}

impl std::fmt::Debug for Viewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Viewer")
            .field("user", &self.user.email)
            .finish_non_exhaustive()
    }
}

impl Viewer {
    /// The CSRF token forms on this viewer's pages carry.
    pub(crate) fn csrf(&self) -> String {
        csrf_token(&self.secret)
    }

    /// The layout of a page in `section`, with the nav for this viewer.
    pub(crate) fn layout(&self, portal: &Portal, section: Option<Section>) -> Layout {
        let is_admin = self.actor.is_admin();
        let is_owner = super::owns_any(&portal.service, &self.actor);
        let role = if is_admin {
            "admin"
        } else if is_owner {
            "API owner"
        } else {
            "developer"
        };
        Layout::signed_in(
            Nav {
                user_name: self.user.name.clone(),
                role: role.to_owned(),
                is_owner,
                is_admin,
                csrf: self.csrf(),
            },
            section,
        )
    }
}

/// The value of cookie `name`.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn viewer_of(parts: &Parts, state: &Shared) -> Result<Option<Viewer>, ManageError> {
    let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(user) = state.service.session_user(secret).await? else {
        return Ok(None);
    };
    Ok(Some(Viewer {
        actor: Actor::User(Arc::clone(&user)),
        user,
        secret: secret.to_owned(),
    }))
}

/// Where to come back to after signing in: this page, if it is one to come back to.
fn return_path(parts: &Parts) -> String {
    if parts.method != axum::http::Method::GET {
        return String::new();
    }
    parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .filter(|p| local_path(p))
        .unwrap_or_default()
}

/// Whether `next` is a portal page of this site (no other origin, no scheme-relative URL).
fn local_path(next: &str) -> bool {
    next.starts_with("/portal")
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 512
}

impl FromRequestParts<Shared> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, PageError> {
        match viewer_of(parts, state).await? {
            Some(v) => Ok(v),
            None => Err(PageError::SignIn {
                next: return_path(parts),
            }),
        }
    }
}

impl OptionalFromRequestParts<Shared> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Shared,
    ) -> Result<Option<Self>, PageError> {
        Ok(viewer_of(parts, state).await?)
    }
}

/// A form body with the CSRF field beside the form's own fields.
#[derive(Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: T,
}

/// A form posted by the signed-in viewer, its CSRF token checked.
#[derive(Debug)]
pub(crate) struct Submitted<T> {
    pub(crate) viewer: Viewer,
    pub(crate) form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<Shared> for Submitted<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let viewer =
            <Viewer as FromRequestParts<Shared>>::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let Form(WithCsrf { csrf, form }) = Form::<WithCsrf<T>>::from_request(req, state)
            .await
            .map_err(|e| PageError::BadForm(e.body_text()))?;
        if !csrf_matches(&viewer.secret, &csrf) {
            return Err(PageError::Csrf);
        }
        Ok(Self { viewer, form })
    }
}

/// A form with no fields of its own (sign out, revoke, approve…).
#[derive(Debug, Deserialize)]
pub(crate) struct NoFields {}

/// The query of the sign-in page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SigninQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

fn presession_cookie(state: &Portal, value: &str, max_age: u64) -> HeaderValue {
    let secure = if state.service.state().config.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{PRESESSION_COOKIE}={value}; Path=/portal/signin; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// A pre-session value: the one in the request if it looks like ours, or a new one.
fn presession(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, PRESESSION_COOKIE) {
        Some(v) if v.len() == 32 && v.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            (v.to_owned(), false)
        }
        _ => (gatehouse_keys::secret::random_base62(32), true),
    }
}

fn signin_response(
    state: &Portal,
    status: StatusCode,
    page: &SigninPage,
    presession: Option<&str>,
) -> Result<Response, PageError> {
    let mut resp = super::html(status, page)?;
    if let Some(p) = presession {
        resp.headers_mut()
            .insert(header::SET_COOKIE, presession_cookie(state, p, 3600));
    }
    Ok(resp)
}

/// `GET /portal/signin`.
pub(crate) async fn signin_page(
    State(state): State<Shared>,
    viewer: Option<Viewer>,
    Query(q): Query<SigninQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let next = q.next.filter(|n| local_path(n)).unwrap_or_default();
    if viewer.is_some() {
        return Ok(see_other(if next.is_empty() {
            "/portal/apis"
        } else {
            &next
        }));
    }
    let (pre, fresh) = presession(&headers);
    let page = SigninPage {
        layout: done_flash(Layout::signed_out(), q.done.as_deref()),
        csrf: csrf_token(&pre),
        email: String::new(),
        error: None,
        next,
    };
    signin_response(&state, StatusCode::OK, &page, fresh.then_some(pre.as_str()))
}

/// `POST /portal/signin`.
pub(crate) async fn signin(
    State(state): State<Shared>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    form: Result<Form<SigninForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|e| PageError::BadForm(e.body_text()))?;
    let next = Some(form.next.clone())
        .filter(|n| local_path(n))
        .unwrap_or_default();
    let Some(pre) = cookie(&headers, PRESESSION_COOKIE) else {
        return Err(PageError::Csrf);
    };
    if !csrf_matches(pre, &form.csrf) {
        return Err(PageError::Csrf);
    }
    let again = |error: String| SigninPage {
        layout: Layout::signed_out(),
        csrf: csrf_token(pre),
        email: form.email.clone(),
        error: Some(error),
        next: next.clone(),
    };
    match state
        .service
        .sign_in(&form.email, &form.password, peer.map(|p| p.0.0.ip()))
        .await
    {
        Ok(started) => {
            let mut resp = see_other(if next.is_empty() {
                "/portal/apis"
            } else {
                &next
            });
            let h = resp.headers_mut();
            h.append(
                header::SET_COOKIE,
                session_cookie(&state.service, &started.secret, SESSION_TTL.as_secs()),
            );
            h.append(header::SET_COOKIE, presession_cookie(&state, "", 0));
            Ok(resp)
        }
        Err(ManageError::SignInFailed) => signin_response(
            &state,
            StatusCode::UNAUTHORIZED,
            &again("Email or password is incorrect.".into()),
            None,
        ),
        Err(ManageError::LockedOut(secs)) => {
            let mut resp = signin_response(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                &again(format!(
                    "Too many failed sign-ins. Try again in {secs} seconds."
                )),
                None,
            )?;
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(resp)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /portal/signout`.
pub(crate) async fn signout(
    State(state): State<Shared>,
    Submitted { viewer, .. }: Submitted<NoFields>,
) -> Result<Response, PageError> {
    state.service.sign_out(&viewer.secret).await?;
    let mut resp = see_other("/portal/signin?done=signed-out");
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state.service, "", 0));
    Ok(resp)
}

/// Renders a signed-in page: a small helper so handlers read `page(&viewer, …)`.
pub(crate) fn page<T: Template>(page: &T) -> Result<Response, PageError> {
    super::html(StatusCode::OK, page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_portal_paths_are_followed() {
        assert!(local_path("/portal/apps/app_1"));
        assert!(local_path("/portal/apis?x=1"));
        for bad in [
            "//evil.example/portal",
            "https://evil.example/portal",
            "/admin/v1/users",
            "/portal\\..\\x",
            "/portal/\r\nSet-Cookie: x",
            "",
        ] {
            assert!(!local_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn presession_keeps_a_well_formed_cookie_and_replaces_others() {
        let mut h = HeaderMap::new();
        let (fresh, new) = presession(&h);
        assert!(new);
        assert_eq!(fresh.len(), 32);
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {PRESESSION_COOKIE}={fresh}")).unwrap(),
        );
        assert_eq!(presession(&h), (fresh, false));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("gatehouse_signin=\"><script>"),
        );
        assert!(presession(&h).1);
    }
}
