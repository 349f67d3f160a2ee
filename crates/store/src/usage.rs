//! Usage rows and the two statements both backends run on them: the upsert that adds a record
//! to its row, and the filtered select. Both are built with [`QueryBuilder`], generic over the
//! database, so the SQL exists once (it uses nothing dialect-specific).
//!
//! A record is stored as one row per key with one column per latency bucket (see
//! `migrations/*/0003_usage.sql`). Adding saturates at `i64::MAX`, the largest count a column
//! holds, as [`UsageRecord::merge`] saturates at `u64::MAX`.

use std::fmt::Display;

use gatehouse_core::{LATENCY_BUCKETS, UnixTime, UsageQuery, UsageRecord};
use sqlx::{ColumnIndex, Database, Decode, Encode, QueryBuilder, Row, Type};

use crate::StoreError;

/// The latency bucket columns, in bucket order.
///
/// The length is [`LATENCY_BUCKETS`]: if core ever changes the buckets, this stops compiling
/// until a migration adds the columns.
const BUCKET_COLUMNS: [&str; LATENCY_BUCKETS] = [
    "bucket_00",
    "bucket_01",
    "bucket_02",
    "bucket_03",
    "bucket_04",
    "bucket_05",
    "bucket_06",
    "bucket_07",
    "bucket_08",
    "bucket_09",
    "bucket_10",
    "bucket_11",
    "bucket_12",
    "bucket_13",
    "bucket_14",
];

/// The columns of the key, in the order results are sorted by.
const KEY_COLUMNS: &str = "minute, api_id, client_id, operation, status_class";

/// The longest batch id accepted, in characters.
const MAX_BATCH_ID_CHARS: usize = 128;

/// A row of `usage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageRow {
    pub(crate) minute: i64,
    pub(crate) api_id: String,
    pub(crate) client_id: String,
    pub(crate) operation: String,
    pub(crate) status_class: i16,
    pub(crate) count: i64,
    pub(crate) latency_buckets: [i64; LATENCY_BUCKETS],
}

/// Checks a batch id: 1 to 128 characters, no NUL (PostgreSQL text cannot hold one).
pub(crate) fn check_batch_id(batch_id: &str) -> Result<(), StoreError> {
    let chars = batch_id.chars().count();
    if !(1..=MAX_BATCH_ID_CHARS).contains(&chars) {
        return Err(StoreError::Invalid(format!(
            "usage batch id must be 1 to {MAX_BATCH_ID_CHARS} characters, not {chars}"
        )));
    }
    if batch_id.contains('\0') {
        return Err(StoreError::Invalid(
            "usage batch id contains a NUL character".to_owned(),
        ));
    }
    Ok(())
}

/// Checks a whole batch and encodes its records, so a bad record refuses the batch before
/// anything is written.
pub(crate) fn encode_batch(
    batch_id: &str,
    records: &[UsageRecord],
) -> Result<Vec<UsageRow>, StoreError> {
    check_batch_id(batch_id)?;
    records.iter().map(UsageRow::encode).collect()
}

/// `INSERT … ON CONFLICT DO UPDATE` adding `row` to the stored row of its key, or nothing when
/// its API or client does not exist (usage of a deleted API or application is dropped).
pub(crate) fn upsert<'q, DB>(row: &'q UsageRow) -> QueryBuilder<'q, DB>
where
    DB: Database,
    DB::Arguments<'q>: Default,
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    i16: Encode<'q, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(format!(
        "INSERT INTO usage ({KEY_COLUMNS}, count, {}) SELECT ",
        BUCKET_COLUMNS.join(", ")
    ));
    let mut values = q.separated(", ");
    values.push_bind(row.minute);
    values.push_bind(row.api_id.as_str());
    values.push_bind(row.client_id.as_str());
    values.push_bind(row.operation.as_str());
    values.push_bind(row.status_class);
    values.push_bind(row.count);
    for n in row.latency_buckets {
        values.push_bind(n);
    }
    q.push(" WHERE EXISTS (SELECT 1 FROM apis WHERE id = ");
    q.push_bind(row.api_id.as_str());
    q.push(") AND EXISTS (SELECT 1 FROM clients WHERE id = ");
    q.push_bind(row.client_id.as_str());
    q.push(format!(") ON CONFLICT ({KEY_COLUMNS}) DO UPDATE SET "));
    let sums: Vec<String> = std::iter::once("count")
        .chain(BUCKET_COLUMNS)
        .map(|c| {
            format!(
                "{c} = CASE WHEN usage.{c} > {max} - excluded.{c} THEN {max} \
                 ELSE usage.{c} + excluded.{c} END",
                max = i64::MAX
            )
        })
        .collect();
    q.push(sums.join(", "));
    q
}

/// `SELECT` of the rows `query` matches, in key order.
pub(crate) fn select<'q, DB>(query: &'q UsageQuery) -> QueryBuilder<'q, DB>
where
    DB: Database,
    DB::Arguments<'q>: Default,
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new("SELECT * FROM usage");
    let mut joiner = " WHERE ";
    let mut condition = |q: &mut QueryBuilder<'q, DB>, sql: &str| {
        q.push(joiner).push(sql);
        joiner = " AND ";
    };
    if let Some(api) = &query.api_id {
        condition(&mut q, "api_id = ");
        q.push_bind(api.as_str());
    }
    if let Some(client) = &query.client_id {
        condition(&mut q, "client_id = ");
        q.push_bind(client.as_str());
    }
    if let Some(from) = query.from {
        condition(&mut q, "minute >= ");
        q.push_bind(from.0);
    }
    if let Some(to) = query.to {
        condition(&mut q, "minute < ");
        q.push_bind(to.0);
    }
    q.push(format!(" ORDER BY {KEY_COLUMNS}"));
    q
}

// === impl UsageRow ===

fn invalid(record: &UsageRecord, what: impl Display) -> StoreError {
    StoreError::Invalid(format!(
        "usage record ({}, {}, {}, '{}', {}): {what}",
        record.minute.0,
        record.api_id,
        record.client_id,
        record.operation.escape_debug(),
        record.status_class
    ))
}

fn count_column(record: &UsageRecord, what: &str, n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| invalid(record, format!("{what} {n} is above {}", i64::MAX)))
}

fn corrupt(column: &str, err: impl Display) -> StoreError {
    StoreError::Corrupt {
        table: "usage",
        detail: format!("{column}: {err}"),
    }
}

impl UsageRow {
    /// The row for `record`, or [`StoreError::Invalid`] when the record breaks a rule of
    /// [`Store::add_usage`](crate::Store::add_usage).
    pub(crate) fn encode(record: &UsageRecord) -> Result<Self, StoreError> {
        if record.minute.0 % 60 != 0 {
            return Err(invalid(record, "minute is not a multiple of 60"));
        }
        if !(1..=5).contains(&record.status_class) {
            return Err(invalid(record, "status class is not 1 to 5"));
        }
        if record.operation.contains('\0') {
            return Err(invalid(record, "operation contains a NUL character"));
        }
        if record.latency_buckets.len() != LATENCY_BUCKETS {
            return Err(invalid(
                record,
                format!(
                    "{} latency buckets, expected {LATENCY_BUCKETS}",
                    record.latency_buckets.len()
                ),
            ));
        }
        let mut latency_buckets = [0; LATENCY_BUCKETS];
        for (slot, n) in latency_buckets.iter_mut().zip(&record.latency_buckets) {
            *slot = count_column(record, "latency bucket count", *n)?;
        }
        Ok(Self {
            minute: record.minute.0,
            api_id: record.api_id.to_string(),
            client_id: record.client_id.to_string(),
            operation: record.operation.clone(),
            status_class: i16::from(record.status_class),
            count: count_column(record, "count", record.count)?,
            latency_buckets,
        })
    }
}

impl TryFrom<UsageRow> for UsageRecord {
    type Error = StoreError;
    fn try_from(r: UsageRow) -> Result<Self, StoreError> {
        let count = |column: &str, n: i64| u64::try_from(n).map_err(|e| corrupt(column, e));
        let mut latency_buckets = Vec::with_capacity(LATENCY_BUCKETS);
        for (column, n) in BUCKET_COLUMNS.iter().zip(r.latency_buckets) {
            latency_buckets.push(count(column, n)?);
        }
        Ok(UsageRecord {
            minute: UnixTime(r.minute),
            api_id: r.api_id.parse().map_err(|e| corrupt("api_id", e))?,
            client_id: r.client_id.parse().map_err(|e| corrupt("client_id", e))?,
            status_class: u8::try_from(r.status_class).map_err(|e| corrupt("status_class", e))?,
            count: count("count", r.count)?,
            latency_buckets,
            operation: r.operation,
        })
    }
}

/// Reads the bucket columns by name (a derived `FromRow` would need one field per column).
impl<'r, R> sqlx::FromRow<'r, R> for UsageRow
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    i16: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let mut latency_buckets = [0; LATENCY_BUCKETS];
        for (slot, column) in latency_buckets.iter_mut().zip(BUCKET_COLUMNS) {
            *slot = row.try_get(column)?;
        }
        Ok(Self {
            minute: row.try_get("minute")?,
            api_id: row.try_get("api_id")?,
            client_id: row.try_get("client_id")?,
            operation: row.try_get("operation")?,
            status_class: row.try_get("status_class")?,
            count: row.try_get("count")?,
            latency_buckets,
        })
    }
}

#[cfg(test)]
mod tests;
