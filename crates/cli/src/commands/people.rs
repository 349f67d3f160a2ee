//! `gatehouse user …` (portal users) and `gatehouse plan …` (plans of an API).

use gatehouse_core::Plan;
use gatehouse_proto::admin::List;
use gatehouse_proto::portal::{CreateUser, CreatedUser, PutPlan, UpdateUser, UserView};
use reqwest::Method;
use serde_json::json;

use super::{Output, Result, enc};
use crate::admin_client::{AdminClient, read_secret_file};
use crate::cli::{PlanCmd, UserCmd};

fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

fn user_line(u: &UserView) -> String {
    format!(
        "{}  {:<32} {:<9} {}{}",
        u.id,
        u.email,
        u.role,
        u.name,
        if u.disabled { "  (disabled)" } else { "" }
    )
}

/// Runs one `user` subcommand.
pub(super) async fn user(c: &AdminClient, cmd: &UserCmd) -> Result<Output> {
    match cmd {
        UserCmd::Create {
            email,
            name,
            admin,
            password_file,
        } => {
            let password = password_file.as_deref().map(read_secret_file).transpose()?;
            let body = CreateUser {
                email: email.clone(),
                name: name.clone().unwrap_or_else(|| email.clone()),
                role: Some(if *admin { "admin" } else { "developer" }.to_owned()),
                password,
            };
            let created: CreatedUser = c.call(Method::POST, "/admin/v1/users", Some(&body)).await?;
            let mut human = format!(
                "user:     {}\nemail:    {}\nrole:     {}",
                created.user.id, created.user.email, created.user.role
            );
            if let Some(p) = &created.password {
                human.push_str(&format!("\npassword: {p}\n(shown once: store it now)"));
            }
            Ok(Output::new(to_json(&created), human))
        }
        UserCmd::List => {
            let list: List<UserView> = c
                .call::<(), _>(Method::GET, "/admin/v1/users", None)
                .await?;
            let human = list
                .items
                .iter()
                .map(user_line)
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(to_json(&list), human))
        }
        UserCmd::Disable { user, enable } => {
            let body = UpdateUser {
                disabled: Some(!enable),
                ..UpdateUser::default()
            };
            let path = format!("/admin/v1/users/{}", enc(user));
            let u: UserView = c.call(Method::PATCH, &path, Some(&body)).await?;
            Ok(Output::new(to_json(&u), user_line(&u)))
        }
        UserCmd::SetPassword {
            user,
            password_file,
        } => {
            let body = UpdateUser {
                password: Some(read_secret_file(password_file)?),
                ..UpdateUser::default()
            };
            let path = format!("/admin/v1/users/{}", enc(user));
            let u: UserView = c.call(Method::PATCH, &path, Some(&body)).await?;
            Ok(Output::new(
                json!({"password_set": u.id}),
                format!("password of {} set; their sessions ended", u.email),
            ))
        }
    }
}

fn plan_line(p: &Plan) -> String {
    let rate = p.rate_limit.map_or_else(
        || "api default".to_owned(),
        |r| format!("{}/s burst {}", r.per_second, r.burst),
    );
    let quota = p
        .daily_quota
        .map_or_else(|| "-".to_owned(), |q| format!("{q}/day"));
    format!(
        "{:<16} {:<22} {:<12} {:<9} {}",
        p.name,
        rate,
        quota,
        if p.requires_approval {
            "approval"
        } else {
            "open"
        },
        p.scopes.to_space_separated()
    )
}

/// Runs one `plan` subcommand.
pub(super) async fn plan(c: &AdminClient, cmd: &PlanCmd) -> Result<Output> {
    match cmd {
        PlanCmd::Put {
            api,
            name,
            scopes,
            rate,
            burst,
            daily_quota,
            requires_approval,
            description,
        } => {
            let body = PutPlan {
                description: description.clone(),
                rate_limit_per_second: *rate,
                burst: *burst,
                daily_quota: *daily_quota,
                requires_approval: *requires_approval,
                scopes: scopes.clone(),
            };
            let path = format!("/admin/v1/apis/{}/plans/{}", enc(api), enc(name));
            let p: Plan = c.call(Method::PUT, &path, Some(&body)).await?;
            Ok(Output::new(to_json(&p), plan_line(&p)))
        }
        PlanCmd::List { api } => {
            let path = format!("/admin/v1/apis/{}/plans", enc(api));
            let list: List<Plan> = c.call::<(), _>(Method::GET, &path, None).await?;
            let human = list
                .items
                .iter()
                .map(plan_line)
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(to_json(&list), human))
        }
        PlanCmd::Delete { api, name } => {
            let path = format!("/admin/v1/apis/{}/plans/{}", enc(api), enc(name));
            let _: serde_json::Value = c.call::<(), _>(Method::DELETE, &path, None).await?;
            Ok(Output::new(
                json!({"deleted": {"api": api, "plan": name}}),
                format!("deleted plan {name} of {api}"),
            ))
        }
    }
}
