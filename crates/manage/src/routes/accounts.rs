//! People: signing in and out (`/admin/v1/session`), the signed-in user (`/admin/v1/me`) and
//! user administration (`/admin/v1/users`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use gatehouse_proto::admin::List;
use gatehouse_proto::portal::{
    AdminTokenCaller, ChangePassword, CreateUser, CreatedUser, CurrentSession, Me, SessionView,
    SignIn, UpdateUser, UserView,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BadRequest, Conflict, Guard, NotFound, SignInFailed, TooManyRequests};
use super::{
    AdminState, Body, Id, Result, SESSION_COOKIE, cookie, no_store, rate_limited, signed_in,
};
use crate::service::{Actor, SESSION_TTL, StartedSession, csrf_token};
use crate::{ManageError, ManageService};

pub(super) fn router(state: Arc<AdminState>) -> OpenApiRouter {
    let mut signed_in_routes = OpenApiRouter::new()
        .routes(routes!(show_session, end_session))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(list_users, create_user))
        .routes(routes!(show_user, update_user))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            signed_in,
        ))
        .with_state(Arc::clone(&state));
    Guard::SignedIn.document(signed_in_routes.get_openapi_mut());
    // Signing in is open (rate-limited by the handler itself).
    let open = OpenApiRouter::new()
        .routes(routes!(start_session))
        .with_state(state);
    signed_in_routes.merge(open)
}

/// The `Set-Cookie` value of a session: HttpOnly, SameSite=Lax, `Secure` whenever the server
/// is reached over HTTPS (its issuer URL says so).
pub fn session_cookie(service: &ManageService, value: &str, max_age: u64) -> HeaderValue {
    let secure = if service.state().config.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let v = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

fn session_view(s: &StartedSession) -> SessionView {
    SessionView {
        user: UserView::from(&*s.user),
        csrf_token: s.csrf_token.clone(),
        expires_at: s.expires_at.0,
    }
}

#[utoipa::path(
    post, path = "/admin/v1/session", tag = "people", request_body = SignIn, security(()),
    responses(
        (status = 201, description = "Signed in: the `gatehouse_session` cookie is set (HttpOnly, SameSite=Lax)", body = SessionView,
            headers(("Set-Cookie" = String, description = "The session cookie"))),
        (status = 400, response = BadRequest),
        (status = 401, response = SignInFailed),
        (status = 429, response = TooManyRequests),
    )
)]
async fn start_session(State(s): State<Arc<AdminState>>, req: Request) -> Result<Response> {
    if rate_limited(&s, &req) {
        return Err(ManageError::RateLimited);
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Body(body) =
        <Body<SignIn> as axum::extract::FromRequest<()>>::from_request(req, &()).await?;
    let started = s.service.sign_in(&body.email, &body.password, peer).await?;
    let mut resp = (StatusCode::CREATED, Json(session_view(&started))).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&s.service, &started.secret, SESSION_TTL.as_secs()),
    );
    Ok(no_store(resp))
}

#[utoipa::path(
    get, path = "/admin/v1/session", tag = "people",
    responses(
        (status = 200, description = "The signed-in user and the session's CSRF token", body = CurrentSession),
        (status = 400, response = BadRequest),
    )
)]
async fn show_session(Extension(actor): Extension<Actor>, req: Request) -> Result<Response> {
    let Actor::User(user) = actor else {
        return Err(ManageError::Invalid(
            "the admin token has no session; sign in with POST /admin/v1/session".into(),
        ));
    };
    let secret = cookie(req.headers(), SESSION_COOKIE).unwrap_or_default();
    Ok(no_store(
        Json(CurrentSession {
            user: UserView::from(&*user),
            csrf_token: csrf_token(secret),
        })
        .into_response(),
    ))
}

#[utoipa::path(
    delete, path = "/admin/v1/session", tag = "people",
    responses((status = 204, description = "Signed out; the cookie is cleared",
        headers(("Set-Cookie" = String, description = "The cleared session cookie"))))
)]
async fn end_session(State(s): State<Arc<AdminState>>, req: Request) -> Result<Response> {
    if let Some(secret) = cookie(req.headers(), SESSION_COOKIE) {
        s.service.sign_out(secret).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&s.service, "", 0));
    Ok(resp)
}

#[utoipa::path(
    get, path = "/admin/v1/me", tag = "people",
    responses((status = 200, description = "Who is calling", body = Me))
)]
async fn me(Extension(actor): Extension<Actor>) -> Json<Me> {
    Json(match &actor {
        Actor::AdminToken => Me::AdminToken(AdminTokenCaller {
            admin_token: true,
            role: "admin".into(),
        }),
        Actor::User(u) => Me::User(UserView::from(&**u)),
    })
}

#[utoipa::path(
    put, path = "/admin/v1/me/password", tag = "people", request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed; every session of the user ends"),
        (status = 400, response = BadRequest),
    )
)]
async fn change_password(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Body(req): Body<ChangePassword>,
) -> Result<StatusCode> {
    s.service
        .change_own_password(&actor, &req.current, &req.new)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/admin/v1/users", tag = "people",
    responses((status = 200, description = "Every user (admins only)", body = List<UserView>))
)]
async fn list_users(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<List<UserView>>> {
    Ok(Json(List {
        items: s.service.list_users(&actor).await?,
    }))
}

#[utoipa::path(
    post, path = "/admin/v1/users", tag = "people", request_body = CreateUser,
    responses(
        (status = 201, description = "The user; a generated password appears here only", body = CreatedUser),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
    )
)]
async fn create_user(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Body(req): Body<CreateUser>,
) -> Result<Response> {
    let created = s.service.create_user(&actor, req).await?;
    Ok(no_store(
        (StatusCode::CREATED, Json(created)).into_response(),
    ))
}

#[utoipa::path(
    get, path = "/admin/v1/users/{id}", tag = "people", params(("id" = String, Path, description = "User id or email")),
    responses(
        (status = 200, description = "The user (admins, or the user themself)", body = UserView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn show_user(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
) -> Result<Json<UserView>> {
    Ok(Json(UserView::from(
        &s.service.get_user(&actor, &id).await?,
    )))
}

#[utoipa::path(
    patch, path = "/admin/v1/users/{id}", tag = "people", params(("id" = String, Path, description = "User id or email")), request_body = UpdateUser,
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
async fn update_user(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Id(id): Id<String>,
    Body(req): Body<UpdateUser>,
) -> Result<Json<UserView>> {
    Ok(Json(s.service.update_user(&actor, &id, req).await?))
}
