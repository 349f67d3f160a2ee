use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use gatehouse_core::{FakeClock, UnixTime};

use super::*;
use crate::source::FetchFuture;

/// Counts fetches; tokens live `ttl` seconds; can be switched off (the AS is down).
#[derive(Debug)]
struct Counting {
    calls: AtomicUsize,
    ttl: i64,
    down: AtomicBool,
    delay_ms: u64,
}

impl Counting {
    fn new(ttl: i64) -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicUsize::new(0),
            ttl,
            down: AtomicBool::new(false),
            delay_ms: 0,
        })
    }
}

impl Fetch for Counting {
    fn fetch<'a>(&'a self, key: &'a TokenKey, now: i64) -> FetchFuture<'a> {
        Box::pin(async move {
            if self.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
            }
            if self.down.load(Ordering::SeqCst) {
                return Err(FetchError::Unavailable("down".into()));
            }
            if key.audience == "https://forbidden.example" {
                return Err(FetchError::NotEntitled("invalid_target".into()));
            }
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(Fetched {
                access_token: format!("token-{n}").into(),
                scope: String::new(),
                issued_at: now,
                expires_at: now + self.ttl,
            })
        })
    }
}

fn key() -> TokenKey {
    TokenKey::new("https://orders.example", Vec::new())
}

fn setup(ttl: i64) -> (Arc<TokenCache>, Arc<Counting>, Arc<FakeClock>) {
    let clock = Arc::new(FakeClock::new(UnixTime(1_800_000_000)));
    let source = Counting::new(ttl);
    let cache = TokenCache::new(
        Arc::clone(&source) as Arc<dyn Fetch>,
        Arc::clone(&clock) as Arc<dyn Clock>,
    );
    (cache, source, clock)
}

async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_cached_token_is_served_without_asking_again() {
    let (cache, source, _) = setup(3600);
    let a = cache.get(&key()).await.unwrap();
    let b = cache.get(&key()).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    // Scopes make another key.
    let scoped = TokenKey::new("https://orders.example", ["b".to_owned(), "a".to_owned()]);
    assert_eq!(scoped.scopes, ["a", "b"]);
    cache.get(&scoped).await.unwrap();
    assert_eq!(source.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_requests_cause_one_fetch() {
    let clock = Arc::new(FakeClock::new(UnixTime(1_800_000_000)));
    let source = Arc::new(Counting {
        calls: AtomicUsize::new(0),
        ttl: 3600,
        down: AtomicBool::new(false),
        delay_ms: 50,
    });
    let cache = TokenCache::new(
        Arc::clone(&source) as Arc<dyn Fetch>,
        clock as Arc<dyn Clock>,
    );
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.get(&key()).await.unwrap() })
        })
        .collect();
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap());
    }
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    assert!(tokens.iter().all(|t| t == &tokens[0]));
}

#[tokio::test]
async fn a_due_token_is_refreshed_in_the_background_before_it_expires() {
    let (cache, source, clock) = setup(3600);
    let first = cache.get(&key()).await.unwrap();
    // At 80 % minus at most 10 % jitter the refresh is due; the caller still gets the old one.
    clock.advance(2881);
    let served = cache.get(&key()).await.unwrap();
    assert_eq!(served, first, "the valid token is served while refreshing");
    settle().await;
    assert_eq!(source.calls.load(Ordering::SeqCst), 2);
    let fresh = cache.get(&key()).await.unwrap();
    assert_ne!(fresh, first);
    assert_eq!(fresh.expires_at, clock.now().0 + 3600);
    // The once-a-second tick also refreshes without any request.
    clock.advance(2881);
    cache.refresh_due();
    settle().await;
    assert_eq!(source.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_cached_token_is_served_while_the_server_is_down_then_a_clear_error() {
    let (cache, source, clock) = setup(3600);
    let first = cache.get(&key()).await.unwrap();
    source.down.store(true, Ordering::SeqCst);
    clock.advance(3000);
    assert_eq!(cache.get(&key()).await.unwrap(), first);
    settle().await;
    assert_eq!(
        cache.get(&key()).await.unwrap(),
        first,
        "a failed refresh keeps it"
    );
    clock.advance(600);
    let err = cache.get(&key()).await.unwrap_err();
    assert!(
        matches!(err, CacheError::Fetch(FetchError::Unavailable(_))),
        "{err:?}"
    );
    // Back up: the next request fetches.
    source.down.store(false, Ordering::SeqCst);
    assert_ne!(cache.get(&key()).await.unwrap(), first);
}

#[tokio::test]
async fn a_refused_audience_is_not_cached_and_keys_are_bounded() {
    let (cache, _, _) = setup(3600);
    let forbidden = TokenKey::new("https://forbidden.example", Vec::new());
    let err = cache.get(&forbidden).await.unwrap_err();
    assert!(matches!(err, CacheError::Fetch(FetchError::NotEntitled(_))));
    for i in 0..MAX_KEYS - 1 {
        cache
            .get(&TokenKey::new(
                format!("https://api{i}.example"),
                Vec::new(),
            ))
            .await
            .unwrap();
    }
    let err = cache
        .get(&TokenKey::new("https://one-too-many.example", Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(err, CacheError::Full);
}
