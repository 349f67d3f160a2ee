//! Per-application daily quotas (UTC days, from the injected clock). Counting is lock-free: each
//! application has one atomic word holding (day, count); only an application's first request
//! takes the insert lock.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use gatehouse_core::UnixTime;
use parking_lot::Mutex;

/// Daily request counters of one API.
#[derive(Debug, Default)]
pub struct DailyCounters {
    counters: ArcSwap<HashMap<String, Arc<AtomicU64>>>,
    insert: Mutex<()>,
}

/// A quota decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaCheck {
    /// Admitted.
    Allowed,
    /// Over the quota until the next UTC midnight, this many seconds away.
    Exhausted {
        /// Seconds until the quota resets.
        retry_after: u64,
    },
}

fn pack(day: u64, count: u64) -> u64 {
    (day << 32) | (count & 0xffff_ffff)
}

impl DailyCounters {
    /// Counts one request of `client` at `now` against `quota`; a refused request is not counted.
    pub fn check(&self, client: &str, quota: u64, now: UnixTime) -> QuotaCheck {
        let day = u64::try_from(now.0.div_euclid(86_400)).unwrap_or(0) & 0xffff_ffff;
        let counter = match self.counters.load().get(client) {
            Some(c) => Arc::clone(c),
            None => self.insert(client),
        };
        let mut current = counter.load(Ordering::Relaxed);
        loop {
            let (cur_day, count) = (current >> 32, current & 0xffff_ffff);
            let count = if cur_day == day { count } else { 0 };
            if count >= quota {
                let next_midnight = (now.0.div_euclid(86_400) + 1) * 86_400;
                let retry_after = u64::try_from(next_midnight - now.0).unwrap_or(1).max(1);
                return QuotaCheck::Exhausted { retry_after };
            }
            match counter.compare_exchange_weak(
                current,
                pack(day, count + 1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return QuotaCheck::Allowed,
                Err(actual) => current = actual,
            }
        }
    }

    fn insert(&self, client: &str) -> Arc<AtomicU64> {
        let _guard = self.insert.lock();
        if let Some(c) = self.counters.load().get(client) {
            return Arc::clone(c);
        }
        let mut next = HashMap::clone(&self.counters.load());
        let fresh = Arc::new(AtomicU64::new(0));
        next.insert(client.to_owned(), Arc::clone(&fresh));
        self.counters.store(Arc::new(next));
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_per_client_and_resets_at_utc_midnight() {
        let c = DailyCounters::default();
        let morning = UnixTime(1_800_000_000 - 1_800_000_000 % 86_400 + 3_600);
        assert_eq!(c.check("a", 2, morning), QuotaCheck::Allowed);
        assert_eq!(c.check("a", 2, morning), QuotaCheck::Allowed);
        assert_eq!(
            c.check("a", 2, morning),
            QuotaCheck::Exhausted {
                retry_after: 82_800
            }
        );
        assert_eq!(c.check("b", 2, morning), QuotaCheck::Allowed);
        assert_eq!(
            c.check("a", 2, UnixTime(morning.0 + 82_800)),
            QuotaCheck::Allowed
        );
    }
}
