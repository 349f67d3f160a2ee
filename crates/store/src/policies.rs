//! Policy rows and the statements both backends run on them, built with [`QueryBuilder`]
//! generic over the database so the SQL exists once.
//!
//! A policy is stored as JSON (`body`) with the columns queries need beside it: `attachment`
//! (unique: one policy per attachment point), `api_id` (deleting an API deletes its policies)
//! and `version` (updates are compare-and-set on it).

use gatehouse_core::{DecisionRecord, PolicyId, PolicyRecord, UnixTime};
use sqlx::{Database, QueryBuilder};

use crate::StoreError;

/// Most decisions one call returns.
pub(crate) const MAX_DECISIONS: u32 = 1000;

/// Where a policy is attached: `*` (global), `<api_id>` or `<api_id>/<operation>`.
pub(crate) fn attachment(p: &PolicyRecord) -> String {
    match (&p.api_id, &p.operation) {
        (None, _) => "*".to_owned(),
        (Some(api), None) => api.to_string(),
        (Some(api), Some(op)) => format!("{api}/{op}"),
    }
}

/// The columns of one policy version.
#[derive(Debug)]
pub(crate) struct PolicyRow {
    pub(crate) id: String,
    pub(crate) attachment: String,
    pub(crate) api_id: Option<String>,
    pub(crate) version: i64,
    pub(crate) body: String,
    pub(crate) updated_at: i64,
}

impl PolicyRow {
    /// Checks and encodes `p`.
    pub(crate) fn encode(p: &PolicyRecord) -> Result<Self, StoreError> {
        if p.version == 0 {
            return Err(StoreError::Invalid("policy versions start at 1".to_owned()));
        }
        if p.operation.is_some() && p.api_id.is_none() {
            return Err(StoreError::Invalid(
                "a policy attached to an operation names its API".to_owned(),
            ));
        }
        if p.module.contains('\0') {
            return Err(StoreError::Invalid(
                "policy module contains a NUL character".to_owned(),
            ));
        }
        let body = serde_json::to_string(p)
            .map_err(|e| StoreError::Invalid(format!("policy does not serialize: {e}")))?;
        Ok(Self {
            id: p.id.to_string(),
            attachment: attachment(p),
            api_id: p.api_id.as_ref().map(ToString::to_string),
            version: i64::from(p.version),
            body,
            updated_at: p.updated_at.0,
        })
    }
}

/// Decodes a stored body.
pub(crate) fn decode_policy(table: &'static str, body: &str) -> Result<PolicyRecord, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt {
        table,
        detail: format!("body: {e}"),
    })
}

/// Decodes a stored decision.
pub(crate) fn decode_decision(body: &str) -> Result<DecisionRecord, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt {
        table: "policy_decisions",
        detail: format!("body: {e}"),
    })
}

/// Encodes decisions as (at, api_id, body).
pub(crate) fn encode_decisions(
    records: &[DecisionRecord],
) -> Result<Vec<(i64, String, String)>, StoreError> {
    records
        .iter()
        .map(|d| {
            let body = serde_json::to_string(d)
                .map_err(|e| StoreError::Invalid(format!("decision does not serialize: {e}")))?;
            if body.contains('\0') {
                return Err(StoreError::Invalid(
                    "decision contains a NUL character".to_owned(),
                ));
            }
            Ok((d.at.0, d.api_id.to_string(), body))
        })
        .collect()
}

/// `INSERT` of version 1.
pub(crate) fn insert<'a, DB: Database>(r: &'a PolicyRow) -> QueryBuilder<'a, DB>
where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut q = QueryBuilder::new(
        "INSERT INTO policies (id, attachment, api_id, version, body, updated_at) VALUES (",
    );
    let mut v = q.separated(", ");
    v.push_bind(r.id.clone())
        .push_bind(r.attachment.clone())
        .push_bind(r.api_id.clone())
        .push_bind(r.version)
        .push_bind(r.body.clone())
        .push_bind(r.updated_at);
    q.push(")");
    q
}

/// `UPDATE` to `r.version`, only from the version before it.
pub(crate) fn update<'a, DB: Database>(r: &'a PolicyRow) -> QueryBuilder<'a, DB>
where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut q = QueryBuilder::new("UPDATE policies SET version = ");
    q.push_bind(r.version)
        .push(", body = ")
        .push_bind(r.body.clone())
        .push(", updated_at = ")
        .push_bind(r.updated_at)
        .push(" WHERE id = ")
        .push_bind(r.id.clone())
        .push(" AND attachment = ")
        .push_bind(r.attachment.clone())
        .push(" AND version = ")
        .push_bind(r.version - 1);
    q
}

/// `INSERT` into the history.
pub(crate) fn insert_version<'a, DB: Database>(r: &'a PolicyRow) -> QueryBuilder<'a, DB>
where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut q =
        QueryBuilder::new("INSERT INTO policy_versions (policy_id, version, body) VALUES (");
    let mut v = q.separated(", ");
    v.push_bind(r.id.clone())
        .push_bind(r.version)
        .push_bind(r.body.clone());
    q.push(")");
    q
}

/// Every version of `id`, oldest first.
pub(crate) fn versions<'a, DB: Database>(id: &'a PolicyId) -> QueryBuilder<'a, DB>
where
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut q = QueryBuilder::new("SELECT body FROM policy_versions WHERE policy_id = ");
    q.push_bind(id.as_str()).push(" ORDER BY version");
    q
}

/// Inserts decisions.
pub(crate) fn insert_decisions<'a, DB: Database>(
    rows: &'a [(i64, String, String)],
) -> QueryBuilder<'a, DB>
where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut q = QueryBuilder::new("INSERT INTO policy_decisions (at, api_id, body) ");
    q.push_values(rows, |mut b, (at, api, body)| {
        b.push_bind(*at)
            .push_bind(api.clone())
            .push_bind(body.clone());
    });
    q
}

/// The newest `limit` decisions about `api` (all APIs when `None`), newest first.
pub(crate) fn select_decisions<'a, DB: Database>(
    api: Option<&'a str>,
    since: UnixTime,
    limit: u32,
) -> QueryBuilder<'a, DB>
where
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut q = QueryBuilder::new("SELECT body FROM policy_decisions WHERE at >= ");
    q.push_bind(since.0);
    if let Some(api) = api {
        q.push(" AND api_id = ").push_bind(api);
    }
    q.push(" ORDER BY at DESC, seq DESC LIMIT ")
        .push_bind(i64::from(limit.min(MAX_DECISIONS)));
    q
}

/// Deletes decisions older than `before`.
pub(crate) fn purge_decisions<'a, DB: Database>(before: UnixTime) -> QueryBuilder<'a, DB>
where
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut q = QueryBuilder::new("DELETE FROM policy_decisions WHERE at < ");
    q.push_bind(before.0);
    q
}
