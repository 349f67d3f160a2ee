//! The certificate authority's records: its own key (stored once), issued serials, the
//! deny-list of revoked serials.

use gatehouse_core::{CaRecord, CertificateRecord, ClientId, UnixTime};
use gatehouse_store::{Catalog, Store};

use super::fixtures::{assert_not_found, client, conflict_message};

fn cert(serial: &str, client_id: &str, issued_at: i64, not_after: i64) -> CertificateRecord {
    CertificateRecord {
        serial: serial.to_owned(),
        client_id: ClientId::parse(client_id).unwrap(),
        spiffe_id: format!("spiffe://prod.example/app/{client_id}"),
        dns_names: vec!["a.internal".into(), "*.b.internal".into()],
        not_before: UnixTime(issued_at - 60),
        not_after: UnixTime(not_after),
        issued_at: UnixTime(issued_at),
        revoked_at: None,
    }
}

pub(crate) async fn the_ca_is_stored_once_and_replaced_on_demand(store: &dyn Store) {
    assert_eq!(store.load_ca().await.unwrap(), None);
    let first = CaRecord {
        chain_pem: "-----BEGIN CERTIFICATE-----\nfirst\n".into(),
        private_key_enc: vec![0, 1, 2, 255],
        created_at: UnixTime(7),
    };
    assert!(store.insert_ca_if_absent(&first).await.unwrap());
    let second = CaRecord {
        chain_pem: "second".into(),
        private_key_enc: vec![9; 64],
        created_at: UnixTime(8),
    };
    assert!(
        !store.insert_ca_if_absent(&second).await.unwrap(),
        "a second first start loses the race"
    );
    assert_eq!(store.load_ca().await.unwrap(), Some(first));
    store.replace_ca(&second).await.unwrap();
    assert_eq!(store.load_ca().await.unwrap(), Some(second));
}

pub(crate) async fn certificates_round_trip_and_list_per_client(store: &dyn Store) {
    store.create_client(&client("c1", 1)).await.unwrap();
    store.create_client(&client("c2", 1)).await.unwrap();
    let mut revoked = cert("0b", "c2", 5, i64::MAX);
    revoked.revoked_at = Some(UnixTime(6));
    revoked.dns_names = Vec::new();
    let a = cert("0a", "c1", 5, 100);
    let early = cert("ff", "c1", i64::MIN + 60, 50);
    for c in [&a, &revoked, &early] {
        store.record_certificate(c).await.unwrap();
    }
    assert_eq!(
        store.list_certificates(None).await.unwrap(),
        vec![early.clone(), a.clone(), revoked],
        "oldest first, ties by serial"
    );
    assert_eq!(
        store
            .list_certificates(Some(&ClientId::parse("c1").unwrap()))
            .await
            .unwrap(),
        vec![early, a]
    );
}

pub(crate) async fn a_certificate_for_a_missing_client_is_not_found_and_duplicates_conflict(
    store: &dyn Store,
) {
    assert_not_found(store.record_certificate(&cert("01", "ghost", 1, 2)).await);
    store.create_client(&client("c1", 1)).await.unwrap();
    store
        .record_certificate(&cert("01", "c1", 1, 2))
        .await
        .unwrap();
    let msg = conflict_message(store.record_certificate(&cert("01", "c1", 3, 4)).await);
    assert_eq!(msg, "certificate serial '01' already exists");
}

pub(crate) async fn revocation_keeps_the_first_time_and_the_deny_list_skips_expired(
    store: &dyn Store,
) {
    store.create_client(&client("c1", 1)).await.unwrap();
    store
        .record_certificate(&cert("01", "c1", 1, 100))
        .await
        .unwrap();
    store
        .record_certificate(&cert("02", "c1", 1, 200))
        .await
        .unwrap();
    store
        .record_certificate(&cert("03", "c1", 1, 300))
        .await
        .unwrap();
    store.revoke_certificate("01", UnixTime(10)).await.unwrap();
    store.revoke_certificate("02", UnixTime(20)).await.unwrap();
    store.revoke_certificate("02", UnixTime(30)).await.unwrap();
    assert_not_found(store.revoke_certificate("99", UnixTime(1)).await);

    let deny = store
        .list_revoked_certificates(UnixTime(100))
        .await
        .unwrap();
    assert_eq!(deny.len(), 1, "01 expired at 100, 03 is not revoked");
    assert_eq!(deny[0].serial, "02");
    assert_eq!(
        deny[0].revoked_at,
        Some(UnixTime(20)),
        "first revocation kept"
    );
    let deny = store.list_revoked_certificates(UnixTime(99)).await.unwrap();
    assert_eq!(
        deny.iter().map(|c| c.serial.as_str()).collect::<Vec<_>>(),
        ["01", "02"]
    );

    let catalog = Catalog::load(store, UnixTime(100)).await.unwrap();
    assert!(catalog.certificate_revoked("02"));
    assert!(
        !catalog.certificate_revoked("01"),
        "expired entries leave the deny-list"
    );
    assert!(!catalog.certificate_revoked("03"));
}

pub(crate) async fn purge_and_client_deletion_remove_certificates(store: &dyn Store) {
    store.create_client(&client("c1", 1)).await.unwrap();
    store.create_client(&client("c2", 1)).await.unwrap();
    store
        .record_certificate(&cert("01", "c1", 1, 100))
        .await
        .unwrap();
    store
        .record_certificate(&cert("02", "c1", 1, 200))
        .await
        .unwrap();
    store
        .record_certificate(&cert("03", "c2", 1, 200))
        .await
        .unwrap();
    assert_eq!(store.purge_certificates(UnixTime(150)).await.unwrap(), 1);
    store
        .delete_client(&ClientId::parse("c2").unwrap())
        .await
        .unwrap();
    let left = store.list_certificates(None).await.unwrap();
    assert_eq!(
        left.iter().map(|c| c.serial.as_str()).collect::<Vec<_>>(),
        ["02"]
    );
}
