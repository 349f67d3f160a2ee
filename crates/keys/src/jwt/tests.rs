use gatehouse_core::Alg;
use serde_json::{Value, json};

use super::*;
use crate::testutil::{self, with_header};
use crate::{SigningKey, b64};

fn assertion(key: &SigningKey) -> String {
    key.sign_jwt(
        "JWT",
        br#"{"iss":"app_1","sub":"app_1","aud":"https://as.example"}"#,
    )
    .unwrap()
}

fn jwks_of(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() })
}

fn strip(mut jwk: Value, member: &str) -> Value {
    jwk.as_object_mut().unwrap().remove(member);
    jwk
}

#[test]
fn assertion_verifies_with_the_key_its_kid_names_for_every_alg() {
    let keys: Vec<SigningKey> = Alg::ALL
        .iter()
        .map(|a| testutil::key(*a, &format!("k-{a}")))
        .collect();
    let jwks = jwks_of(&keys.iter().collect::<Vec<_>>());
    for key in &keys {
        let verified = verify_with_jwks(&assertion(key), &jwks).unwrap();
        assert_eq!(verified.claims["iss"], "app_1");
        assert_eq!(verified.header.kid.as_deref(), Some(key.kid().as_str()));
    }
}

/// An ES256 token without `kid`, signed by the cached ES256 test key.
fn kidless_es256(claims: &[u8]) -> String {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, testutil::der(Alg::ES256))
            .unwrap();
    let input = format!(
        "{}.{}",
        b64::encode(br#"{"alg":"ES256","typ":"JWT"}"#),
        b64::encode(claims)
    );
    let sig = pair
        .sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes())
        .unwrap();
    format!("{input}.{}", b64::encode(sig.as_ref()))
}

#[test]
fn kidless_assertion_is_verified_by_trying_each_compatible_key() {
    let other_ec = testutil::fresh(Alg::ES256, "a");
    let ed = testutil::fresh(Alg::EdDSA, "b");
    let signer = testutil::key(Alg::ES256, "c");
    let jwks = json!({ "keys": [
        strip(other_ec.public_jwk(), "kid"),
        strip(ed.public_jwk(), "kid"),
        strip(signer.public_jwk(), "kid"),
    ]});
    let kidless = kidless_es256(br#"{"iss":"app_1"}"#);
    let verified = verify_with_jwks(&kidless, &jwks).unwrap();
    assert_eq!(verified.header.kid, None);
    assert_eq!(verified.claims["iss"], "app_1");
    let only_stranger = json!({ "keys": [strip(other_ec.public_jwk(), "kid")] });
    assert_eq!(
        verify_with_jwks(&kidless, &only_stranger),
        Err(VerifyError::BadSignature)
    );
    let only_ed = json!({ "keys": [strip(ed.public_jwk(), "kid")] });
    assert_eq!(
        verify_with_jwks(&kidless, &only_ed),
        Err(VerifyError::UnknownKey)
    );
}

#[test]
fn none_and_hmac_algorithms_are_rejected() {
    let key = testutil::key(Alg::ES256, "k");
    let jwks = jwks_of(&[&key]);
    let token = assertion(&key);
    for alg in ["none", "HS256", "HS512", "ES256K"] {
        let forged = with_header(&token, &format!(r#"{{"alg":"{alg}","kid":"k"}}"#));
        assert_eq!(
            verify_with_jwks(&forged, &jwks),
            Err(VerifyError::UnsupportedAlgorithm),
            "{alg}"
        );
        let unsigned = format!("{}.", forged.rsplit_once('.').unwrap().0);
        assert_eq!(
            verify_with_jwks(&unsigned, &jwks),
            Err(VerifyError::UnsupportedAlgorithm)
        );
    }
}

#[test]
fn header_alg_that_does_not_fit_the_named_key_is_a_mismatch() {
    let key = testutil::key(Alg::ES256, "k");
    let forged = with_header(&assertion(&key), r#"{"alg":"ES384","kid":"k"}"#);
    assert_eq!(
        verify_with_jwks(&forged, &jwks_of(&[&key])),
        Err(VerifyError::AlgorithmMismatch)
    );
    let rsa = testutil::key(Alg::RS256, "r");
    let ps_token = testutil::key(Alg::PS256, "r")
        .sign_jwt("JWT", b"{}")
        .unwrap();
    assert_eq!(
        verify_with_jwks(&ps_token, &jwks_of(&[&rsa])),
        Err(VerifyError::AlgorithmMismatch)
    );
    let rsa_without_alg = json!({ "keys": [strip(rsa.public_jwk(), "alg")] });
    assert!(
        verify_with_jwks(&ps_token, &rsa_without_alg).is_ok(),
        "an RSA key without alg verifies PS256"
    );
}

#[test]
fn unknown_kid_and_non_signing_keys_are_unknown() {
    let key = testutil::key(Alg::EdDSA, "k");
    let token = assertion(&key);
    let renamed = json!({ "keys": [testutil::key(Alg::EdDSA, "other").public_jwk()] });
    assert_eq!(
        verify_with_jwks(&token, &renamed),
        Err(VerifyError::UnknownKey)
    );
    let mut enc = key.public_jwk();
    enc["use"] = json!("enc");
    assert_eq!(
        verify_with_jwks(&token, &json!({ "keys": [enc] })),
        Err(VerifyError::UnknownKey)
    );
    assert_eq!(
        verify_with_jwks(&token, &json!({})),
        Err(VerifyError::UnknownKey)
    );
}

#[test]
fn tampered_payload_fails_the_signature() {
    let key = testutil::key(Alg::EdDSA, "k");
    let token = assertion(&key);
    let mut parts: Vec<&str> = token.split('.').collect();
    let evil = b64::encode(br#"{"iss":"app_2"}"#);
    parts[1] = &evil;
    assert_eq!(
        verify_with_jwks(&parts.join("."), &jwks_of(&[&key])),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn signed_payload_that_is_not_json_is_malformed() {
    let key = testutil::key(Alg::ES256, "k");
    let token = key.sign_jwt("JWT", b"{not json}").unwrap();
    assert!(matches!(
        verify_with_jwks(&token, &jwks_of(&[&key])),
        Err(VerifyError::Malformed(_))
    ));
}

#[test]
fn peek_claims_reads_without_verifying() {
    let key = testutil::key(Alg::ES256, "k");
    let forged = with_header(&assertion(&key), r#"{"alg":"none"}"#);
    assert_eq!(peek_claims(&forged).unwrap()["sub"], "app_1");
    assert!(peek_claims("a.b").is_err());
}
