//! Usage records: request counts and latency histograms per (minute, API, application,
//! operation, status class). Fixed one-minute buckets and fixed histogram bounds make records
//! from several gateways merge exactly (add them) and let p50/p99 be derived afterwards.

use serde::{Deserialize, Serialize};

use crate::{ApiId, ClientId, UnixTime};

/// Upper bounds (milliseconds, inclusive) of the latency buckets; one more bucket holds the rest.
pub const LATENCY_BOUNDS_MS: [u64; 14] = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000,
];

/// Number of latency buckets (the bounds plus one overflow bucket).
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// The bucket index for a latency in milliseconds.
pub fn latency_bucket(ms: u64) -> usize {
    LATENCY_BOUNDS_MS
        .iter()
        .position(|b| ms <= *b)
        .unwrap_or(LATENCY_BOUNDS_MS.len())
}

/// One aggregated usage row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// Start of the minute (seconds since the epoch, a multiple of 60).
    pub minute: UnixTime,
    /// The API.
    pub api_id: ApiId,
    /// The calling application.
    pub client_id: ClientId,
    /// The operation name.
    pub operation: String,
    /// HTTP status class: 2, 3, 4 or 5.
    pub status_class: u8,
    /// Requests.
    pub count: u64,
    /// Requests per latency bucket ([`LATENCY_BUCKETS`] entries).
    pub latency_buckets: Vec<u64>,
}

impl UsageRecord {
    /// Adds another record's counts (same key) to this one.
    pub fn merge(&mut self, other: &UsageRecord) {
        self.count = self.count.saturating_add(other.count);
        if self.latency_buckets.len() < other.latency_buckets.len() {
            self.latency_buckets.resize(other.latency_buckets.len(), 0);
        }
        for (a, b) in self.latency_buckets.iter_mut().zip(&other.latency_buckets) {
            *a = a.saturating_add(*b);
        }
    }
}

/// The minute a time falls in.
pub fn minute_of(t: UnixTime) -> UnixTime {
    UnixTime(t.0 - t.0.rem_euclid(60))
}

/// The latency (ms, a bucket's upper bound) below which `q` (0..=1) of the requests fall.
pub fn quantile_ms(buckets: &[u64], q: f64) -> Option<u64> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let target = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0u64;
    for (i, n) in buckets.iter().enumerate() {
        seen += n;
        if seen >= target {
            return Some(LATENCY_BOUNDS_MS.get(i).copied().unwrap_or(u64::MAX));
        }
    }
    None
}

/// A usage query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageQuery {
    /// Only this API.
    pub api_id: Option<ApiId>,
    /// Only this application.
    pub client_id: Option<ClientId>,
    /// From this minute (inclusive).
    pub from: Option<UnixTime>,
    /// Until this minute (exclusive).
    pub to: Option<UnixTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_quantiles() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(1), 0);
        assert_eq!(latency_bucket(3), 2);
        assert_eq!(latency_bucket(40_000), LATENCY_BOUNDS_MS.len());
        let mut b = vec![0u64; LATENCY_BUCKETS];
        b[0] = 98;
        b[5] = 2;
        assert_eq!(quantile_ms(&b, 0.5), Some(1));
        assert_eq!(quantile_ms(&b, 0.99), Some(50));
        assert_eq!(quantile_ms(&[0; LATENCY_BUCKETS], 0.5), None);
    }

    #[test]
    fn minutes_are_aligned() {
        assert_eq!(minute_of(UnixTime(125)), UnixTime(120));
        assert_eq!(minute_of(UnixTime(120)), UnixTime(120));
    }
}
