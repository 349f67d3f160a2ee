//! The audit log (`/admin/v1/audit`, as JSON pages or CSV) and the revocation feed
//! (`/admin/v1/revocations`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gatehouse_proto::admin::{ClientCutoff, List, Revocations, RevokedJti};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::BadRequest;
use super::{AdminState, Params, Result, no_store};

/// Adds the audit routes to `r` (admin only: the caller puts them behind the admin guard).
pub(super) fn routes(r: OpenApiRouter<Arc<AdminState>>) -> OpenApiRouter<Arc<AdminState>> {
    r.routes(routes!(list_audit))
        .routes(routes!(export_audit))
        .routes(routes!(revocations))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// How many events (clamped to the route's range).
    limit: Option<u32>,
    /// Only events with a smaller id (the next page: the last id seen).
    before: Option<i64>,
}

/// The audit log as CSV (newest first, at most 100,000 events), for spreadsheets and
/// auditors. Text fields are quoted, and cells that a spreadsheet would run as a formula are
/// prefixed with `'`.
#[utoipa::path(
    get, path = "/admin/v1/audit.csv", tag = "audit", params(AuditQuery),
    responses(
        (status = 200, description = "The audit log as CSV, newest first (at most 100,000 events; `limit` defaults to that)", content_type = "text/csv", body = String),
        (status = 400, response = BadRequest),
    )
)]
async fn export_audit(
    State(s): State<Arc<AdminState>>,
    Params(q): Params<AuditQuery>,
) -> Result<Response> {
    let limit = q.limit.unwrap_or(100_000).clamp(1, 100_000);
    let mut out = String::from("id,at,time,actor,action,target,detail\r\n");
    let mut before = q.before;
    let mut left = limit;
    while left > 0 {
        let page = s
            .service
            .state()
            .store
            .list_audit(left.min(1000), before)
            .await?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        left = left.saturating_sub(u32::try_from(page.len()).unwrap_or(u32::MAX));
        for e in &page {
            let time = std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(u64::try_from(e.at.0).unwrap_or(0));
            let cells = [
                e.id.to_string(),
                e.at.0.to_string(),
                humantime::format_rfc3339_seconds(time).to_string(),
                csv_cell(&e.actor),
                csv_cell(&e.action),
                csv_cell(&e.target),
                csv_cell(&e.detail.to_string()),
            ];
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
    }
    let mut resp = out.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        axum::http::HeaderValue::from_static("attachment; filename=\"gatehouse-audit.csv\""),
    );
    Ok(no_store(resp))
}

/// One quoted CSV cell; a leading `=`, `+`, `-`, `@`, tab or CR is defused with `'` (CSV
/// injection).
fn csv_cell(v: &str) -> String {
    let defused = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

#[utoipa::path(
    get, path = "/admin/v1/audit", tag = "audit", params(AuditQuery),
    responses(
        (status = 200, description = "Audit events, newest first (`limit` 1-1000, default 100)", body = List<gatehouse_core::AuditEvent>),
        (status = 400, response = BadRequest),
    )
)]
async fn list_audit(
    State(s): State<Arc<AdminState>>,
    Params(q): Params<AuditQuery>,
) -> Result<Json<List<gatehouse_core::AuditEvent>>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(List {
        items: s.service.state().store.list_audit(limit, q.before).await?,
    }))
}

/// What gateways and resource servers need to honour revocations: the `jti` deny list (until
/// each token's expiry) and the per-client cut-offs.
#[utoipa::path(
    get, path = "/admin/v1/revocations", tag = "audit",
    responses((status = 200, description = "The jti deny list and the per-client cut-offs", body = Revocations))
)]
async fn revocations(State(s): State<Arc<AdminState>>) -> Json<Revocations> {
    let catalog = s.service.state().catalog.get();
    let mut tokens: Vec<RevokedJti> = catalog
        .revoked()
        .map(|(jti, exp)| RevokedJti {
            jti: jti.clone(),
            expires_at: exp.0,
        })
        .collect();
    tokens.sort_by(|a, b| (&a.jti, a.expires_at).cmp(&(&b.jti, b.expires_at)));
    let mut clients: Vec<ClientCutoff> = catalog
        .clients()
        .filter_map(|c| {
            c.client.tokens_not_before.map(|nb| ClientCutoff {
                client_id: c.client.id.to_string(),
                tokens_not_before: nb.0,
            })
        })
        .collect();
    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    Json(Revocations { tokens, clients })
}
