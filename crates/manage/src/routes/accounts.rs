//! People: signing in and out (`/admin/v1/session`), the signed-in user (`/admin/v1/me`) and
//! user administration (`/admin/v1/users`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use gatehouse_proto::admin::List;
use gatehouse_proto::portal::{
    ChangePassword, CreateUser, SessionView, SignIn, UpdateUser, UserView,
};

use super::{AdminState, Body, Result, SESSION_COOKIE, cookie, no_store, rate_limited, signed_in};
use crate::service::{Actor, SESSION_TTL, StartedSession, csrf_token};
use crate::{ManageError, ManageService};

pub(super) fn router(state: Arc<AdminState>) -> Router {
    let open = Router::new()
        .route("/admin/v1/session", post(start_session))
        .with_state(Arc::clone(&state));
    Router::new()
        .route("/admin/v1/session", get(show_session).delete(end_session))
        .route("/admin/v1/me", get(me))
        .route("/admin/v1/me/password", put(change_password))
        .route("/admin/v1/users", get(list_users).post(create_user))
        .route("/admin/v1/users/{id}", get(show_user).patch(update_user))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            signed_in,
        ))
        .with_state(state)
        .merge(open)
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

async fn show_session(Extension(actor): Extension<Actor>, req: Request) -> Result<Response> {
    let Actor::User(user) = actor else {
        return Err(ManageError::Invalid(
            "the admin token has no session; sign in with POST /admin/v1/session".into(),
        ));
    };
    let secret = cookie(req.headers(), SESSION_COOKIE).unwrap_or_default();
    Ok(no_store(
        Json(serde_json::json!({
            "user": UserView::from(&*user),
            "csrf_token": csrf_token(secret),
        }))
        .into_response(),
    ))
}

async fn end_session(State(s): State<Arc<AdminState>>, req: Request) -> Result<Response> {
    if let Some(secret) = cookie(req.headers(), SESSION_COOKIE) {
        s.service.sign_out(secret).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&s.service, "", 0));
    Ok(resp)
}

async fn me(Extension(actor): Extension<Actor>) -> Result<Json<serde_json::Value>> {
    Ok(Json(match &actor {
        Actor::AdminToken => serde_json::json!({"admin_token": true, "role": "admin"}),
        Actor::User(u) => serde_json::to_value(UserView::from(&**u))
            .map_err(|e| ManageError::Internal(e.to_string()))?,
    }))
}

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

async fn list_users(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<List<UserView>>> {
    Ok(Json(List {
        items: s.service.list_users(&actor).await?,
    }))
}

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

async fn show_user(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<UserView>> {
    Ok(Json(UserView::from(
        &s.service.get_user(&actor, &id).await?,
    )))
}

async fn update_user(
    State(s): State<Arc<AdminState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(req): Body<UpdateUser>,
) -> Result<Json<UserView>> {
    Ok(Json(s.service.update_user(&actor, &id, req).await?))
}
