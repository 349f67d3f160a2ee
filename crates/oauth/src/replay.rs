//! The `private_key_jwt` replay cache: each (client, `jti`) is accepted once until its `exp`.

use std::collections::HashMap;

use gatehouse_core::UnixTime;
use parking_lot::Mutex;

/// Remembered assertion ids.
#[derive(Debug, Default)]
pub struct ReplayCache {
    seen: Mutex<HashMap<(String, String), i64>>,
}

/// Prune expired entries when the map grows past this.
const PRUNE_AT: usize = 10_000;

impl ReplayCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records (client, jti) until `exp`; returns `false` if it was already there (a replay).
    pub fn check_and_insert(&self, client: &str, jti: &str, exp: UnixTime, now: UnixTime) -> bool {
        let mut seen = self.seen.lock();
        if seen.len() >= PRUNE_AT {
            seen.retain(|_, e| *e >= now.0);
        }
        let key = (client.to_owned(), jti.to_owned());
        match seen.get(&key) {
            Some(e) if *e >= now.0 => false,
            _ => {
                seen.insert(key, exp.0);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_use_of_a_jti_is_a_replay_until_it_expires() {
        let c = ReplayCache::new();
        assert!(c.check_and_insert("c", "j1", UnixTime(100), UnixTime(50)));
        assert!(!c.check_and_insert("c", "j1", UnixTime(100), UnixTime(60)));
        assert!(c.check_and_insert("other", "j1", UnixTime(100), UnixTime(60)));
        assert!(c.check_and_insert("c", "j1", UnixTime(200), UnixTime(101)));
    }
}
