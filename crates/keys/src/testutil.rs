//! Shared test fixtures. RSA key generation is slow, so each algorithm's PKCS#8 document is
//! generated once per test binary and reused under different `kid`s.

use std::sync::OnceLock;

use gatehouse_core::{Alg, KeyRecord, KeyState, Kid, UnixTime};
use zeroize::Zeroizing;

use crate::{MasterKey, SigningKey};

/// A cached PKCS#8 document for `alg` (RS256 and PS256 share one RSA key).
pub(crate) fn der(alg: Alg) -> &'static [u8] {
    static EC: OnceLock<Zeroizing<Vec<u8>>> = OnceLock::new();
    static ED: OnceLock<Zeroizing<Vec<u8>>> = OnceLock::new();
    static RSA: OnceLock<Zeroizing<Vec<u8>>> = OnceLock::new();
    let cell = match alg {
        Alg::ES256 => &EC,
        Alg::EdDSA => &ED,
        Alg::PS256 | Alg::RS256 => &RSA,
    };
    cell.get_or_init(|| SigningKey::generate(alg, kid("gen")).unwrap().1)
}

pub(crate) fn kid(s: &str) -> Kid {
    Kid::parse(s).unwrap()
}

/// A signing key from the cached document.
pub(crate) fn key(alg: Alg, kid_str: &str) -> SigningKey {
    SigningKey::from_pkcs8(alg, kid(kid_str), der(alg)).unwrap()
}

/// A fresh (non-cached) ES256 or EdDSA key, distinct from every other.
pub(crate) fn fresh(alg: Alg, kid_str: &str) -> SigningKey {
    SigningKey::generate(alg, kid(kid_str)).unwrap().0
}

/// A stored record for a fresh key (ES256/EdDSA) or the cached RSA key.
pub(crate) fn record(
    master: &MasterKey,
    alg: Alg,
    kid_str: &str,
    state: KeyState,
    created: i64,
) -> (KeyRecord, SigningKey) {
    let (key, der) = match alg {
        Alg::ES256 | Alg::EdDSA => SigningKey::generate(alg, kid(kid_str)).unwrap(),
        Alg::PS256 | Alg::RS256 => (key(alg, kid_str), Zeroizing::new(der(alg).to_vec())),
    };
    let record = KeyRecord {
        kid: kid(kid_str),
        alg,
        state,
        private_key_enc: master.encrypt(&der, kid_str.as_bytes()).unwrap(),
        public_jwk: key.public_jwk(),
        created_at: UnixTime(created),
        activated_at: (state != KeyState::Next).then_some(UnixTime(created)),
        retired_at: None,
        publish_until: None,
    };
    (record, key)
}

/// Claims of a typical access token (~300 bytes).
pub(crate) fn claims() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "iss": "https://gatehouse.example",
        "sub": "app_5xq3Jt0mYwR2cVb7nLd9Ke",
        "aud": "https://orders.example",
        "client_id": "app_5xq3Jt0mYwR2cVb7nLd9Ke",
        "scope": "orders:read orders:write",
        "iat": 1_700_000_000,
        "nbf": 1_700_000_000,
        "exp": 1_700_000_900,
        "jti": "jti_Qm8v2LrTz0aXcYb4NpWe7s",
        "tenant": "acme",
    }))
    .unwrap()
}

/// Replaces a token's header with `header_json`, keeping payload and signature.
pub(crate) fn with_header(token: &str, header_json: &str) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!("{}.{rest}", crate::b64::encode(header_json.as_bytes()))
}
