//! Policies (versioned, one per attachment point) and the decision log.

use gatehouse_core::{
    ApiId, ClientId, DecisionRecord, PolicyCaching, PolicyFailure, PolicyId, PolicyRecord, UnixTime,
};
use gatehouse_store::{Catalog, Store, StoreError};

use super::fixtures::{api, assert_not_found, conflict_message};

fn policy(id: &str, api: Option<&str>, op: Option<&str>, version: u32) -> PolicyRecord {
    PolicyRecord {
        id: PolicyId::parse(id).unwrap(),
        api_id: api.map(|a| ApiId::parse(a).unwrap()),
        operation: op.map(str::to_owned),
        version,
        module: format!("package p{version}\nimport rego.v1\nallow if {{ \"é ✓ 'q'\" != \"\" }}\n"),
        data: Some(serde_json::json!({"roles": {"admin": ["GET"]}, "n": 2.5})),
        on_error: PolicyFailure::Allow,
        caching: PolicyCaching::PerCaller,
        headers: vec!["x-tenant".into()],
        log_permille: 25,
        created_at: UnixTime(10),
        updated_at: UnixTime(10 + i64::from(version)),
        updated_by: "admin-token".into(),
    }
}

fn decision(api: &str, at: i64, outcome: &str) -> DecisionRecord {
    DecisionRecord {
        at: UnixTime(at),
        policy_id: PolicyId::parse("pol_a").unwrap(),
        version: 3,
        api_id: ApiId::parse(api).unwrap(),
        operation: "list".into(),
        client_id: Some(ClientId::parse("app_1").unwrap()),
        outcome: outcome.into(),
        reason: Some("tenant mismatch".into()),
        method: "GET".into(),
        path: "/t/acme/orders".into(),
    }
}

pub(crate) async fn policy_versions_are_compare_and_set_and_kept_in_history(store: &dyn Store) {
    store.create_api(&api("api_o", "orders", 1)).await.unwrap();
    let v1 = policy("pol_a", Some("api_o"), None, 1);
    store.put_policy(&v1).await.unwrap();
    assert_eq!(store.list_policies().await.unwrap(), vec![v1.clone()]);

    let v2 = PolicyRecord {
        module: "package p2\nimport rego.v1\ndefault allow := false\n".into(),
        data: None,
        ..policy("pol_a", Some("api_o"), None, 2)
    };
    store.put_policy(&v2).await.unwrap();
    assert_eq!(store.list_policies().await.unwrap(), vec![v2.clone()]);

    // A writer that read version 1 loses.
    let stale = policy("pol_a", Some("api_o"), None, 2);
    let msg = conflict_message(store.put_policy(&stale).await);
    assert!(msg.contains("changed since version 1"), "{msg}");
    // Skipping a version is also refused.
    assert!(matches!(
        store
            .put_policy(&policy("pol_a", Some("api_o"), None, 4))
            .await,
        Err(StoreError::Conflict(_))
    ));
    // An update of an unknown policy.
    assert_not_found(
        store
            .put_policy(&policy("pol_zz", Some("api_o"), None, 2))
            .await,
    );

    assert_eq!(
        store
            .policy_versions(&PolicyId::parse("pol_a").unwrap())
            .await
            .unwrap(),
        vec![v1, v2]
    );
    assert!(
        store
            .policy_versions(&PolicyId::parse("pol_zz").unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store
            .put_policy(&policy("pol_b", Some("api_o"), None, 0))
            .await,
        Err(StoreError::Invalid(_))
    ));
}

pub(crate) async fn one_policy_per_attachment_point(store: &dyn Store) {
    store.create_api(&api("api_o", "orders", 1)).await.unwrap();
    store
        .put_policy(&policy("pol_g", None, None, 1))
        .await
        .unwrap();
    store
        .put_policy(&policy("pol_a", Some("api_o"), None, 1))
        .await
        .unwrap();
    store
        .put_policy(&policy("pol_c", Some("api_o"), Some("create"), 1))
        .await
        .unwrap();
    for dup in [
        policy("pol_g2", None, None, 1),
        policy("pol_a2", Some("api_o"), None, 1),
        policy("pol_c2", Some("api_o"), Some("create"), 1),
    ] {
        let msg = conflict_message(store.put_policy(&dup).await);
        assert!(msg.contains("already attached"), "{msg}");
    }
    // The same id again as version 1 conflicts too.
    assert!(matches!(
        store
            .put_policy(&policy("pol_a", Some("api_o"), Some("other"), 1))
            .await,
        Err(StoreError::Conflict(_))
    ));
    // A version may not move the policy to another attachment point.
    assert!(matches!(
        store
            .put_policy(&policy("pol_a", Some("api_o"), Some("list"), 2))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .put_policy(&policy("pol_x", None, Some("create"), 1))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.list_policies().await.unwrap().len(), 3);
}

pub(crate) async fn deleting_a_policy_or_its_api_deletes_it_and_its_history(store: &dyn Store) {
    store.create_api(&api("api_o", "orders", 1)).await.unwrap();
    store
        .create_api(&api("api_p", "payments", 2))
        .await
        .unwrap();
    store
        .put_policy(&policy("pol_a", Some("api_o"), None, 1))
        .await
        .unwrap();
    store
        .put_policy(&policy("pol_b", Some("api_p"), None, 1))
        .await
        .unwrap();
    let a = PolicyId::parse("pol_a").unwrap();
    store.delete_policy(&a).await.unwrap();
    assert!(store.policy_versions(&a).await.unwrap().is_empty());
    assert_not_found(store.delete_policy(&a).await);
    // The attachment point is free again.
    store
        .put_policy(&policy("pol_a3", Some("api_o"), None, 1))
        .await
        .unwrap();

    store
        .delete_api(&ApiId::parse("api_p").unwrap())
        .await
        .unwrap();
    let left: Vec<String> = store
        .list_policies()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id.to_string())
        .collect();
    assert_eq!(left, vec!["pol_a3"]);
    assert!(
        store
            .policy_versions(&PolicyId::parse("pol_b").unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn a_policy_for_a_missing_api_is_not_found(store: &dyn Store) {
    assert_not_found(
        store
            .put_policy(&policy("pol_a", Some("api_missing"), None, 1))
            .await,
    );
    assert!(store.list_policies().await.unwrap().is_empty());
}

pub(crate) async fn decisions_list_newest_first_per_api_and_purge_by_time(store: &dyn Store) {
    store.create_api(&api("api_o", "orders", 1)).await.unwrap();
    store
        .create_api(&api("api_p", "payments", 2))
        .await
        .unwrap();
    let mut anonymous = decision("api_o", 30, "error");
    anonymous.client_id = None;
    anonymous.reason = None;
    let batch = vec![
        decision("api_o", 10, "allow"),
        decision("api_p", 20, "deny"),
        anonymous.clone(),
        decision("api_o", 30, "deny"),
    ];
    store.add_decisions(&batch).await.unwrap();
    store.add_decisions(&[]).await.unwrap();
    let o = ApiId::parse("api_o").unwrap();
    let got = store
        .list_decisions(Some(&o), UnixTime(0), 10)
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            decision("api_o", 30, "deny"),
            anonymous,
            decision("api_o", 10, "allow")
        ],
        "newest first; equal times newest written first"
    );
    assert_eq!(
        store
            .list_decisions(Some(&o), UnixTime(0), 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .list_decisions(Some(&o), UnixTime(11), 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .list_decisions(None, UnixTime(0), 10)
            .await
            .unwrap()
            .len(),
        4
    );
    assert_eq!(store.purge_decisions(UnixTime(30)).await.unwrap(), 2);
    assert_eq!(
        store
            .list_decisions(None, UnixTime(0), 10)
            .await
            .unwrap()
            .len(),
        2
    );
}

pub(crate) async fn decisions_about_a_deleted_api_are_dropped(store: &dyn Store) {
    store.create_api(&api("api_o", "orders", 1)).await.unwrap();
    store
        .add_decisions(&[
            decision("api_o", 1, "allow"),
            decision("api_gone", 2, "deny"),
            decision("api_o", 3, "deny"),
        ])
        .await
        .unwrap();
    let all = store.list_decisions(None, UnixTime(0), 10).await.unwrap();
    assert_eq!(all.len(), 2, "the known API's decisions are kept: {all:?}");
}

pub(crate) async fn catalog_orders_global_api_and_operation_policies(store: &dyn Store) {
    store.create_api(&api("api_o", "orders", 1)).await.unwrap();
    store
        .create_api(&api("api_p", "payments", 2))
        .await
        .unwrap();
    store
        .put_policy(&policy("pol_op", Some("api_o"), Some("create"), 1))
        .await
        .unwrap();
    store
        .put_policy(&policy("pol_api", Some("api_o"), None, 1))
        .await
        .unwrap();
    store
        .put_policy(&policy("pol_g", None, None, 1))
        .await
        .unwrap();
    let catalog = Catalog::load(store, UnixTime(0)).await.unwrap();
    let o = ApiId::parse("api_o").unwrap();
    let ids: Vec<&str> = catalog
        .policies_for(&o)
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, vec!["pol_g", "pol_api", "pol_op"]);
    let p = ApiId::parse("api_p").unwrap();
    let ids: Vec<&str> = catalog
        .policies_for(&p)
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, vec!["pol_g"]);
    assert_eq!(catalog.policies().len(), 3);
    assert!(
        catalog
            .policies_for(&ApiId::parse("api_none").unwrap())
            .is_empty()
    );
}
