//! Clients and their secrets: CRUD, exact round trip, cascade, expiry.

use gatehouse_core::{AuthMethod, ClientId, SecretId, SubscriptionStatus, UnixTime};
use gatehouse_store::Store;

use super::fixtures::{
    api, assert_not_found, client, conflict_message, digest, rich_client, secret, sub,
};

pub(crate) async fn client_create_list_update_delete_round_trips_exactly(store: &dyn Store) {
    let rich = rich_client("c_rich");
    let plain = client("c_plain", 7);
    store.create_client(&rich).await.unwrap();
    store.create_client(&plain).await.unwrap();
    assert_eq!(
        store.list_clients().await.unwrap(),
        vec![rich.clone(), plain.clone()]
    );

    // Every optional field back to None, and the reverse.
    let mut emptied = client("c_rich", 0);
    emptied.created_at = rich.created_at;
    emptied.auth_method = AuthMethod::ClientSecretPost;
    let mut filled = rich_client("c_plain");
    filled.created_at = plain.created_at;
    store.update_client(&emptied).await.unwrap();
    store.update_client(&filled).await.unwrap();
    assert_eq!(
        store.list_clients().await.unwrap(),
        vec![emptied, filled.clone()]
    );

    store.delete_client(&rich.id).await.unwrap();
    assert_eq!(store.list_clients().await.unwrap(), vec![filled]);
}

pub(crate) async fn client_duplicate_id_conflicts(store: &dyn Store) {
    store.create_client(&client("c1", 1)).await.unwrap();
    let msg = conflict_message(store.create_client(&rich_client("c1")).await);
    assert_eq!(msg, "client id 'c1' already exists");
    assert_eq!(store.list_clients().await.unwrap(), vec![client("c1", 1)]);
}

pub(crate) async fn client_update_and_delete_of_a_missing_client_are_not_found(store: &dyn Store) {
    assert_not_found(store.update_client(&client("ghost", 1)).await);
    assert_not_found(
        store
            .delete_client(&ClientId::parse("ghost").unwrap())
            .await,
    );
    assert!(store.list_clients().await.unwrap().is_empty());
}

pub(crate) async fn deleting_a_client_deletes_its_secrets_and_subscriptions(store: &dyn Store) {
    store.create_api(&api("api_a", "orders", 1)).await.unwrap();
    for c in ["c1", "c2"] {
        store.create_client(&client(c, 1)).await.unwrap();
    }
    store
        .add_client_secret(&secret("s1", "c1", 2, None))
        .await
        .unwrap();
    store
        .add_client_secret(&secret("s2", "c1", 3, Some(9)))
        .await
        .unwrap();
    store
        .add_client_secret(&secret("s3", "c2", 4, None))
        .await
        .unwrap();
    store
        .upsert_subscription(&sub("sub1", "c1", "api_a", SubscriptionStatus::Approved, 5))
        .await
        .unwrap();
    let other = store
        .upsert_subscription(&sub("sub2", "c2", "api_a", SubscriptionStatus::Pending, 6))
        .await
        .unwrap();

    store
        .delete_client(&ClientId::parse("c1").unwrap())
        .await
        .unwrap();

    assert_eq!(
        store.list_client_secrets().await.unwrap(),
        vec![secret("s3", "c2", 4, None)]
    );
    assert_eq!(store.list_subscriptions().await.unwrap(), vec![other]);
    assert_eq!(store.list_apis().await.unwrap().len(), 1, "the API stays");
}

pub(crate) async fn client_secrets_round_trip_and_duplicate_ids_conflict(store: &dyn Store) {
    store.create_client(&client("c1", 1)).await.unwrap();
    let mut zero = secret("s0", "c1", 5, Some(i64::MAX));
    zero.digest = [0; 32];
    let mut high = secret("s1", "c1", 5, None);
    high.digest = [0xff; 32];
    let mixed = secret("s2", "c1", 3, Some(-1));
    for s in [&zero, &high, &mixed] {
        store.add_client_secret(s).await.unwrap();
    }
    assert_eq!(
        store.list_client_secrets().await.unwrap(),
        vec![mixed, zero, high.clone()]
    );

    let mut dup = secret("s1", "c1", 9, None);
    dup.digest = digest(1);
    let msg = conflict_message(store.add_client_secret(&dup).await);
    assert_eq!(msg, "client secret id 's1' already exists");
    assert!(store.list_client_secrets().await.unwrap().contains(&high));
}

pub(crate) async fn a_secret_for_a_missing_client_is_not_found(store: &dyn Store) {
    assert_not_found(
        store
            .add_client_secret(&secret("s1", "ghost", 1, None))
            .await,
    );
    assert!(store.list_client_secrets().await.unwrap().is_empty());
}

pub(crate) async fn expire_client_secrets_spares_keep_and_never_extends_an_earlier_expiry(
    store: &dyn Store,
) {
    store.create_client(&client("c1", 1)).await.unwrap();
    store.create_client(&client("c2", 1)).await.unwrap();
    let secrets = [
        secret("s_open", "c1", 1, None),
        secret("s_early", "c1", 2, Some(50)),
        secret("s_late", "c1", 3, Some(500)),
        secret("s_same", "c1", 4, Some(100)),
        secret("s_keep", "c1", 5, None),
        secret("s_other", "c2", 6, None),
    ];
    for s in &secrets {
        store.add_client_secret(s).await.unwrap();
    }

    store
        .expire_client_secrets(
            &ClientId::parse("c1").unwrap(),
            &SecretId::parse("s_keep").unwrap(),
            UnixTime(100),
        )
        .await
        .unwrap();

    let expiries: Vec<(String, Option<i64>)> = store
        .list_client_secrets()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id.to_string(), s.expires_at.map(|t| t.0)))
        .collect();
    let expected = [
        ("s_open", Some(100)),
        ("s_early", Some(50)),
        ("s_late", Some(100)),
        ("s_same", Some(100)),
        ("s_keep", None),
        ("s_other", None),
    ];
    let expected: Vec<(String, Option<i64>)> = expected
        .into_iter()
        .map(|(id, e)| (id.to_owned(), e))
        .collect();
    assert_eq!(expiries, expected);

    // Unknown client or kept id: nothing to do, not an error.
    let ghost = ClientId::parse("ghost").unwrap();
    store
        .expire_client_secrets(&ghost, &SecretId::parse("x").unwrap(), UnixTime(1))
        .await
        .unwrap();
}
