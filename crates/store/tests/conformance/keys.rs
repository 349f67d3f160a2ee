//! Signing keys: exact round trip, compare-and-set transitions, purge.

use gatehouse_core::{Alg, KeyRecord, KeyState, Kid, UnixTime};
use gatehouse_store::Store;
use serde_json::json;

use super::fixtures::{awkward_json, conflict_message, key};

fn kid(s: &str) -> Kid {
    Kid::parse(s).unwrap()
}

async fn stored(store: &dyn Store, k: &str) -> KeyRecord {
    let keys = store.list_keys().await.unwrap();
    keys.into_iter().find(|r| r.kid.as_str() == k).unwrap()
}

pub(crate) async fn keys_round_trip_exactly_and_duplicate_kids_conflict(store: &dyn Store) {
    let mut full = key("k_full", KeyState::Retired, 10);
    full.alg = Alg::RS256;
    full.public_jwk = awkward_json();
    full.activated_at = Some(UnixTime(11));
    full.retired_at = Some(UnixTime(12));
    full.publish_until = Some(UnixTime(i64::MAX));
    let mut empty = key("k_empty", KeyState::Next, 10);
    empty.private_key_enc = Vec::new();
    empty.public_jwk = json!({});
    let first = key("k_first", KeyState::Active, 1);
    for k in [&full, &empty, &first] {
        store.insert_key(k).await.unwrap();
    }
    assert_eq!(
        store.list_keys().await.unwrap(),
        vec![first, empty, full.clone()]
    );

    let msg = conflict_message(store.insert_key(&key("k_full", KeyState::Next, 99)).await);
    assert_eq!(msg, "key id 'k_full' already exists");
    assert_eq!(stored(store, "k_full").await, full);
}

pub(crate) async fn transition_key_is_compare_and_set(store: &dyn Store) {
    store
        .insert_key(&key("k1", KeyState::Next, 1))
        .await
        .unwrap();
    let k1 = kid("k1");
    let t = UnixTime(10);

    assert!(
        store
            .transition_key(&k1, KeyState::Next, KeyState::Active, t, None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .transition_key(&k1, KeyState::Next, KeyState::Active, t, None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .transition_key(&k1, KeyState::Retired, KeyState::Revoked, t, None)
            .await
            .unwrap()
    );
    assert_eq!(stored(store, "k1").await.state, KeyState::Active);

    assert!(
        !store
            .transition_key(&kid("ghost"), KeyState::Next, KeyState::Active, t, None)
            .await
            .unwrap()
    );
    assert_eq!(store.list_keys().await.unwrap().len(), 1);
}

pub(crate) async fn transition_key_sets_the_timestamps_of_the_target_state(store: &dyn Store) {
    store
        .insert_key(&key("k1", KeyState::Next, 1))
        .await
        .unwrap();
    store
        .insert_key(&key("k2", KeyState::Next, 2))
        .await
        .unwrap();
    let (k1, k2) = (kid("k1"), kid("k2"));

    store
        .transition_key(&k1, KeyState::Next, KeyState::Active, UnixTime(10), None)
        .await
        .unwrap();
    let mut expected = key("k1", KeyState::Active, 1);
    expected.activated_at = Some(UnixTime(10));
    assert_eq!(stored(store, "k1").await, expected);

    let until = Some(UnixTime(500));
    store
        .transition_key(
            &k1,
            KeyState::Active,
            KeyState::Retired,
            UnixTime(20),
            until,
        )
        .await
        .unwrap();
    expected.state = KeyState::Retired;
    expected.retired_at = Some(UnixTime(20));
    expected.publish_until = until;
    assert_eq!(stored(store, "k1").await, expected);

    // Revoking a retired key keeps when it stopped signing; publication ends now.
    let now = Some(UnixTime(30));
    store
        .transition_key(&k1, KeyState::Retired, KeyState::Revoked, UnixTime(30), now)
        .await
        .unwrap();
    expected.state = KeyState::Revoked;
    expected.publish_until = now;
    assert_eq!(stored(store, "k1").await, expected);

    // Revoking a key that never signed stamps retired_at; None keeps publish_until unset.
    store
        .transition_key(&k2, KeyState::Next, KeyState::Revoked, UnixTime(40), None)
        .await
        .unwrap();
    let mut expected2 = key("k2", KeyState::Revoked, 2);
    expected2.retired_at = Some(UnixTime(40));
    assert_eq!(stored(store, "k2").await, expected2);
}

pub(crate) async fn concurrent_transitions_from_the_same_state_succeed_once(store: &dyn Store) {
    store
        .insert_key(&key("k1", KeyState::Active, 1))
        .await
        .unwrap();
    let k1 = kid("k1");
    let retire = |at: i64| {
        store.transition_key(
            &k1,
            KeyState::Active,
            KeyState::Retired,
            UnixTime(at),
            Some(UnixTime(at)),
        )
    };
    let results = tokio::join!(
        retire(1),
        retire(2),
        retire(3),
        retire(4),
        retire(5),
        retire(6)
    );
    let wins = [
        results.0, results.1, results.2, results.3, results.4, results.5,
    ]
    .into_iter()
    .map(Result::unwrap)
    .filter(|won| *won)
    .count();
    assert_eq!(wins, 1);
    let k = stored(store, "k1").await;
    assert_eq!(k.state, KeyState::Retired);
    assert_eq!(
        k.retired_at, k.publish_until,
        "one writer's stamps, not a mix"
    );
}

pub(crate) async fn purge_keys_removes_only_retired_or_revoked_keys_past_publish_until(
    store: &dyn Store,
) {
    let at = |k: &str, state, until: Option<i64>| {
        let mut r = key(k, state, 1);
        r.publish_until = until.map(UnixTime);
        r
    };
    let keys = [
        at("active_past", KeyState::Active, Some(50)),
        at("next_past", KeyState::Next, Some(50)),
        at("retired_past", KeyState::Retired, Some(50)),
        at("retired_now", KeyState::Retired, Some(100)),
        at("retired_future", KeyState::Retired, Some(150)),
        at("retired_unset", KeyState::Retired, None),
        at("revoked_past", KeyState::Revoked, Some(99)),
        at("revoked_future", KeyState::Revoked, Some(101)),
    ];
    for k in &keys {
        store.insert_key(k).await.unwrap();
    }

    assert_eq!(store.purge_keys(UnixTime(100)).await.unwrap(), 2);
    let left: Vec<String> = store
        .list_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid.to_string())
        .collect();
    assert_eq!(
        left,
        [
            "active_past",
            "next_past",
            "retired_future",
            "retired_now",
            "retired_unset",
            "revoked_future"
        ]
    );
    assert_eq!(store.purge_keys(UnixTime(100)).await.unwrap(), 0);
}
