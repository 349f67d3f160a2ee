//! Usage counting: per (API, operation, application, status class) request counts and latency
//! histograms, aggregated in memory and flushed once a minute as [`UsageRecord`]s.
//!
//! The hot path takes no lock: a route's slot is resolved when the gateway is built, the
//! application's counters are found through an atomically swapped map (a pointer load and a
//! hash lookup), and the counts are atomic adds. Only the first request of a new application on
//! a route takes the slot's insert lock. Slots outlive gateway reloads, so a reload loses no counts.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use gatehouse_core::{ApiId, ClientId, LATENCY_BUCKETS, UnixTime, UsageRecord, latency_bucket};
use parking_lot::Mutex;

/// Counters of one (route slot, application, status class).
#[derive(Debug)]
struct Counters {
    count: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS],
}

impl Counters {
    fn new() -> Self {
        Self {
            count: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Status classes 1xx..5xx, indexed 0..5.
type PerClass = [Counters; 5];

/// The counters of one (API, operation).
#[derive(Debug)]
pub struct OpSlot {
    api: String,
    operation: String,
    clients: ArcSwap<HashMap<String, Arc<PerClass>>>,
    insert: Mutex<()>,
}

impl OpSlot {
    /// Counts one request of `client` that ended with `status` after `latency_ms`.
    pub fn record(&self, client: &str, status: u16, latency_ms: u64) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        let per_class = match self.clients.load().get(client) {
            Some(c) => Arc::clone(c),
            None => self.insert_client(client),
        };
        if let Some(c) = per_class.get(class) {
            c.count.fetch_add(1, Ordering::Relaxed);
            if let Some(b) = c.buckets.get(latency_bucket(latency_ms)) {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn insert_client(&self, client: &str) -> Arc<PerClass> {
        let _guard = self.insert.lock();
        if let Some(c) = self.clients.load().get(client) {
            return Arc::clone(c);
        }
        let mut next = HashMap::clone(&self.clients.load());
        let fresh: Arc<PerClass> = Arc::new(std::array::from_fn(|_| Counters::new()));
        next.insert(client.to_owned(), Arc::clone(&fresh));
        self.clients.store(Arc::new(next));
        fresh
    }

    /// Takes (and zeroes) the counts, as records for `minute`; `api_id` resolves the API name.
    fn drain(&self, minute: UnixTime, api_id: &ApiId, out: &mut Vec<UsageRecord>) {
        for (client, per_class) in self.clients.load().iter() {
            let Ok(client_id) = ClientId::parse(client) else {
                continue;
            };
            for (i, c) in per_class.iter().enumerate() {
                let count = c.count.swap(0, Ordering::Relaxed);
                let latency_buckets: Vec<u64> = c
                    .buckets
                    .iter()
                    .map(|b| b.swap(0, Ordering::Relaxed))
                    .collect();
                if count == 0 {
                    continue;
                }
                out.push(UsageRecord {
                    minute,
                    api_id: api_id.clone(),
                    client_id: client_id.clone(),
                    operation: self.operation.clone(),
                    status_class: u8::try_from(i + 1).unwrap_or(5),
                    count,
                    latency_buckets,
                });
            }
        }
    }
}

/// Every slot, and the policy decision log; shared by all gateway generations.
#[derive(Debug, Default)]
pub struct UsageRecorder {
    slots: Mutex<HashMap<(String, String), Arc<OpSlot>>>,
    decisions: Arc<crate::policy::DecisionLog>,
}

impl UsageRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The policy decisions logged since the last flush.
    pub fn decisions(&self) -> Arc<crate::policy::DecisionLog> {
        Arc::clone(&self.decisions)
    }

    /// The slot of (API name or audience as configured, operation), created on first use.
    pub fn slot(&self, api: &str, operation: &str) -> Arc<OpSlot> {
        let mut slots = self.slots.lock();
        let key = (api.to_owned(), operation.to_owned());
        Arc::clone(slots.entry(key).or_insert_with(|| {
            Arc::new(OpSlot {
                api: api.to_owned(),
                operation: operation.to_owned(),
                clients: ArcSwap::from_pointee(HashMap::new()),
                insert: Mutex::new(()),
            })
        }))
    }

    /// Takes every count as records for `minute`. `resolve` maps the configured API name to its
    /// id (counts of APIs that no longer resolve are dropped).
    pub fn drain(
        &self,
        minute: UnixTime,
        resolve: impl Fn(&str) -> Option<ApiId>,
    ) -> Vec<UsageRecord> {
        let slots: Vec<Arc<OpSlot>> = self.slots.lock().values().cloned().collect();
        let mut out = Vec::new();
        for slot in slots {
            if let Some(api_id) = resolve(&slot.api) {
                slot.drain(minute, &api_id, &mut out);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_client_and_class_and_drained_once() {
        let r = UsageRecorder::new();
        let slot = r.slot("orders", "get");
        slot.record("app_a", 200, 3);
        slot.record("app_a", 204, 700);
        slot.record("app_a", 503, 1);
        slot.record("app_b", 200, 1);
        let api = ApiId::parse("api_1").unwrap();
        let mut recs = r.drain(UnixTime(120), |_| Some(api.clone()));
        recs.sort_by(|a, b| {
            (a.client_id.as_str(), a.status_class).cmp(&(b.client_id.as_str(), b.status_class))
        });
        assert_eq!(recs.len(), 3);
        assert_eq!(
            (
                recs[0].client_id.as_str(),
                recs[0].status_class,
                recs[0].count
            ),
            ("app_a", 2, 2)
        );
        assert_eq!(recs[0].latency_buckets.iter().sum::<u64>(), 2);
        assert_eq!(recs[0].latency_buckets[latency_bucket(700)], 1);
        assert_eq!((recs[1].status_class, recs[1].count), (5, 1));
        assert_eq!((recs[2].client_id.as_str(), recs[2].count), ("app_b", 1));
        assert!(
            r.drain(UnixTime(180), |_| Some(api.clone())).is_empty(),
            "drained counts are gone"
        );
    }

    #[test]
    fn the_same_slot_survives_a_rebuild() {
        let r = UsageRecorder::new();
        r.slot("orders", "get").record("app_a", 200, 1);
        r.slot("orders", "get").record("app_a", 200, 1);
        let recs = r.drain(UnixTime(0), |_| ApiId::parse("api_1").ok());
        assert_eq!(recs[0].count, 2);
    }
}
