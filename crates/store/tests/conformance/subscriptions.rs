//! Subscriptions: upsert keeps the id, delete, references to missing rows.

use gatehouse_core::{ApiId, ClientId, SubscriptionStatus, UnixTime};
use gatehouse_store::Store;

use super::fixtures::{api, assert_not_found, client, conflict_message, scopes, sub};

async fn seed(store: &dyn Store) {
    store.create_api(&api("api_a", "orders", 1)).await.unwrap();
    store.create_api(&api("api_b", "billing", 1)).await.unwrap();
    store.create_client(&client("c1", 1)).await.unwrap();
    store.create_client(&client("c2", 1)).await.unwrap();
}

pub(crate) async fn upsert_inserts_then_replaces_scopes_and_status_keeping_the_id(
    store: &dyn Store,
) {
    seed(store).await;
    let first = sub("sub_1", "c1", "api_a", SubscriptionStatus::Pending, 100);
    assert_eq!(store.upsert_subscription(&first).await.unwrap(), first);

    let mut again = sub("sub_2", "c1", "api_a", SubscriptionStatus::Approved, 200);
    again.plan = "gold".to_owned();
    again.scopes = scopes("orders:read orders:write");
    again.updated_at = UnixTime(300);
    let stored = store.upsert_subscription(&again).await.unwrap();

    let mut expected = again.clone();
    expected.id = first.id.clone();
    expected.created_at = first.created_at;
    assert_eq!(stored, expected);
    assert_eq!(store.list_subscriptions().await.unwrap(), vec![expected]);
}

pub(crate) async fn delete_subscription_removes_it_and_a_missing_one_is_not_found(
    store: &dyn Store,
) {
    seed(store).await;
    let a = store
        .upsert_subscription(&sub("s1", "c1", "api_a", SubscriptionStatus::Approved, 1))
        .await
        .unwrap();
    let b = store
        .upsert_subscription(&sub("s2", "c1", "api_b", SubscriptionStatus::Rejected, 2))
        .await
        .unwrap();
    let c = store
        .upsert_subscription(&sub("s3", "c2", "api_a", SubscriptionStatus::Revoked, 3))
        .await
        .unwrap();
    assert_eq!(
        store.list_subscriptions().await.unwrap(),
        vec![a, b.clone(), c.clone()]
    );

    let c1 = ClientId::parse("c1").unwrap();
    let api_a = ApiId::parse("api_a").unwrap();
    store.delete_subscription(&c1, &api_a).await.unwrap();
    assert_eq!(store.list_subscriptions().await.unwrap(), vec![b, c]);
    assert_not_found(store.delete_subscription(&c1, &api_a).await);
}

pub(crate) async fn a_subscription_to_a_missing_client_or_api_is_not_found(store: &dyn Store) {
    seed(store).await;
    assert_not_found(
        store
            .upsert_subscription(&sub(
                "s1",
                "ghost",
                "api_a",
                SubscriptionStatus::Approved,
                1,
            ))
            .await,
    );
    assert_not_found(
        store
            .upsert_subscription(&sub("s2", "c1", "ghost", SubscriptionStatus::Approved, 1))
            .await,
    );
    assert!(store.list_subscriptions().await.unwrap().is_empty());
}

pub(crate) async fn a_subscription_id_taken_by_another_pair_conflicts(store: &dyn Store) {
    seed(store).await;
    let first = store
        .upsert_subscription(&sub("s1", "c1", "api_a", SubscriptionStatus::Approved, 1))
        .await
        .unwrap();
    let msg = conflict_message(
        store
            .upsert_subscription(&sub("s1", "c2", "api_b", SubscriptionStatus::Approved, 2))
            .await,
    );
    assert_eq!(msg, "subscription id 's1' already exists");
    assert_eq!(store.list_subscriptions().await.unwrap(), vec![first]);
}
