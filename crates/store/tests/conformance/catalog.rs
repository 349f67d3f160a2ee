//! The catalog read model, loaded from the store under test.

use gatehouse_core::{ApiId, ClientId, SubscriptionStatus, UnixTime};
use gatehouse_store::{Catalog, CatalogCache, Store};

use super::fixtures::{api, client, revoked, secret, sub};

pub(crate) async fn catalog_load_sees_every_record_type(store: &dyn Store) {
    let orders = api("api_a", "orders", 1);
    store.create_api(&orders).await.unwrap();
    store.create_client(&client("c1", 1)).await.unwrap();
    store.create_client(&client("c2", 2)).await.unwrap();
    store
        .add_client_secret(&secret("s1", "c1", 2, None))
        .await
        .unwrap();
    store
        .add_client_secret(&secret("s2", "c1", 3, Some(5)))
        .await
        .unwrap();
    let grant = store
        .upsert_subscription(&sub("sub1", "c1", "api_a", SubscriptionStatus::Approved, 3))
        .await
        .unwrap();
    store
        .revoke_token(&revoked("live", "c1", 200, 5))
        .await
        .unwrap();
    store
        .revoke_token(&revoked("expired", "c1", 50, 5))
        .await
        .unwrap();

    let cat = Catalog::load(store, UnixTime(100)).await.unwrap();

    let entry = cat.client("c1").unwrap();
    assert_eq!(entry.client, client("c1", 1));
    assert_eq!(
        entry.secrets,
        vec![secret("s1", "c1", 2, None), secret("s2", "c1", 3, Some(5))]
    );
    assert_eq!(entry.subscriptions.get(&orders.id), Some(&grant));
    let other = cat.client("c2").unwrap();
    assert!(other.secrets.is_empty() && other.subscriptions.is_empty());
    assert!(cat.client("ghost").is_none());

    for key in ["api_a", "orders", "https://orders.example"] {
        assert_eq!(
            cat.find_api(key).map(|a| a.id.as_str()),
            Some("api_a"),
            "{key}"
        );
    }
    assert_eq!(
        cat.api_by_audience("https://orders.example")
            .unwrap()
            .as_ref(),
        &orders
    );
    assert!(cat.is_revoked("live"));
    assert!(
        !cat.is_revoked("expired"),
        "entries of expired tokens are not loaded"
    );
}

pub(crate) async fn catalog_cache_reload_swaps_in_changes(store: &dyn Store) {
    store.create_api(&api("api_a", "orders", 1)).await.unwrap();
    store.create_client(&client("c1", 1)).await.unwrap();
    let cache = CatalogCache::load(store, UnixTime(0)).await.unwrap();
    let before = cache.get();

    store.create_api(&api("api_b", "billing", 2)).await.unwrap();
    store
        .delete_client(&ClientId::parse("c1").unwrap())
        .await
        .unwrap();
    store
        .revoke_token(&revoked("j1", "c1", 100, 1))
        .await
        .unwrap();
    assert!(
        cache.get().find_api("billing").is_none(),
        "no change until reload"
    );

    cache.reload(store, UnixTime(0)).await.unwrap();
    let after = cache.get();
    assert!(after.api(ApiId::parse("api_b").unwrap().as_str()).is_some());
    assert!(after.client("c1").is_none());
    assert!(after.is_revoked("j1"));
    assert_eq!(after.apis().count(), 2);
    // A snapshot taken before the reload is unchanged.
    assert!(before.client("c1").is_some() && before.find_api("billing").is_none());
}
