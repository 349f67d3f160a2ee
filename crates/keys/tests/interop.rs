//! Interoperability with an independent JOSE implementation (`jsonwebtoken`):
//! standard clients verify the tokens we mint, and we verify assertions they sign.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::{Alg, Kid};
use gatehouse_keys::{SigningKey, TYP_ACCESS_TOKEN, VerifyError, verify_with_jwks};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

fn claims() -> Value {
    json!({
        "iss": "https://gatehouse.example",
        "sub": "app_1",
        "aud": "https://orders.example",
        "exp": 1_700_000_900,
        "scope": "orders:read",
    })
}

/// Signature-only validation: no clock, no audience, no required claims.
fn signature_only(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    v
}

fn jwt_alg(alg: Alg) -> Algorithm {
    match alg {
        Alg::ES256 => Algorithm::ES256,
        Alg::EdDSA => Algorithm::EdDSA,
        Alg::PS256 => Algorithm::PS256,
        Alg::RS256 => Algorithm::RS256,
    }
}

#[test]
fn jsonwebtoken_verifies_our_tokens_from_our_public_jwk_for_every_alg() {
    for alg in Alg::ALL {
        let (key, _) = SigningKey::generate(alg, Kid::parse("k1").unwrap()).unwrap();
        let token = key
            .sign_jwt(TYP_ACCESS_TOKEN, &serde_json::to_vec(&claims()).unwrap())
            .unwrap();
        let jwk: Jwk = serde_json::from_value(key.public_jwk()).unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        let data = jsonwebtoken::decode::<Value>(&token, &decoding, &signature_only(jwt_alg(alg)))
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(data.claims, claims());
        assert_eq!(data.header.kid.as_deref(), Some("k1"));
        assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn assertion_signed_by_jsonwebtoken_with_an_aws_lc_ec_key_verifies() {
    let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref()).unwrap();
    let point = pair.public_key().as_ref();
    let jwk = json!({ "kty": "EC", "crv": "P-256", "kid": "client-key", "use": "sig",
                      "x": b64(&point[1..33]), "y": b64(&point[33..]) });
    let jwks = json!({ "keys": [jwk] });
    gatehouse_keys::check_public_jwks(&jwks).unwrap();

    let encoding = EncodingKey::from_ec_der(der.as_ref());
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("client-key".into());
    let with_kid = jsonwebtoken::encode(&header, &claims(), &encoding).unwrap();
    assert_eq!(
        verify_with_jwks(&with_kid, &jwks).unwrap().claims["sub"],
        "app_1"
    );

    let without_kid =
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims(), &encoding).unwrap();
    let verified = verify_with_jwks(&without_kid, &jwks).unwrap();
    assert_eq!(verified.header.kid, None);

    let hmac = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"k"),
    )
    .unwrap();
    assert_eq!(
        verify_with_jwks(&hmac, &jwks),
        Err(VerifyError::UnsupportedAlgorithm)
    );
}

#[test]
fn assertion_signed_by_jsonwebtoken_with_an_ed25519_key_verifies() {
    let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(der.as_ref()).unwrap();
    let jwks = json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref()) }] });
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims(),
        &EncodingKey::from_ed_der(der.as_ref()),
    )
    .unwrap();
    assert_eq!(
        verify_with_jwks(&token, &jwks).unwrap().claims,
        *claims().as_object().unwrap()
    );
}
