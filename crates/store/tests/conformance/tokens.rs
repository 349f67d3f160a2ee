//! Revoked tokens, admin tokens and the audit log.

use gatehouse_core::{ClientId, UnixTime};
use gatehouse_store::Store;
use serde_json::json;

use super::fixtures::{audit, awkward_json, client, digest, revoked};

fn jtis(list: Vec<gatehouse_core::RevokedToken>) -> Vec<String> {
    list.into_iter().map(|r| r.jti).collect()
}

pub(crate) async fn revoked_tokens_list_by_expiry_and_insert_idempotently(store: &dyn Store) {
    let early = revoked("jti-early ✓", "c1", 100, 20);
    let late = revoked("jti-late", "c2", 200, 10);
    store.revoke_token(&early).await.unwrap();
    store.revoke_token(&late).await.unwrap();
    // Revoking again is not an error and does not change the entry.
    store
        .revoke_token(&revoked("jti-early ✓", "c9", 999, 999))
        .await
        .unwrap();

    assert_eq!(
        store.list_revoked_tokens(UnixTime(50)).await.unwrap(),
        vec![late.clone(), early]
    );
    // A token whose `exp` is now has expired.
    assert_eq!(
        jtis(store.list_revoked_tokens(UnixTime(100)).await.unwrap()),
        ["jti-late"]
    );
    assert!(
        store
            .list_revoked_tokens(UnixTime(200))
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn purge_revoked_tokens_removes_only_entries_expired_before_now(
    store: &dyn Store,
) {
    for (jti, exp) in [("a", 99), ("b", 100), ("c", 101)] {
        store
            .revoke_token(&revoked(jti, "c1", exp, 1))
            .await
            .unwrap();
    }
    assert_eq!(store.purge_revoked_tokens(UnixTime(100)).await.unwrap(), 1);
    assert_eq!(
        jtis(store.list_revoked_tokens(UnixTime(0)).await.unwrap()),
        ["b", "c"]
    );
    assert_eq!(store.purge_revoked_tokens(UnixTime(100)).await.unwrap(), 0);
    assert_eq!(store.purge_revoked_tokens(UnixTime(1000)).await.unwrap(), 2);
    assert!(
        store
            .list_revoked_tokens(UnixTime(0))
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn revocations_outlive_the_client(store: &dyn Store) {
    store.create_client(&client("c1", 1)).await.unwrap();
    store
        .revoke_token(&revoked("j1", "c1", 100, 1))
        .await
        .unwrap();
    store
        .delete_client(&ClientId::parse("c1").unwrap())
        .await
        .unwrap();
    assert_eq!(
        jtis(store.list_revoked_tokens(UnixTime(0)).await.unwrap()),
        ["j1"]
    );
}

pub(crate) async fn replace_admin_token_replaces_every_digest(store: &dyn Store) {
    assert!(store.admin_token_digests().await.unwrap().is_empty());
    store
        .replace_admin_token(&digest(0), UnixTime(1))
        .await
        .unwrap();
    assert_eq!(store.admin_token_digests().await.unwrap(), vec![digest(0)]);
    store
        .replace_admin_token(&[0xff; 32], UnixTime(2))
        .await
        .unwrap();
    assert_eq!(store.admin_token_digests().await.unwrap(), vec![[0xff; 32]]);
    // Replacing with the same digest is fine too.
    store
        .replace_admin_token(&[0xff; 32], UnixTime(3))
        .await
        .unwrap();
    assert_eq!(store.admin_token_digests().await.unwrap(), vec![[0xff; 32]]);
}

pub(crate) async fn audit_pages_newest_first_with_a_before_cursor(store: &dyn Store) {
    for i in 1..=5 {
        let mut event = audit(i, &format!("e{i}"));
        event.id = 777; // ignored: the store assigns ids
        store.append_audit(&event).await.unwrap();
    }
    let all = store.list_audit(10, None).await.unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["e5", "e4", "e3", "e2", "e1"]);
    assert!(
        all.windows(2).all(|w| w[0].id > w[1].id),
        "ids increase with insertion"
    );
    assert!(all.iter().all(|e| e.id != 777));

    let page1 = store.list_audit(2, None).await.unwrap();
    assert_eq!(page1, all[..2]);
    let page2 = store.list_audit(2, Some(page1[1].id)).await.unwrap();
    assert_eq!(page2, all[2..4]);
    let page3 = store.list_audit(2, Some(page2[1].id)).await.unwrap();
    assert_eq!(page3, all[4..]);
    assert!(
        store
            .list_audit(2, Some(page3[0].id))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.list_audit(0, None).await.unwrap().is_empty());
}

pub(crate) async fn audit_details_round_trip_exactly(store: &dyn Store) {
    let details = [
        awkward_json(),
        json!(null),
        json!([1, "two"]),
        json!("just text"),
        json!(1.5),
    ];
    for (i, detail) in details.iter().enumerate() {
        let mut event = audit(i64::try_from(i).unwrap(), "client.update");
        event.actor = "ünïcode 'actor'".to_owned();
        event.target = String::new();
        event.detail = detail.clone();
        store.append_audit(&event).await.unwrap();
    }
    let mut listed = store.list_audit(100, None).await.unwrap();
    listed.reverse();
    let got: Vec<_> = listed.iter().map(|e| e.detail.clone()).collect();
    assert_eq!(got, details);
    assert!(
        listed
            .iter()
            .all(|e| e.actor == "ünïcode 'actor'" && e.target.is_empty())
    );
}
