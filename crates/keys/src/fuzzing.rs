//! Entry points for `fuzz/` targets. Each must return normally on every input.

use gatehouse_core::{Alg, KeyRecord, KeyState, Kid, UnixTime};

use crate::{KeyRing, MasterKey};

/// A valid P-256 public key (the RFC 7515 appendix A.3 example key).
const EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
/// A fixed JWK Set used when the input does not carry one.
const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"a","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

/// Input: `jwks-json "\n" token`, or just a token (checked against a fixed JWK Set).
pub fn verify_with_jwks(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (jwks, token) = text.split_once('\n').unwrap_or((JWKS, &text));
    let jwks = serde_json::from_str(jwks).unwrap_or(serde_json::Value::Null);
    let _ = crate::check_public_jwks(&jwks);
    let _ = crate::verify_with_jwks(token, &jwks);
    let _ = crate::peek_claims(token);
}

/// Input: a token, verified by a ring holding one published P-256 key (`kid` "a").
pub fn ring_verify(data: &[u8]) {
    let Ok(kid) = Kid::parse("a") else { return };
    let record = KeyRecord {
        kid,
        alg: Alg::ES256,
        state: KeyState::Next,
        private_key_enc: Vec::new(),
        public_jwk: serde_json::json!({ "kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y }),
        created_at: UnixTime(0),
        activated_at: None,
        retired_at: None,
        publish_until: None,
    };
    let Ok(ring) = KeyRing::from_records(&[record], &MasterKey::generate(), UnixTime(0)) else {
        return;
    };
    let _ = ring.verify(&String::from_utf8_lossy(data));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_survive_garbage_and_near_miss_tokens() {
        let header = crate::b64::encode(br#"{"alg":"ES256","kid":"a"}"#);
        let near_miss = format!("{header}.e30.AAAA");
        let inputs: [&[u8]; 7] = [
            b"",
            b"\xff\xfe",
            b"a.b.c",
            near_miss.as_bytes(),
            b"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"\",\"e\":\"\"}]}\na.b.c",
            b"{\"keys\":7}\n...",
            b"\n\n\n",
        ];
        for input in inputs {
            verify_with_jwks(input);
            ring_verify(input);
        }
    }

    #[test]
    fn fixed_keys_are_valid() {
        let jwks: serde_json::Value = serde_json::from_str(JWKS).unwrap();
        assert_eq!(crate::check_public_jwks(&jwks), Ok(()));
    }
}
