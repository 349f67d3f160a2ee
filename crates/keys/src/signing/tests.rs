use gatehouse_core::Alg;
use serde_json::Value;

use super::*;
use crate::testutil::{self, kid};

fn decode_segment(s: &str) -> Value {
    serde_json::from_slice(&b64::decode(s).unwrap()).unwrap()
}

#[test]
fn minted_token_has_exact_header_and_verifies_for_every_alg() {
    for alg in Alg::ALL {
        let key = testutil::key(alg, "k1");
        let claims = testutil::claims();
        let token = key.sign_jwt(TYP_ACCESS_TOKEN, &claims).unwrap();
        let mut parts = token.split('.');
        let (h, p, s) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert!(parts.next().is_none());
        let header = String::from_utf8(b64::decode(h).unwrap()).unwrap();
        assert_eq!(
            header,
            format!(r#"{{"alg":"{}","typ":"at+jwt","kid":"k1"}}"#, alg.as_str())
        );
        assert_eq!(b64::decode(p).unwrap(), claims);
        let sig = b64::decode(s).unwrap();
        let verifier = key.material().verifier(JwsAlg::from(alg)).unwrap();
        verifier
            .verify_sig(format!("{h}.{p}").as_bytes(), &sig)
            .unwrap();
    }
}

#[test]
fn es256_signature_is_fixed_64_bytes() {
    let token = testutil::key(Alg::ES256, "k")
        .sign_jwt("JWT", b"{}")
        .unwrap();
    let sig = b64::decode(token.rsplit('.').next().unwrap()).unwrap();
    assert_eq!(sig.len(), 64);
}

#[test]
fn uncached_typ_is_encoded_and_escaped() {
    let key = testutil::key(Alg::EdDSA, "k");
    let token = key.sign_jwt("client-authentication+jwt", b"{}").unwrap();
    let header = decode_segment(token.split('.').next().unwrap());
    assert_eq!(header["typ"], "client-authentication+jwt");
    let odd = key.sign_jwt("a\"b", b"{}").unwrap();
    assert_eq!(
        decode_segment(odd.split('.').next().unwrap())["typ"],
        "a\"b"
    );
}

#[test]
fn claims_that_are_not_an_object_are_refused() {
    let key = testutil::key(Alg::ES256, "k");
    for bad in [&b""[..], b"[]", b"\"x\"", b" {}"] {
        assert!(matches!(
            key.sign_jwt("JWT", bad),
            Err(KeyError::InvalidClaims)
        ));
    }
}

#[test]
fn public_jwks_have_standard_members_and_nothing_private() {
    let expected_members: [(Alg, &[&str]); 4] = [
        (Alg::ES256, &["alg", "crv", "kid", "kty", "use", "x", "y"]),
        (Alg::EdDSA, &["alg", "crv", "kid", "kty", "use", "x"]),
        (Alg::PS256, &["alg", "e", "kid", "kty", "n", "use"]),
        (Alg::RS256, &["alg", "e", "kid", "kty", "n", "use"]),
    ];
    for (alg, members) in expected_members {
        let jwk = testutil::key(alg, "k9").public_jwk();
        let mut names: Vec<&str> = jwk
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        assert_eq!(names, members, "{alg}");
        assert_eq!(jwk["alg"], alg.as_str());
        assert_eq!(jwk["kid"], "k9");
        assert_eq!(jwk["use"], "sig");
    }
    let ec = testutil::key(Alg::ES256, "k").public_jwk();
    assert_eq!(
        (ec["kty"].as_str(), ec["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert_eq!(b64::decode(ec["x"].as_str().unwrap()).unwrap().len(), 32);
    let ed = testutil::key(Alg::EdDSA, "k").public_jwk();
    assert_eq!(
        (ed["kty"].as_str(), ed["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    let rsa = testutil::key(Alg::RS256, "k").public_jwk();
    assert_eq!(rsa["e"], "AQAB");
    assert_eq!(b64::decode(rsa["n"].as_str().unwrap()).unwrap().len(), 256);
}

#[test]
fn pkcs8_round_trip_keeps_the_public_key() {
    for alg in [Alg::ES256, Alg::EdDSA] {
        let (key, der) = SigningKey::generate(alg, kid("a")).unwrap();
        let again = SigningKey::from_pkcs8(alg, kid("a"), &der).unwrap();
        assert_eq!(again.public_jwk(), key.public_jwk());
        assert_eq!((again.kid().as_str(), again.alg()), ("a", alg));
    }
}

#[test]
fn pkcs8_of_another_key_type_is_rejected() {
    let ec_der = testutil::der(Alg::ES256);
    for alg in [Alg::EdDSA, Alg::RS256] {
        assert!(matches!(
            SigningKey::from_pkcs8(alg, kid("a"), ec_der),
            Err(KeyError::InvalidPrivateKey { .. })
        ));
    }
    assert!(SigningKey::from_pkcs8(Alg::ES256, kid("a"), b"garbage").is_err());
}

#[test]
fn ps256_and_rs256_keys_sign_differently_from_the_same_rsa_key() {
    let ps = testutil::key(Alg::PS256, "k")
        .sign_jwt("JWT", b"{}")
        .unwrap();
    let rs = testutil::key(Alg::RS256, "k")
        .sign_jwt("JWT", b"{}")
        .unwrap();
    let rs_again = testutil::key(Alg::RS256, "k")
        .sign_jwt("JWT", b"{}")
        .unwrap();
    assert_eq!(rs, rs_again, "PKCS#1 v1.5 is deterministic");
    assert_ne!(ps.split('.').nth(2), rs.split('.').nth(2));
}

#[test]
fn debug_output_shows_kid_and_alg_only() {
    let dbg = format!("{:?}", testutil::key(Alg::ES256, "k1"));
    assert_eq!(dbg, r#"SigningKey { kid: Kid("k1"), alg: ES256, .. }"#);
}
