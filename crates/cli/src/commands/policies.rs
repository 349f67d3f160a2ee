//! `gatehouse policy test|put|show|versions|delete|list|decisions` and `gatehouse api
//! set-owners`.
//!
//! `policy test` runs locally (no server), like `opa test`. The other subcommands call the
//! admin API with the admin token, or with an API owner's access token for
//! `urn:gatehouse:policies` (`GATEHOUSE_ADMIN_TOKEN`), which may manage only the policies of
//! the APIs it owns.

use gatehouse_proto::admin::PutPolicy;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Output, Result, enc, field, items, s};
use crate::CliError;
use crate::admin_client::AdminClient;
use crate::cli::{PolicyCmd, PolicyTarget};

/// `policy test DIR`: runs the Rego unit tests; fails (exit 1) when one fails.
pub(crate) fn test(dir: &std::path::Path, filter: Option<&str>) -> Result<Output> {
    let report = gatehouse_policy::testing::run_dir(dir, filter)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let results: Vec<Value> = report
        .results
        .iter()
        .map(|r| {
            json!({
                "package": r.package,
                "name": r.name,
                "outcome": outcome(&r.outcome),
                "duration_us": u64::try_from(r.duration.as_micros()).unwrap_or(u64::MAX),
            })
        })
        .collect();
    if report.results.is_empty() {
        return Err(CliError::Failed(format!(
            "no test_ rules found under {}",
            dir.display()
        )));
    }
    if !report.passed() {
        // The report goes to stdout either way; the exit status says it failed.
        println!("{report}");
        return Err(CliError::Failed("some policy tests did not pass".into()));
    }
    Ok(Output::new(
        json!({ "passed": true, "results": results }),
        report.to_string(),
    ))
}

fn outcome(o: &gatehouse_policy::testing::Outcome) -> String {
    use gatehouse_policy::testing::Outcome;
    match o {
        Outcome::Pass => "pass".into(),
        Outcome::Fail => "fail".into(),
        Outcome::Error(e) => format!("error: {e}"),
        _ => "unknown".into(),
    }
}

fn path(t: &PolicyTarget) -> String {
    match (&t.api, &t.operation) {
        (Some(api), Some(op)) => {
            format!("/admin/v1/apis/{}/operations/{}/policy", enc(api), enc(op))
        }
        (Some(api), None) => format!("/admin/v1/apis/{}/policy", enc(api)),
        _ => "/admin/v1/policies/global".to_owned(),
    }
}

fn where_line(p: &Value) -> String {
    let api = field(p, "api_id");
    let op = field(p, "operation");
    match (api.as_str(), op.as_str()) {
        (None, _) => "global".to_owned(),
        (Some(a), None) => a.to_owned(),
        (Some(a), Some(o)) => format!("{a} {o}"),
    }
}

fn policy_line(p: &Value) -> String {
    format!(
        "{:<24} v{:<4} {:<36} on_error={} caching={} by {}",
        s(field(p, "id")),
        s(field(p, "version")),
        where_line(p),
        s(field(p, "on_error")),
        s(field(p, "caching")),
        s(field(p, "updated_by")),
    )
}

fn read(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("reading {}: {e}", path.display())))
}

/// Runs one `policy` subcommand other than `test`.
pub(super) async fn run(c: &AdminClient, cmd: &PolicyCmd) -> Result<Output> {
    match cmd {
        PolicyCmd::Test { dir, filter } => test(dir, filter.as_deref()),
        PolicyCmd::Put {
            target,
            file,
            data,
            on_error,
            caching,
            headers,
            log_permille,
            if_version,
        } => {
            let module = read(file)?;
            let data = match data {
                Some(f) => Some(
                    serde_json::from_str::<Value>(&read(f)?)
                        .map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", f.display())))?,
                ),
                None => None,
            };
            let body = PutPolicy {
                module,
                data,
                on_error: on_error.clone(),
                caching: caching.clone(),
                headers: headers.clone(),
                log_permille: *log_permille,
                if_version: *if_version,
            };
            let v: Value = c.call(Method::PUT, &path(target), Some(&body)).await?;
            let human = format!(
                "policy {} is at version {}",
                s(field(&v, "id")),
                s(field(&v, "version"))
            );
            Ok(Output::new(v, human))
        }
        PolicyCmd::Show { target } => {
            let v: Value = c.call::<(), _>(Method::GET, &path(target), None).await?;
            let human = format!(
                "{}\n\n{}",
                policy_line(&v),
                field(&v, "module").as_str().unwrap_or("")
            );
            Ok(Output::new(v, human))
        }
        PolicyCmd::Versions { target } => {
            let v: Value = c
                .call::<(), _>(Method::GET, &format!("{}/versions", path(target)), None)
                .await?;
            let human = items(&v)
                .iter()
                .map(|p| {
                    format!(
                        "v{:<4} {}  {}",
                        s(field(p, "version")),
                        s(field(p, "updated_at")),
                        s(field(p, "updated_by"))
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(v, human))
        }
        PolicyCmd::Delete { target } => {
            let _: Value = c.call::<(), _>(Method::DELETE, &path(target), None).await?;
            Ok(Output::new(json!({"deleted": true}), "policy detached"))
        }
        PolicyCmd::List => {
            let v: Value = c
                .call::<(), _>(Method::GET, "/admin/v1/policies", None)
                .await?;
            let human = items(&v)
                .iter()
                .map(policy_line)
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(v, human))
        }
        PolicyCmd::Decisions { api, since, limit } => {
            let mut url = format!("/admin/v1/apis/{}/decisions?limit={limit}", enc(api));
            if let Some(since) = since {
                url.push_str(&format!("&since={since}"));
            }
            let v: Value = c.call::<(), _>(Method::GET, &url, None).await?;
            let human = items(&v)
                .iter()
                .map(|d| {
                    format!(
                        "{}  {:<5} {:<20} {:<6} {:<30} {} {}",
                        s(field(d, "at")),
                        s(field(d, "outcome")),
                        s(field(d, "client_id")),
                        s(field(d, "method")),
                        s(field(d, "path")),
                        s(field(d, "operation")),
                        field(d, "reason").as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(v, human))
        }
    }
}
