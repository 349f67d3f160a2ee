use gatehouse_ca::{LifetimePolicy, TrustDomain};
use gatehouse_core::UnixTime;
use gatehouse_keys::MasterKey;
use gatehouse_store::{SqliteStore, Store};
use zeroize::Zeroizing;

use super::*;

const NOW: UnixTime = UnixTime(1_800_000_000);

fn settings() -> CaSettings {
    CaSettings {
        trust_domain: TrustDomain::new("gatehouse.local").expect("valid"),
        policy: LifetimePolicy::default(),
        intermediate: false,
        import: None,
    }
}

#[tokio::test]
async fn the_ca_is_created_once_and_reloaded_encrypted() {
    let store = SqliteStore::open_in_memory().await.expect("store");
    let master = MasterKey::generate();
    let (first, origin) = CertificateService::load_or_create(&store, &master, settings(), NOW)
        .await
        .expect("create");
    assert_eq!(origin, CaOrigin::Generated);
    let (again, origin) = CertificateService::load_or_create(&store, &master, settings(), NOW)
        .await
        .expect("load");
    assert_eq!(origin, CaOrigin::Stored);
    assert_eq!(
        first.bundle_pem(),
        again.bundle_pem(),
        "same CA after a restart"
    );

    let rec = store.load_ca().await.expect("read").expect("stored");
    let key = first.authority().root();
    assert!(!rec.private_key_enc.is_empty());
    assert!(
        !rec.private_key_enc
            .windows(16)
            .any(|w| key.as_ref().windows(16).any(|k| k == w)),
        "nothing of the certificate, let alone the key, in clear in the key blob"
    );

    let other = MasterKey::generate();
    let err = CertificateService::load_or_create(&store, &other, settings(), NOW)
        .await
        .expect_err("another master key cannot decrypt it");
    assert!(matches!(err, CaSetupError::Key(_)), "{err}");
}

#[tokio::test]
async fn a_configured_ca_replaces_the_stored_one_and_is_kept() {
    let store = SqliteStore::open_in_memory().await.expect("store");
    let master = MasterKey::generate();
    let (generated, _) = CertificateService::load_or_create(&store, &master, settings(), NOW)
        .await
        .expect("create");
    let (imported_ca, stored) = gatehouse_ca::Authority::generate(
        TrustDomain::new("gatehouse.local").expect("valid"),
        false,
        LifetimePolicy::default(),
        NOW,
    )
    .expect("another CA");
    let key_pem = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&*stored.key_pkcs8);
        Zeroizing::new(format!(
            "-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"
        ))
    };
    let mut with_import = settings();
    with_import.import = Some((stored.chain_pem.clone(), key_pem));
    let (imported, origin) =
        CertificateService::load_or_create(&store, &master, with_import.clone(), NOW)
            .await
            .expect("import");
    assert_eq!(origin, CaOrigin::Imported);
    assert_eq!(imported.bundle_pem(), imported_ca.bundle_pem());
    assert_ne!(imported.bundle_pem(), generated.bundle_pem());
    let (_, origin) = CertificateService::load_or_create(&store, &master, with_import, NOW)
        .await
        .expect("same import again");
    assert_eq!(
        origin,
        CaOrigin::Stored,
        "an unchanged import is not rewritten"
    );
    let (reloaded, _) = CertificateService::load_or_create(&store, &master, settings(), NOW)
        .await
        .expect("load");
    assert_eq!(reloaded.bundle_pem(), imported_ca.bundle_pem());
}
