use gatehouse_core::{Alg, KeyState, UnixTime};
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::testutil::{self, with_header};
use crate::{SigningKey, TYP_ACCESS_TOKEN};

const NOW: i64 = 10_000;

fn mint(key: &SigningKey) -> String {
    key.sign_jwt(TYP_ACCESS_TOKEN, &testutil::claims()).unwrap()
}

/// One key in each state: active, next, retired in grace, retired expired, revoked.
struct Fixture {
    master: MasterKey,
    records: Vec<KeyRecord>,
    keys: Vec<SigningKey>,
}

fn fixture() -> Fixture {
    let master = MasterKey::generate();
    let specs = [
        ("active", KeyState::Active, 300, None),
        ("next", KeyState::Next, 400, None),
        ("grace", KeyState::Retired, 200, Some(NOW + 1)),
        ("expired", KeyState::Retired, 100, Some(NOW)),
        ("revoked", KeyState::Revoked, 250, Some(NOW - 5)),
    ];
    let (mut records, mut keys) = (Vec::new(), Vec::new());
    for (kid, state, created, publish_until) in specs {
        let (mut record, key) = testutil::record(&master, Alg::ES256, kid, state, created);
        record.publish_until = publish_until.map(UnixTime);
        records.push(record);
        keys.push(key);
    }
    Fixture {
        master,
        records,
        keys,
    }
}

fn jwks_kids(ring: &KeyRing) -> Vec<&str> {
    ring.jwks()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect()
}

#[test]
fn jwks_lists_published_keys_oldest_first() {
    let f = fixture();
    let ring = KeyRing::from_records(&f.records, &f.master, UnixTime(NOW)).unwrap();
    assert_eq!(jwks_kids(&ring), ["grace", "active", "next"]);
    let reparsed: Value = serde_json::from_slice(ring.jwks_bytes()).unwrap();
    assert_eq!(&reparsed, ring.jwks());
}

#[test]
fn jwks_contains_no_private_members() {
    let f = fixture();
    let ring = KeyRing::from_records(&f.records, &f.master, UnixTime(NOW)).unwrap();
    for key in ring.jwks()["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(key.get(private).is_none(), "{private} in {key}");
        }
    }
}

#[test]
fn revoked_key_is_unpublished_and_its_tokens_do_not_verify() {
    let f = fixture();
    let ring = KeyRing::from_records(&f.records, &f.master, UnixTime(NOW)).unwrap();
    assert!(!jwks_kids(&ring).contains(&"revoked"));
    assert_eq!(ring.verify(&mint(&f.keys[4])), Err(VerifyError::UnknownKey));
}

#[test]
fn retired_key_verifies_until_publish_until_then_is_unpublished() {
    let f = fixture();
    let ring = KeyRing::from_records(&f.records, &f.master, UnixTime(NOW)).unwrap();
    assert!(ring.verify(&mint(&f.keys[2])).is_ok(), "in grace");
    assert_eq!(
        ring.verify(&mint(&f.keys[3])),
        Err(VerifyError::UnknownKey),
        "past publish_until"
    );
    let later = KeyRing::from_records(&f.records, &f.master, UnixTime(NOW + 1)).unwrap();
    assert_eq!(jwks_kids(&later), ["active", "next"]);
    assert_eq!(
        later.verify(&mint(&f.keys[2])),
        Err(VerifyError::UnknownKey)
    );
}

#[test]
fn active_signer_mints_tokens_the_ring_verifies() {
    let f = fixture();
    let ring = KeyRing::from_records(&f.records, &f.master, UnixTime(NOW)).unwrap();
    let signer = ring.signer(Alg::ES256).unwrap();
    assert_eq!(signer.kid().as_str(), "active");
    let verified = ring.verify(&mint(signer)).unwrap();
    assert_eq!(verified.header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(verified.claims["scope"], "orders:read orders:write");
    assert!(ring.signer(Alg::EdDSA).is_none());
}

#[test]
fn forged_headers_are_rejected() {
    let f = fixture();
    let ring = KeyRing::from_records(&f.records, &f.master, UnixTime(NOW)).unwrap();
    let token = mint(ring.signer(Alg::ES256).unwrap());
    let cases = [
        (
            r#"{"alg":"none","kid":"active"}"#,
            VerifyError::UnsupportedAlgorithm,
        ),
        (
            r#"{"alg":"HS256","kid":"active"}"#,
            VerifyError::UnsupportedAlgorithm,
        ),
        (
            r#"{"alg":"EdDSA","kid":"active"}"#,
            VerifyError::AlgorithmMismatch,
        ),
        (
            r#"{"alg":"ES256"}"#,
            VerifyError::Malformed("header has no \"kid\""),
        ),
        (r#"{"alg":"ES256","kid":"nope"}"#, VerifyError::UnknownKey),
        (
            r#"{"alg":"ES256","kid":"active","typ":"JWT"}"#,
            VerifyError::BadSignature,
        ),
        (
            r#"{"alg":"ES256","kid":"active","crit":["x"]}"#,
            VerifyError::Malformed("\"crit\" header parameters are not supported"),
        ),
    ];
    for (header, expected) in cases {
        assert_eq!(
            ring.verify(&with_header(&token, header)),
            Err(expected),
            "{header}"
        );
    }
    let unsigned = format!(
        "{}.",
        with_header(&token, r#"{"alg":"none","kid":"active"}"#)
            .rsplit_once('.')
            .unwrap()
            .0
    );
    assert_eq!(
        ring.verify(&unsigned),
        Err(VerifyError::UnsupportedAlgorithm)
    );
}

#[test]
fn latest_activated_key_signs_when_several_are_active() {
    let master = MasterKey::generate();
    let (mut older, _) = testutil::record(&master, Alg::EdDSA, "older", KeyState::Active, 100);
    let (mut newer, _) = testutil::record(&master, Alg::EdDSA, "newer", KeyState::Active, 50);
    older.activated_at = Some(UnixTime(200));
    newer.activated_at = Some(UnixTime(300));
    let ring = KeyRing::from_records(&[newer, older], &master, UnixTime(NOW)).unwrap();
    assert_eq!(ring.signer(Alg::EdDSA).unwrap().kid().as_str(), "newer");
    assert_eq!(jwks_kids(&ring), ["newer", "older"]);
}

#[test]
fn every_algorithm_gets_its_own_signer() {
    let master = MasterKey::generate();
    let records: Vec<KeyRecord> = Alg::ALL
        .iter()
        .map(|alg| testutil::record(&master, *alg, &format!("k{alg}"), KeyState::Active, 1).0)
        .collect();
    let ring = KeyRing::from_records(&records, &master, UnixTime(NOW)).unwrap();
    for alg in Alg::ALL {
        let signer = ring.signer(alg).unwrap();
        assert_eq!(signer.alg(), alg);
        assert!(ring.verify(&mint(signer)).is_ok(), "{alg}");
    }
    let kids: Vec<_> = ring
        .kids()
        .map(|(kid, alg, state)| (kid.as_str().to_owned(), alg, state))
        .collect();
    assert_eq!(kids.len(), 4);
    assert!(kids.iter().all(|(_, _, s)| *s == KeyState::Active));
}

#[test]
fn wrong_master_key_fails_the_build() {
    let f = fixture();
    let err = KeyRing::from_records(&f.records, &MasterKey::generate(), UnixTime(NOW)).unwrap_err();
    assert!(
        matches!(err, KeyError::Decrypt { ref kid, .. } if kid.as_str() == "active"),
        "{err}"
    );
}

#[test]
fn inconsistent_records_fail_the_build() {
    let master = MasterKey::generate();
    let (active, _) = testutil::record(&master, Alg::ES256, "a", KeyState::Active, 1);
    let mut swapped = active.clone();
    swapped.public_jwk = testutil::fresh(Alg::ES256, "a").public_jwk();
    let mut with_private = active.clone();
    with_private.public_jwk["d"] = json!("AAAA");
    let mut wrong_alg = active.clone();
    wrong_alg.alg = Alg::EdDSA;
    for (records, reason_part) in [
        (vec![swapped], "does not match"),
        (vec![with_private], "private"),
        (vec![wrong_alg], "algorithm"),
        (vec![active.clone(), active], "duplicate"),
    ] {
        match KeyRing::from_records(&records, &master, UnixTime(NOW)) {
            Err(KeyError::BadRecord { reason, .. }) => {
                assert!(reason.contains(reason_part), "{reason}")
            }
            other => panic!("expected BadRecord({reason_part}), got {other:?}"),
        }
    }
}

#[test]
fn empty_ring_has_no_signers_and_an_empty_jwks() {
    let ring = KeyRing::from_records(&[], &MasterKey::generate(), UnixTime(0)).unwrap();
    assert!(ring.signer(Alg::ES256).is_none());
    assert_eq!(ring.jwks_bytes(), br#"{"keys":[]}"#);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn minted_tokens_verify_with_their_claims(
        alg_index in 0usize..4,
        sub in "[a-zA-Z0-9_]{1,40}",
        scope in "[a-z:. ]{0,60}",
        exp in 0i64..4_000_000_000,
    ) {
        let alg = Alg::ALL[alg_index];
        let master = MasterKey::generate();
        let (record, _) = testutil::record(&master, alg, "k", KeyState::Active, 0);
        let ring = KeyRing::from_records(&[record], &master, UnixTime(0)).unwrap();
        let claims = json!({ "sub": sub, "scope": scope, "exp": exp });
        let signer = ring.signer(alg).unwrap();
        let token = signer.sign_jwt(TYP_ACCESS_TOKEN, &serde_json::to_vec(&claims).unwrap()).unwrap();
        let verified = ring.verify(&token).unwrap();
        prop_assert_eq!(Value::Object(verified.claims.clone()), claims);
        // The published JWKS verifies the same token through both public paths.
        let verifier = crate::JwksVerifier::from_jwks(ring.jwks()).unwrap();
        prop_assert_eq!(&verifier.verify(&token).unwrap(), &verified);
        prop_assert_eq!(&crate::verify_with_jwks(&token, ring.jwks()).unwrap(), &verified);
    }
}

#[test]
fn ring_and_keys_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<KeyRing>();
    assert_send_sync::<SigningKey>();
    assert_send_sync::<MasterKey>();
    assert_send_sync::<crate::JwksVerifier>();
}
