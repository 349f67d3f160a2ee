//! Per-worker counters and the merged summary (JSON).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

/// What one worker saw.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Responses with the expected status.
    pub(crate) ok: u64,
    /// Latency of each successful request, microseconds.
    pub(crate) latency_us: Vec<u32>,
    /// TCP connect + TLS handshake of each connection opened, microseconds.
    pub(crate) handshake_us: Vec<u32>,
    /// Failures by kind (`connect`, `tls`, `http`, `status`, `timeout`).
    pub(crate) errors: BTreeMap<&'static str, u64>,
    /// The first failure's message, to make a broken set-up obvious.
    pub(crate) first_error: Option<String>,
}

// === impl Stats ===

impl Stats {
    pub(crate) fn fail(&mut self, kind: &'static str, message: impl FnOnce() -> String) {
        *self.errors.entry(kind).or_default() += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("{kind}: {}", message()));
        }
    }

    pub(crate) fn merge(mut self, other: Stats) -> Stats {
        self.ok += other.ok;
        self.latency_us.extend(other.latency_us);
        self.handshake_us.extend(other.handshake_us);
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self
    }

    /// The summary: rates over `elapsed`, latency percentiles in milliseconds.
    pub(crate) fn summary(mut self, elapsed: Duration) -> Value {
        self.latency_us.sort_unstable();
        self.handshake_us.sort_unstable();
        let secs = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        let errors: u64 = self.errors.values().sum();
        json!({
            "elapsed_s": round(secs, 3),
            "ok": self.ok,
            "requests_per_s": round(self.ok as f64 / secs, 1),
            "connections": self.handshake_us.len(),
            "connections_per_s": round(self.handshake_us.len() as f64 / secs, 1),
            "errors": errors,
            "error_kinds": self.errors,
            "first_error": self.first_error,
            "latency_ms": percentiles(&self.latency_us),
            "handshake_ms": percentiles(&self.handshake_us),
        })
    }
}

fn percentiles(sorted_us: &[u32]) -> Value {
    json!({
        "p50": pct(sorted_us, 0.50),
        "p90": pct(sorted_us, 0.90),
        "p99": pct(sorted_us, 0.99),
        "max": sorted_us.last().map(|&us| round(f64::from(us) / 1000.0, 3)),
    })
}

/// Nearest-rank percentile, in milliseconds; `None` without samples.
fn pct(sorted_us: &[u32], p: f64) -> Option<f64> {
    let n = sorted_us.len();
    if n == 0 {
        return None;
    }
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
    sorted_us
        .get(rank - 1)
        .map(|&us| round(f64::from(us) / 1000.0, 3))
}

pub(crate) fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// This process's user + system CPU seconds so far (`/proc/self/stat`, fields 14 and 15, in
/// USER_HZ = 100 ticks, as on every Linux build we run on); `None` off Linux.
pub(crate) fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(pct(&v, 0.5), Some(50.0));
        assert_eq!(pct(&v, 0.99), Some(99.0));
        assert_eq!(pct(&[], 0.5), None);
        assert_eq!(pct(&[7000], 0.99), Some(7.0));
    }

    #[test]
    fn own_cpu_time_is_readable() {
        assert!(cpu_seconds().is_some());
    }
}
