use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use gatehouse_core::Alg;
use serde_json::{Value, json};

use super::*;
use crate::testutil;

fn set(keys: Vec<Value>) -> Value {
    json!({ "keys": keys })
}

fn p384_jwk() -> Value {
    let pair = EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
    let point = pair.public_key().as_ref();
    json!({ "kty": "EC", "crv": "P-384", "x": b64::encode(&point[1..49]), "y": b64::encode(&point[49..]) })
}

#[test]
fn public_keys_of_every_supported_type_are_accepted() {
    let mut keys: Vec<Value> = Alg::ALL
        .iter()
        .map(|a| testutil::key(*a, &format!("k{a}")).public_jwk())
        .collect();
    keys.push(p384_jwk());
    assert_eq!(check_public_jwks(&set(keys)), Ok(()));
}

#[test]
fn private_members_are_rejected_with_a_clear_message() {
    for member in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
        let mut jwk = testutil::key(Alg::ES256, "k").public_jwk();
        jwk[member] = json!("AAAA");
        let err = check_public_jwks(&set(vec![jwk])).unwrap_err();
        assert!(
            matches!(err, JwksError::PrivateMember { index: 0, member: m } if m == member),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("register only the public key"),
            "{err}"
        );
    }
}

#[test]
fn symmetric_keys_are_rejected_with_a_clear_message() {
    let ok = testutil::key(Alg::EdDSA, "a").public_jwk();
    let err =
        check_public_jwks(&set(vec![ok, json!({ "kty": "oct", "k": "c2VjcmV0" })])).unwrap_err();
    assert_eq!(err, JwksError::SymmetricKey { index: 1 });
    assert!(err.to_string().contains("kty \"oct\""), "{err}");
}

#[test]
fn key_set_shape_and_size_are_checked() {
    assert_eq!(check_public_jwks(&json!([])), Err(JwksError::NotAKeySet));
    assert_eq!(
        check_public_jwks(&json!({ "keys": {} })),
        Err(JwksError::NotAKeySet)
    );
    assert_eq!(
        check_public_jwks(&set(vec![])),
        Err(JwksError::KeyCount { found: 0, max: 20 })
    );
    let many: Vec<Value> = (0..21)
        .map(|i| testutil::key(Alg::ES256, &format!("k{i}")).public_jwk())
        .collect();
    assert_eq!(
        check_public_jwks(&set(many)),
        Err(JwksError::KeyCount { found: 21, max: 20 })
    );
}

#[test]
fn duplicate_kids_are_rejected() {
    let a = testutil::key(Alg::ES256, "same").public_jwk();
    let b = testutil::key(Alg::EdDSA, "same").public_jwk();
    assert_eq!(
        check_public_jwks(&set(vec![a, b])),
        Err(JwksError::DuplicateKid {
            index: 1,
            kid: "same".into()
        })
    );
}

#[test]
fn small_rsa_keys_are_rejected() {
    let mut n = vec![0xc5u8; 128];
    n[127] |= 1;
    let jwk = json!({ "kty": "RSA", "n": b64::encode(&n), "e": "AQAB" });
    let err = check_public_jwks(&set(vec![jwk])).unwrap_err();
    assert_eq!(
        err,
        JwksError::InvalidKey {
            index: 0,
            reason: "RSA modulus must be at least 2048 bits"
        }
    );
}

fn invalid_reason(jwk: Value) -> &'static str {
    match check_public_jwks(&set(vec![jwk])) {
        Err(JwksError::InvalidKey { reason, .. }) => reason,
        other => panic!("expected InvalidKey, got {other:?}"),
    }
}

#[test]
fn malformed_or_unsupported_keys_are_rejected() {
    let ec = testutil::key(Alg::ES256, "k").public_jwk();
    let mut off_curve = ec.clone();
    off_curve["y"] = json!(b64::encode(&[7u8; 32]));
    assert_eq!(invalid_reason(off_curve), "not a valid public key");
    let mut short = ec.clone();
    short["x"] = json!(b64::encode(&[7u8; 31]));
    assert!(invalid_reason(short).contains("coordinate size"));
    let mut k1 = ec.clone();
    k1["crv"] = json!("secp256k1");
    assert!(invalid_reason(k1).contains("crv"));
    let mut wrong_alg = ec.clone();
    wrong_alg["alg"] = json!("RS256");
    assert!(invalid_reason(wrong_alg).contains("does not fit"));
    for refused in ["none", "HS256"] {
        let mut jwk = ec.clone();
        jwk["alg"] = json!(refused);
        assert!(invalid_reason(jwk).contains("not a supported"));
    }
    let mut enc = ec.clone();
    enc["use"] = json!("enc");
    assert!(invalid_reason(enc).contains("use"));
    let mut numeric_kid = ec;
    numeric_kid["kid"] = json!(7);
    assert!(invalid_reason(numeric_kid).contains("strings"));
    let x25519 = json!({ "kty": "OKP", "crv": "X25519", "x": b64::encode(&[9u8; 32]) });
    assert!(invalid_reason(x25519).contains("Ed25519"));
    assert!(invalid_reason(json!({ "kty": "oops" })).contains("kty"));
    assert!(invalid_reason(json!("string")).contains("object"));
}
