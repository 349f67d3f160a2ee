//! The portal's records: users, sessions, plans, API listings and application profiles.

use gatehouse_core::{
    ApiId, ApiListing, AppProfile, ClientId, CredentialType, Plan, PlanId, PlanRate, SessionRecord,
    UnixTime, User, UserId, UserRole,
};
use gatehouse_store::{Catalog, Store};

use super::fixtures::{api, assert_not_found, client, conflict_message, scopes};

fn user(id: &str, email: &str, at: i64) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        email: email.to_owned(),
        name: "Ana Übermann 'q' \"d\" ✓".to_owned(),
        role: UserRole::Developer,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        disabled: false,
        created_at: UnixTime(at),
    }
}

fn plan(id: &str, api: &str, name: &str, at: i64) -> Plan {
    Plan {
        id: PlanId::parse(id).unwrap(),
        api_id: ApiId::parse(api).unwrap(),
        name: name.to_owned(),
        description: "gold ✓".to_owned(),
        rate_limit: Some(PlanRate {
            per_second: 50,
            burst: 100,
        }),
        daily_quota: Some(u64::MAX),
        requires_approval: true,
        scopes: scopes("orders:read orders:write"),
        created_at: UnixTime(at),
    }
}

fn session(digest: u8, user: &str, expires: i64) -> SessionRecord {
    SessionRecord {
        digest: [digest; 32],
        user_id: UserId::parse(user).unwrap(),
        created_at: UnixTime(1),
        expires_at: UnixTime(expires),
    }
}

pub(crate) async fn users_round_trip_and_emails_are_unique(store: &dyn Store) {
    let mut a = user("u_b", "ana@example.com", 20);
    let b = user("u_a", "bo@example.com", 20);
    let c = user("u_c", "cy@example.com", 10);
    for u in [&a, &b, &c] {
        store.create_user(u).await.unwrap();
    }
    let ids: Vec<_> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id.to_string())
        .collect();
    assert_eq!(ids, ["u_c", "u_a", "u_b"]);
    assert_eq!(store.get_user(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.user_by_email("bo@example.com").await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(
        store.user_by_email("nobody@example.com").await.unwrap(),
        None
    );

    let msg = conflict_message(store.create_user(&user("u_d", "ana@example.com", 1)).await);
    assert!(msg.contains("ana@example.com"), "{msg}");
    conflict_message(store.create_user(&user("u_a", "new@example.com", 1)).await);

    a.role = UserRole::Admin;
    a.disabled = true;
    a.email = "ana2@example.com".to_owned();
    store.update_user(&a).await.unwrap();
    assert_eq!(store.get_user(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.user_by_email("ana@example.com").await.unwrap(), None);
    a.email = "bo@example.com".to_owned();
    conflict_message(store.update_user(&a).await);
    assert_not_found(store.update_user(&user("u_x", "x@example.com", 1)).await);
}

pub(crate) async fn sessions_expire_end_and_die_with_their_user(store: &dyn Store) {
    let u = user("u_1", "ana@example.com", 1);
    store.create_user(&u).await.unwrap();
    store.create_session(&session(1, "u_1", 100)).await.unwrap();
    store.create_session(&session(2, "u_1", 200)).await.unwrap();
    store.create_session(&session(3, "u_1", 300)).await.unwrap();
    assert_not_found(store.create_session(&session(4, "u_missing", 100)).await);

    assert_eq!(
        store.session_user(&[1; 32], UnixTime(99)).await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(
        store.session_user(&[1; 32], UnixTime(100)).await.unwrap(),
        None
    );
    assert_eq!(
        store.session_user(&[9; 32], UnixTime(0)).await.unwrap(),
        None
    );

    store.delete_session(&[2; 32]).await.unwrap();
    store.delete_session(&[2; 32]).await.unwrap();
    assert_eq!(
        store.session_user(&[2; 32], UnixTime(0)).await.unwrap(),
        None
    );

    assert_eq!(store.purge_sessions(UnixTime(100)).await.unwrap(), 1);
    assert_eq!(store.delete_user_sessions(&u.id).await.unwrap(), 1);
    assert_eq!(
        store.session_user(&[3; 32], UnixTime(0)).await.unwrap(),
        None
    );
}

pub(crate) async fn plans_upsert_are_unique_per_api_and_go_with_their_api(store: &dyn Store) {
    store.create_api(&api("api_o", "orders", 1)).await.unwrap();
    store
        .create_api(&api("api_p", "payments", 2))
        .await
        .unwrap();
    let mut gold = plan("pl_gold", "api_o", "gold", 5);
    let free = plan("pl_free", "api_o", "free", 3);
    store.put_plan(&gold).await.unwrap();
    store.put_plan(&free).await.unwrap();
    store
        .put_plan(&plan("pl_pfree", "api_p", "free", 4))
        .await
        .unwrap();
    assert_not_found(store.put_plan(&plan("pl_x", "api_missing", "x", 1)).await);
    let msg = conflict_message(store.put_plan(&plan("pl_other", "api_o", "gold", 9)).await);
    assert!(msg.contains("gold"), "{msg}");

    gold.requires_approval = false;
    gold.rate_limit = None;
    gold.name = "platinum".to_owned();
    store.put_plan(&gold).await.unwrap();
    store.put_plan(&gold).await.unwrap();
    let all = store.list_plans().await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], free);
    assert_eq!(all[2], gold);

    // An id of one API's plan cannot be taken over by another API.
    let mut moved = gold.clone();
    moved.api_id = ApiId::parse("api_p").unwrap();
    moved.name = "moved".to_owned();
    conflict_message(store.put_plan(&moved).await);

    store.delete_plan(&free.id).await.unwrap();
    assert_not_found(store.delete_plan(&free.id).await);
    store
        .delete_api(&ApiId::parse("api_o").unwrap())
        .await
        .unwrap();
    let left: Vec<_> = store
        .list_plans()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id.to_string())
        .collect();
    assert_eq!(left, ["pl_pfree"]);
}

pub(crate) async fn listings_and_profiles_upsert_and_go_with_their_record(store: &dyn Store) {
    store.create_api(&api("api_o", "orders", 1)).await.unwrap();
    store.create_client(&client("app_1", 1)).await.unwrap();
    let mut listing = ApiListing {
        api_id: ApiId::parse("api_o").unwrap(),
        description: "Orders <b>API</b> ✓".to_owned(),
        docs_url: Some("https://docs.example/orders".to_owned()),
        credentials: vec![CredentialType::ApiKey, CredentialType::Bearer],
        owners: vec![UserId::parse("u_1").unwrap()],
        visible: false,
        updated_at: UnixTime(3),
    };
    store.put_api_listing(&listing).await.unwrap();
    listing.visible = true;
    store.put_api_listing(&listing).await.unwrap();
    assert_eq!(
        store.list_api_listings().await.unwrap(),
        vec![listing.clone()]
    );
    let mut orphan = listing.clone();
    orphan.api_id = ApiId::parse("api_missing").unwrap();
    assert_not_found(store.put_api_listing(&orphan).await);

    let mut profile = AppProfile {
        client_id: ClientId::parse("app_1").unwrap(),
        owner: Some(UserId::parse("u_1").unwrap()),
        description: "billing job".to_owned(),
        contact_email: Some("team@example.com".to_owned()),
        updated_at: UnixTime(4),
    };
    store.put_app_profile(&profile).await.unwrap();
    profile.owner = None;
    store.put_app_profile(&profile).await.unwrap();
    assert_eq!(
        store.list_app_profiles().await.unwrap(),
        vec![profile.clone()]
    );
    let mut orphan = profile.clone();
    orphan.client_id = ClientId::parse("app_missing").unwrap();
    assert_not_found(store.put_app_profile(&orphan).await);

    let now = UnixTime(10);
    store
        .put_plan(&plan("pl_1", "api_o", "free", 1))
        .await
        .unwrap();
    let cat = Catalog::load(store, now).await.unwrap();
    assert_eq!(
        cat.listing(&listing.api_id).map(|l| l.description.as_str()),
        Some("Orders <b>API</b> ✓")
    );
    assert_eq!(
        cat.profile(&profile.client_id).map(|p| p.owner.clone()),
        Some(None)
    );
    assert_eq!(
        cat.plan(&listing.api_id, "free").map(|p| p.id.to_string()),
        Some("pl_1".to_owned())
    );
    assert_eq!(cat.plans_for(&listing.api_id).len(), 1);

    store.delete_api(&listing.api_id).await.unwrap();
    store.delete_client(&profile.client_id).await.unwrap();
    assert!(store.list_api_listings().await.unwrap().is_empty());
    assert!(store.list_app_profiles().await.unwrap().is_empty());
}
