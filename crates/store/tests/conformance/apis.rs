//! APIs: CRUD, unique rules, cascade, order.

use gatehouse_core::{Alg, ApiId, Audience, SubscriptionStatus};
use gatehouse_store::Store;
use serde_json::json;

use super::fixtures::{
    api, assert_not_found, claims, client, conflict_message, rich_api, scopes, sub,
};

pub(crate) async fn api_create_list_update_delete_round_trips(store: &dyn Store) {
    let a = rich_api("api_a");
    store.create_api(&a).await.unwrap();
    assert_eq!(store.list_apis().await.unwrap(), vec![a.clone()]);

    let mut changed = a.clone();
    changed.name = "orders-v2".to_owned();
    changed.audience = Audience::parse("https://orders.example/v2").unwrap();
    changed.scopes = scopes("");
    changed.token_ttl_secs = 0;
    changed.alg = Alg::EdDSA;
    changed.claims = claims(json!({ "only": "this" }));
    changed.copy_metadata = Vec::new();
    store.update_api(&changed).await.unwrap();
    assert_eq!(store.list_apis().await.unwrap(), vec![changed]);

    store.delete_api(&a.id).await.unwrap();
    assert!(store.list_apis().await.unwrap().is_empty());
}

pub(crate) async fn api_duplicates_conflict_by_id_name_and_audience(store: &dyn Store) {
    let a = api("api_a", "orders", 10);
    store.create_api(&a).await.unwrap();

    let same_id = api("api_a", "billing", 11);
    let msg = conflict_message(store.create_api(&same_id).await);
    assert_eq!(msg, "api id 'api_a' already exists");

    let mut same_name = api("api_b", "orders", 12);
    same_name.audience = Audience::parse("https://other.example").unwrap();
    let msg = conflict_message(store.create_api(&same_name).await);
    assert_eq!(msg, "api name 'orders' already exists");

    let mut same_audience = api("api_c", "billing", 13);
    same_audience.audience = a.audience.clone();
    let msg = conflict_message(store.create_api(&same_audience).await);
    assert_eq!(msg, "api audience 'https://orders.example' already exists");

    let b = api("api_b", "billing", 14);
    store.create_api(&b).await.unwrap();
    let mut renamed = b.clone();
    renamed.name = "orders".to_owned();
    let msg = conflict_message(store.update_api(&renamed).await);
    assert_eq!(msg, "api name 'orders' already exists");

    assert_eq!(store.list_apis().await.unwrap(), vec![a, b]);
}

pub(crate) async fn api_update_and_delete_of_a_missing_api_are_not_found(store: &dyn Store) {
    store.create_api(&api("api_a", "orders", 1)).await.unwrap();
    assert_not_found(store.update_api(&api("api_missing", "ghost", 1)).await);
    assert_not_found(
        store
            .delete_api(&ApiId::parse("api_missing").unwrap())
            .await,
    );
    assert_eq!(store.list_apis().await.unwrap().len(), 1);
}

pub(crate) async fn deleting_an_api_deletes_its_subscriptions(store: &dyn Store) {
    store.create_api(&api("api_a", "orders", 1)).await.unwrap();
    store.create_api(&api("api_b", "billing", 2)).await.unwrap();
    store.create_client(&client("c1", 1)).await.unwrap();
    store
        .upsert_subscription(&sub("s1", "c1", "api_a", SubscriptionStatus::Approved, 3))
        .await
        .unwrap();
    let kept = store
        .upsert_subscription(&sub("s2", "c1", "api_b", SubscriptionStatus::Approved, 4))
        .await
        .unwrap();

    store
        .delete_api(&ApiId::parse("api_a").unwrap())
        .await
        .unwrap();

    assert_eq!(store.list_subscriptions().await.unwrap(), vec![kept]);
    assert_eq!(
        store.list_clients().await.unwrap().len(),
        1,
        "the client stays"
    );
}

pub(crate) async fn apis_list_oldest_first_with_ties_broken_by_id_bytes(store: &dyn Store) {
    // Inserted out of order; byte order is '-' < 'B' < '_' < 'b' (a locale collation would not
    // agree, which is why PostgreSQL ids collate "C").
    for (id, created) in [("b", 10), ("_a", 10), ("z", 5), ("B", 10), ("-z", 10)] {
        store
            .create_api(&api(id, &format!("api-{id}"), created))
            .await
            .unwrap();
    }
    let ids: Vec<String> = store
        .list_apis()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id.to_string())
        .collect();
    assert_eq!(ids, ["z", "-z", "B", "_a", "b"]);
}
