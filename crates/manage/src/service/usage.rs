//! Usage statistics for API owners and application owners: request counts by status class and
//! latency percentiles, grouped by application, operation or API, over a time range.

use std::collections::BTreeMap;

use gatehouse_core::{LATENCY_BUCKETS, UnixTime, UsageQuery, UsageRecord, minute_of, quantile_ms};
use serde::Serialize;

use super::people::Actor;
use super::{ManageService, invalid};
use crate::ManageError;
use gatehouse_proto::portal::{DailySeries, DailyUsage};

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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UsageReport {
    /// Range start (inclusive, seconds since the epoch).
    pub from: i64,
    /// Range end (exclusive).
    pub to: i64,
    /// Grouping: `application`, `operation` or `api`.
    #[schema(value_type = String)]
    pub by: &'static str,
    /// Totals over the whole range.
    pub total: u64,
    /// One entry per group, busiest first.
    pub items: Vec<UsageGroup>,
    /// Requests per minute (only minutes with traffic): `[minute start, requests]` pairs.
    #[schema(value_type = Vec<Vec<i64>>)]
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

    /// Usage of an API its owner (or an admin) may read.
    pub async fn owned_api_usage(
        &self,
        actor: &Actor,
        api: &str,
        from: Option<i64>,
        to: Option<i64>,
        by: GroupBy,
    ) -> Result<UsageReport, ManageError> {
        let api = self.owned_api(actor, api)?;
        self.api_usage(api.id.as_str(), from, to, by).await
    }

    /// Usage of an application its owner (or an admin) may read.
    pub async fn managed_app_usage(
        &self,
        actor: &Actor,
        app: &str,
        from: Option<i64>,
        to: Option<i64>,
        by: GroupBy,
    ) -> Result<UsageReport, ManageError> {
        let entry = self.managed_app(actor, app)?;
        self.client_usage(entry.client.id.as_str(), from, to, by)
            .await
    }

    /// Requests per UTC day over the last `days` days (today included), per application for
    /// an API (`of` = [`UsageOf::Api`]) or per API for an application, with the error rate and
    /// p99 latency per day: what the portal's charts plot.
    pub async fn daily_usage(
        &self,
        actor: &Actor,
        of: UsageOf<'_>,
        days: u32,
    ) -> Result<DailyUsage, ManageError> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(invalid(format!("days must be 1 to {MAX_DAYS}")));
        }
        let today = self.now().0.div_euclid(DAY) * DAY;
        let from = today - i64::from(days - 1) * DAY;
        let mut q = UsageQuery {
            api_id: None,
            client_id: None,
            from: Some(UnixTime(from)),
            to: Some(UnixTime(today + DAY)),
        };
        let catalog = self.state.catalog.get();
        match of {
            UsageOf::Api(key) => q.api_id = Some(self.owned_api(actor, key)?.id.clone()),
            UsageOf::Application(id) => {
                q.client_id = Some(self.managed_app(actor, id)?.client.id.clone());
            }
        }
        let rows = self.state.store.query_usage(&q).await?;
        let n = usize::try_from(days).unwrap_or(1);
        let mut per_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut totals = vec![0u64; n];
        let mut errors = vec![0u64; n];
        let mut buckets = vec![vec![0u64; LATENCY_BUCKETS]; n];
        for r in &rows {
            let Ok(day) = usize::try_from((r.minute.0 - from).div_euclid(DAY)) else {
                continue;
            };
            if day >= n {
                continue;
            }
            let key = match of {
                UsageOf::Api(_) => r.client_id.to_string(),
                UsageOf::Application(_) => r.api_id.to_string(),
            };
            let counts = per_key.entry(key).or_insert_with(|| vec![0; n]);
            if let Some(c) = counts.get_mut(day) {
                *c = c.saturating_add(r.count);
            }
            if let Some(t) = totals.get_mut(day) {
                *t = t.saturating_add(r.count);
            }
            if r.status_class >= 4
                && let Some(e) = errors.get_mut(day)
            {
                *e = e.saturating_add(r.count);
            }
            if let Some(b) = buckets.get_mut(day) {
                for (a, x) in b.iter_mut().zip(&r.latency_buckets) {
                    *a = a.saturating_add(*x);
                }
            }
        }
        let mut series: Vec<DailySeries> = per_key
            .into_iter()
            .map(|(key, counts)| {
                let name = match of {
                    UsageOf::Api(_) => catalog.client(&key).map(|c| c.client.name.clone()),
                    UsageOf::Application(_) => catalog.api(&key).map(|a| a.name.clone()),
                }
                .unwrap_or_else(|| key.clone());
                DailySeries { key, name, counts }
            })
            .collect();
        series.sort_by(|a, b| {
            let (sa, sb): (u64, u64) = (a.counts.iter().sum(), b.counts.iter().sum());
            sb.cmp(&sa).then_with(|| a.key.cmp(&b.key))
        });
        Ok(DailyUsage {
            days: (0..n)
                .map(|d| day_label(from + i64::try_from(d).unwrap_or(0) * DAY))
                .collect(),
            series,
            error_rate: totals
                .iter()
                .zip(&errors)
                .map(|(t, e)| {
                    if *t == 0 {
                        0.0
                    } else {
                        (*e as f64) * 100.0 / (*t as f64)
                    }
                })
                .collect(),
            p99_ms: buckets.iter().map(|b| quantile_ms(b, 0.99)).collect(),
        })
    }

    fn range(
        &self,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<(UnixTime, UnixTime), ManageError> {
        if [from, to]
            .into_iter()
            .flatten()
            .any(|t| !(0..=MAX_TIME).contains(&t))
        {
            return Err(invalid(format!(
                "from and to must be between 0 and {MAX_TIME} (seconds since the epoch)"
            )));
        }
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

/// Latest time a usage query may name: the end of year 9999 (arithmetic on it cannot
/// overflow).
pub(crate) const MAX_TIME: i64 = 253_402_300_799;

/// Most days one daily query covers.
const MAX_DAYS: u32 = 90;
/// Seconds in a day.
const DAY: i64 = 86_400;

/// Whose usage [`ManageService::daily_usage`] reports.
#[derive(Debug, Clone, Copy)]
pub enum UsageOf<'a> {
    /// An API (by id or name), split by application.
    Api(&'a str),
    /// An application, split by API.
    Application(&'a str),
}

/// `YYYY-MM-DD` of a UTC day start.
fn day_label(secs: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .get(..10)
        .unwrap_or_default()
        .to_owned()
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
