//! Counting failed client authentications, per client id and per source address, with a
//! temporary lockout. Successful requests touch no lock while nobody has failed recently.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use gatehouse_core::UnixTime;
use parking_lot::Mutex;

use crate::config::LockoutConfig;

/// Most tracked keys; beyond this the oldest windows are dropped first.
const MAX_TRACKED: usize = 100_000;

/// What is being counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LockoutKey {
    /// A registered client id.
    Client(String),
    /// A source address.
    Peer(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    window_start: i64,
    failures: u32,
    locked_until: i64,
}

/// Failed-authentication counters.
#[derive(Debug)]
pub struct Lockout {
    config: LockoutConfig,
    entries: Mutex<HashMap<LockoutKey, Entry>>,
    len: AtomicUsize,
}

impl Lockout {
    /// Empty counters.
    pub fn new(config: LockoutConfig) -> Self {
        Self {
            config,
            entries: Mutex::new(HashMap::new()),
            len: AtomicUsize::new(0),
        }
    }

    /// Seconds until `key` may try again, if it is locked out at `now`.
    pub fn locked_for(&self, key: &LockoutKey, now: UnixTime) -> Option<u64> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let entries = self.entries.lock();
        let e = entries.get(key)?;
        (e.locked_until > now.0).then(|| u64::try_from(e.locked_until - now.0).unwrap_or(1))
    }

    /// Records a failure; returns the lockout length if this failure triggered one.
    pub fn record_failure(&self, key: LockoutKey, now: UnixTime) -> Option<u64> {
        let window = i64::try_from(self.config.window.as_secs()).unwrap_or(i64::MAX);
        let duration = i64::try_from(self.config.duration.as_secs()).unwrap_or(i64::MAX);
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_TRACKED {
            entries.retain(|_, e| e.locked_until > now.0 || now.0 - e.window_start < window);
            if entries.len() >= MAX_TRACKED {
                entries.clear();
            }
        }
        let e = entries.entry(key).or_insert(Entry {
            window_start: now.0,
            failures: 0,
            locked_until: 0,
        });
        if now.0 - e.window_start >= window {
            *e = Entry {
                window_start: now.0,
                failures: 0,
                locked_until: e.locked_until,
            };
        }
        e.failures = e.failures.saturating_add(1);
        let triggered = if e.failures >= self.config.max_failures && e.locked_until <= now.0 {
            e.locked_until = now.0.saturating_add(duration);
            Some(self.config.duration.as_secs())
        } else {
            None
        };
        self.len.store(entries.len(), Ordering::Relaxed);
        triggered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn lockout() -> Lockout {
        Lockout::new(LockoutConfig {
            max_failures: 3,
            window: Duration::from_secs(60),
            duration: Duration::from_secs(120),
        })
    }

    #[test]
    fn third_failure_in_window_locks_out_for_configured_time() {
        let l = lockout();
        let k = LockoutKey::Client("c1".into());
        assert_eq!(l.record_failure(k.clone(), UnixTime(100)), None);
        assert_eq!(l.record_failure(k.clone(), UnixTime(101)), None);
        assert_eq!(l.record_failure(k.clone(), UnixTime(102)), Some(120));
        assert_eq!(l.locked_for(&k, UnixTime(103)), Some(119));
        assert_eq!(l.locked_for(&k, UnixTime(222)), None);
        assert_eq!(
            l.locked_for(&LockoutKey::Client("c2".into()), UnixTime(103)),
            None
        );
    }

    #[test]
    fn failures_outside_the_window_do_not_accumulate() {
        let l = lockout();
        let k = LockoutKey::Peer("127.0.0.1".parse().unwrap());
        l.record_failure(k.clone(), UnixTime(0));
        l.record_failure(k.clone(), UnixTime(10));
        l.record_failure(k.clone(), UnixTime(70));
        assert_eq!(l.locked_for(&k, UnixTime(71)), None);
    }
}
