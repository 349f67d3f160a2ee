//! Usage statistics for API owners and application owners: request counts by status class and
//! latency percentiles, grouped by application, operation or API, over a time range.

use std::collections::BTreeMap;

use gatehouse_core::{LATENCY_BUCKETS, UnixTime, UsageQuery, UsageRecord, minute_of, quantile_ms};
use serde::Serialize;

use super::{ManageService, invalid};
use crate::ManageError;

/// Default range: the last 24 hours.
const DEFAULT_RANGE_SECS: i64 = 86_400;
/// Longest range one query may cover: 31 days.
const MAX_RANGE_SECS: i64 = 31 * 86_400;

/// How to group usage rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// By calling application.
    Application,
    /// By operation.
    Operation,
    /// By API.
    Api,
}

impl std::str::FromStr for GroupBy {
    type Err = ManageError;
    fn from_str(s: &str) -> Result<Self, ManageError> {
        match s {
            "application" => Ok(Self::Application),
            "operation" => Ok(Self::Operation),
            "api" => Ok(Self::Api),
            other => Err(invalid(format!(
                "by={other:?}: expected application, operation or api"
            ))),
        }
    }
}

/// One group's totals.
#[derive(Debug, Clone, Serialize)]
pub struct UsageGroup {
    /// Application id, operation name or API id.
    pub key: String,
    /// Requests.
    pub count: u64,
    /// Requests per status class (`2xx`, `4xx`, …).
    pub by_class: BTreeMap<String, u64>,
    /// Median latency (upper bound of its bucket, ms).
    pub p50_ms: Option<u64>,
    /// 99th percentile latency (upper bound of its bucket, ms).
    pub p99_ms: Option<u64>,
}

/// A usage report.
#[derive(Debug, Clone, Serialize)]
pub struct UsageReport {
    /// Range start (inclusive, seconds since the epoch).
    pub from: i64,
    /// Range end (exclusive).
    pub to: i64,
    /// Grouping.
    pub by: &'static str,
    /// Totals over the whole range.
    pub total: u64,
    /// One entry per group, busiest first.
    pub items: Vec<UsageGroup>,
    /// Requests per minute (only minutes with traffic).
    pub minutes: Vec<(i64, u64)>,
}

impl ManageService {
    /// Usage of an API (by id, name or audience).
    pub async fn api_usage(
        &self,
        api: &str,
        from: Option<i64>,
        to: Option<i64>,
        by: GroupBy,
    ) -> Result<UsageReport, ManageError> {
        let api = self.find_api(api)?;
        let (from, to) = self.range(from, to)?;
        let q = UsageQuery {
            api_id: Some(api.id.clone()),
            client_id: None,
            from: Some(from),
            to: Some(to),
        };
        let rows = self.state().store.query_usage(&q).await?;
        Ok(report(&rows, from, to, by))
    }

    /// Usage of an application across APIs.
    pub async fn client_usage(
        &self,
        client: &str,
        from: Option<i64>,
        to: Option<i64>,
        by: GroupBy,
    ) -> Result<UsageReport, ManageError> {
        let entry = self.get_client(client)?;
        let (from, to) = self.range(from, to)?;
        let q = UsageQuery {
            api_id: None,
            client_id: Some(entry.client.id.clone()),
            from: Some(from),
            to: Some(to),
        };
        let rows = self.state().store.query_usage(&q).await?;
        Ok(report(&rows, from, to, by))
    }

    fn range(
        &self,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<(UnixTime, UnixTime), ManageError> {
        let now = self.state().now();
        let to = to.map_or_else(|| UnixTime(minute_of(now).0 + 60), UnixTime);
        let from = from.map_or(UnixTime(to.0 - DEFAULT_RANGE_SECS), UnixTime);
        if from >= to {
            return Err(invalid("from must be before to"));
        }
        if to.0 - from.0 > MAX_RANGE_SECS {
            return Err(invalid("a usage query may cover at most 31 days"));
        }
        Ok((minute_of(from), to))
    }
}

/// Running totals of a group: requests, per status class, latency buckets.
type Totals = (u64, BTreeMap<String, u64>, Vec<u64>);

fn report(rows: &[UsageRecord], from: UnixTime, to: UnixTime, by: GroupBy) -> UsageReport {
    let mut groups: BTreeMap<String, Totals> = BTreeMap::new();
    let mut minutes: BTreeMap<i64, u64> = BTreeMap::new();
    for r in rows {
        let key = match by {
            GroupBy::Application => r.client_id.to_string(),
            GroupBy::Operation => r.operation.clone(),
            GroupBy::Api => r.api_id.to_string(),
        };
        let g = groups
            .entry(key)
            .or_insert_with(|| (0, BTreeMap::new(), vec![0; LATENCY_BUCKETS]));
        g.0 += r.count;
        *g.1.entry(format!("{}xx", r.status_class)).or_insert(0) += r.count;
        for (a, b) in g.2.iter_mut().zip(&r.latency_buckets) {
            *a += b;
        }
        *minutes.entry(r.minute.0).or_insert(0) += r.count;
    }
    let mut items: Vec<UsageGroup> = groups
        .into_iter()
        .map(|(key, (count, by_class, buckets))| UsageGroup {
            key,
            count,
            by_class,
            p50_ms: quantile_ms(&buckets, 0.5),
            p99_ms: quantile_ms(&buckets, 0.99),
        })
        .collect();
    items.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    UsageReport {
        from: from.0,
        to: to.0,
        by: match by {
            GroupBy::Application => "application",
            GroupBy::Operation => "operation",
            GroupBy::Api => "api",
        },
        total: items.iter().map(|g| g.count).sum(),
        items,
        minutes: minutes.into_iter().collect(),
    }
}
