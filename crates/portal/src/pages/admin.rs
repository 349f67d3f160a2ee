//! The admin area: people (create, change role, disable) and the audit log export.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_manage::ManageError;
use gatehouse_proto::portal::{CreateUser, UpdateUser};
use serde::Deserialize;

use super::{Done, PageError, Portal, Shared, Submitted, Viewer, done_flash, see_other, when};
use crate::layout::{FlashKind, Layout, Section};

struct UserRow {
    id: String,
    email: String,
    name: String,
    role: String,
    disabled: bool,
    created: String,
}

/// A password generated for a new user, shown once.
struct NewPassword {
    email: String,
    password: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    layout: Layout,
    csrf: String,
    users: Vec<UserRow>,
    new_password: Option<NewPassword>,
}

async fn render(
    state: &Portal,
    viewer: &Viewer,
    layout: Layout,
    status: StatusCode,
    new_password: Option<NewPassword>,
) -> Result<Response, PageError> {
    let users = state
        .service
        .list_users(&viewer.actor)
        .await?
        .into_iter()
        .map(|u| UserRow {
            created: when(u.created_at),
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            disabled: u.disabled,
        })
        .collect();
    super::html(
        status,
        &AdminPage {
            layout,
            csrf: viewer.csrf(),
            users,
            new_password,
        },
    )
}

async fn show(state: &Portal, viewer: &Viewer, done: Option<&str>) -> Result<Response, PageError> {
    viewer.actor.require_admin()?;
    let layout = done_flash(viewer.layout(state, Some(Section::Admin)), done);
    render(state, viewer, layout, StatusCode::OK, None).await
}

/// `GET /portal/admin`.
pub(crate) async fn page(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    show(&state, &viewer, q.done.as_deref()).await
}

/// The new-user form.
#[derive(Debug, Deserialize)]
pub(crate) struct NewUser {
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// `POST /portal/admin/users`: creates a user with a generated password, shown once.
pub(crate) async fn create_user(
    State(state): State<Shared>,
    Submitted { viewer, form }: Submitted<NewUser>,
) -> Result<Response, PageError> {
    viewer.actor.require_admin()?;
    let name = if form.name.trim().is_empty() {
        form.email.clone()
    } else {
        form.name.clone()
    };
    let req = CreateUser {
        email: form.email.clone(),
        name,
        role: Some(
            if form.role == "admin" {
                "admin"
            } else {
                "developer"
            }
            .to_owned(),
        ),
        password: None,
    };
    let layout = viewer.layout(&state, Some(Section::Admin));
    match state.service.create_user(&viewer.actor, req).await {
        Ok(created) => {
            let new = created.password.map(|password| NewPassword {
                email: created.user.email.clone(),
                password,
            });
            let layout = layout.with_flash(FlashKind::Success, "User created.");
            render(&state, &viewer, layout, StatusCode::OK, new).await
        }
        Err(e @ (ManageError::Invalid(_) | ManageError::Conflict(_))) => {
            let layout = layout.with_flash(FlashKind::Error, e.to_string());
            render(&state, &viewer, layout, StatusCode::BAD_REQUEST, None).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The change-user form: a new role, or disable / enable.
#[derive(Debug, Deserialize)]
pub(crate) struct ChangeUser {
    #[serde(default)]
    role: String,
    #[serde(default)]
    disabled: String,
}

/// `POST /portal/admin/users/{id}`.
pub(crate) async fn update_user(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Submitted { viewer, form }: Submitted<ChangeUser>,
) -> Result<Response, PageError> {
    viewer.actor.require_admin()?;
    let req = UpdateUser {
        role: (!form.role.is_empty()).then_some(form.role),
        disabled: match form.disabled.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        ..UpdateUser::default()
    };
    state.service.update_user(&viewer.actor, &id, req).await?;
    Ok(see_other("/portal/admin?done=updated"))
}
