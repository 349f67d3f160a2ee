//! Scheduled key rotation with an injected clock: next → active → retired → unpublished.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use std::sync::Arc;
use std::time::Duration;

use gatehouse::config::{Flags, resolve_with};
use gatehouse_core::{Alg, Clock, FakeClock, MapEnv, UnixTime};
use gatehouse_testkit::temp_dir;
use serde_json::Value;

async fn jwks_kids(url: &str) -> Vec<String> {
    let v: Value = reqwest::get(format!("{url}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut kids: Vec<String> = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

#[tokio::test]
async fn keys_rotate_on_schedule_and_retired_keys_leave_jwks_after_their_tokens_expire() {
    let dir = temp_dir();
    let flags = Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        ..Flags::default()
    };
    let file = gatehouse::config::parse_str("[keys]\nrotation_period = \"7d\"\njwks_max_age = \"5m\"\n[tokens]\nmax_ttl = \"1h\"\ndefault_ttl = \"15m\"").unwrap();
    let cfg = resolve_with(&flags, &MapEnv::default(), file).unwrap();
    let clock = Arc::new(FakeClock::new(UnixTime(1_800_000_000)));
    let server = gatehouse::server::start(&cfg, clock.clone() as Arc<dyn Clock>)
        .await
        .unwrap();
    let url = format!("http://{}", server.addr);
    let state = Arc::clone(&server.state);
    let active = |s: &gatehouse_oauth::OAuthState| {
        s.keys.ring().signer(Alg::ES256).unwrap().kid().to_string()
    };

    let first = active(&state);
    let published = jwks_kids(&url).await;
    assert_eq!(
        published.len(),
        2,
        "active + next are published from the start"
    );

    // Before the period ends nothing changes.
    clock.advance(6 * 86400);
    state.keys.reconcile(&[Alg::ES256]).await.unwrap();
    assert_eq!(active(&state), first);

    // After 7 days the pre-published next key signs; the old one is retired but still published.
    clock.advance(86400);
    state.keys.reconcile(&[Alg::ES256]).await.unwrap();
    let second = active(&state);
    assert_ne!(second, first);
    assert!(
        published.contains(&second),
        "the new signer was published before it signed"
    );
    let kids = jwks_kids(&url).await;
    assert!(
        kids.contains(&first),
        "retired key stays published while its tokens may live"
    );
    assert_eq!(kids.len(), 3, "retired + active + new next");

    // Once every token the retired key signed has expired (max_ttl + leeway), it is unpublished.
    clock.advance(i64::try_from(Duration::from_secs(3600 + 61).as_secs()).unwrap());
    state.keys.reconcile(&[Alg::ES256]).await.unwrap();
    let kids = jwks_kids(&url).await;
    assert!(!kids.contains(&first), "retired key left the JWKS");
    assert_eq!(kids.len(), 2);
    server.shutdown().await.unwrap();
}
