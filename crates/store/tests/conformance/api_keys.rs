//! API keys: exact round trip, cascade, revocation, and the catalog's lookup by digest.

use gatehouse_core::{ApiKeyId, ClientId, UnixTime};
use gatehouse_store::{Catalog, Store};

use super::fixtures::{api_key, assert_not_found, client, conflict_message, digest};

pub(crate) async fn api_keys_round_trip_every_field_oldest_first(store: &dyn Store) {
    store.create_client(&client("c1", 1)).await.unwrap();
    store.create_client(&client("c2", 1)).await.unwrap();
    let mut rich = api_key("k_rich", "c1", 0, i64::MIN);
    rich.digest = [0xff; 32];
    rich.prefix = "gatehouse_ak_ünï 'q'".to_owned();
    rich.expires_at = Some(UnixTime(i64::MAX));
    rich.revoked_at = Some(UnixTime(-1));
    let mut zero = api_key("k_zero", "c2", 0, 5);
    zero.digest = [0; 32];
    let plain = api_key("k_plain", "c1", 9, 5);
    for k in [&plain, &zero, &rich] {
        store.add_api_key(k).await.unwrap();
    }
    assert_eq!(
        store.list_api_keys().await.unwrap(),
        vec![rich, plain, zero],
        "oldest first, ties broken by id"
    );
}

pub(crate) async fn an_api_key_for_a_missing_client_is_not_found(store: &dyn Store) {
    assert_not_found(store.add_api_key(&api_key("k1", "ghost", 1, 1)).await);
    assert!(store.list_api_keys().await.unwrap().is_empty());
}

pub(crate) async fn api_key_duplicate_id_or_digest_conflicts(store: &dyn Store) {
    store.create_client(&client("c1", 1)).await.unwrap();
    let first = api_key("k1", "c1", 1, 1);
    store.add_api_key(&first).await.unwrap();

    let same_id = api_key("k1", "c1", 2, 2);
    let msg = conflict_message(store.add_api_key(&same_id).await);
    assert_eq!(msg, "api key id 'k1' already exists");

    let same_digest = api_key("k2", "c1", 1, 2);
    let msg = conflict_message(store.add_api_key(&same_digest).await);
    assert_eq!(msg, "an api key with the same digest already exists");

    assert_eq!(store.list_api_keys().await.unwrap(), vec![first]);
}

pub(crate) async fn deleting_a_client_deletes_its_api_keys(store: &dyn Store) {
    store.create_client(&client("c1", 1)).await.unwrap();
    store.create_client(&client("c2", 1)).await.unwrap();
    store.add_api_key(&api_key("k1", "c1", 1, 1)).await.unwrap();
    store.add_api_key(&api_key("k2", "c1", 2, 2)).await.unwrap();
    let other = api_key("k3", "c2", 3, 3);
    store.add_api_key(&other).await.unwrap();

    store
        .delete_client(&ClientId::parse("c1").unwrap())
        .await
        .unwrap();

    assert_eq!(store.list_api_keys().await.unwrap(), vec![other]);
}

pub(crate) async fn revoking_an_api_key_keeps_the_first_revocation_time(store: &dyn Store) {
    store.create_client(&client("c1", 1)).await.unwrap();
    let mut key = api_key("k1", "c1", 1, 1);
    key.expires_at = Some(UnixTime(1_000));
    let bystander = api_key("k2", "c1", 2, 2);
    store.add_api_key(&key).await.unwrap();
    store.add_api_key(&bystander).await.unwrap();
    let id = ApiKeyId::parse("k1").unwrap();

    store.revoke_api_key(&id, UnixTime(100)).await.unwrap();
    store.revoke_api_key(&id, UnixTime(200)).await.unwrap();
    store.revoke_api_key(&id, UnixTime(50)).await.unwrap();

    key.revoked_at = Some(UnixTime(100));
    assert_eq!(store.list_api_keys().await.unwrap(), vec![key, bystander]);
}

pub(crate) async fn revoking_a_missing_api_key_is_not_found(store: &dyn Store) {
    store.create_client(&client("c1", 1)).await.unwrap();
    store.add_api_key(&api_key("k1", "c1", 1, 1)).await.unwrap();
    assert_not_found(
        store
            .revoke_api_key(&ApiKeyId::parse("ghost").unwrap(), UnixTime(1))
            .await,
    );
    assert_eq!(
        store.list_api_keys().await.unwrap(),
        vec![api_key("k1", "c1", 1, 1)]
    );
}

pub(crate) async fn catalog_finds_an_api_key_by_digest_with_its_client(store: &dyn Store) {
    store.create_client(&client("c1", 1)).await.unwrap();
    store.create_client(&client("c2", 1)).await.unwrap();
    let live = api_key("k_live", "c1", 1, 1);
    let mut expiring = api_key("k_exp", "c2", 2, 2);
    expiring.expires_at = Some(UnixTime(100));
    let revoked = api_key("k_rev", "c1", 3, 3);
    for k in [&live, &expiring, &revoked] {
        store.add_api_key(k).await.unwrap();
    }
    store
        .revoke_api_key(&revoked.id, UnixTime(10))
        .await
        .unwrap();

    let cat = Catalog::load(store, UnixTime(50)).await.unwrap();

    let (key, entry) = cat.api_key(&digest(1)).unwrap();
    assert_eq!(key, &live);
    assert_eq!(entry.client, client("c1", 1));
    assert!(key.is_valid_at(UnixTime(i64::MAX)));

    let (key, entry) = cat.api_key(&digest(2)).unwrap();
    assert_eq!(entry.client.id.as_str(), "c2");
    assert!(key.is_valid_at(UnixTime(99)));
    assert!(!key.is_valid_at(UnixTime(100)), "expired at expires_at");

    let (key, entry) = cat.api_key(&digest(3)).unwrap();
    assert_eq!(key.revoked_at, Some(UnixTime(10)));
    assert!(
        !key.is_valid_at(UnixTime(0)),
        "revoked keys never authenticate"
    );
    let listed: Vec<&str> = entry.api_keys.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(listed, ["k_live", "k_rev"], "a revoked key is still listed");

    assert!(cat.api_key(&digest(4)).is_none());
}
