//! Verifiers pre-parsed from public keys, each pinned to one algorithm and looked up by `kid`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use aws_lc_rs::signature::ParsedPublicKey;
use serde_json::Value;

use crate::jwk::{self, JwksError};
use crate::jws;
use crate::jwt::{VerifiedJwt, VerifyError};
use crate::material::JwsAlg;

/// Most keys a [`JwksVerifier`] accepts from one JWK Set.
const MAX_REMOTE_KEYS: usize = 100;

/// Verifies our access tokens against a JWK Set fetched from a Gatehouse server (for gateways
/// and the client SDK), with every key parsed once. Each key must have a `kid` and an `alg`;
/// the token's header must name both exactly. **Signatures only**: `exp`, `nbf`, `iss`, `aud`
/// and `typ` are the caller's to check.
#[derive(Clone, Default)]
pub struct JwksVerifier {
    keys: PinnedKeys,
}

/// Anything that checks a compact JWS against published keys: the server's own [`KeyRing`]
/// or a [`JwksVerifier`] built from a fetched JWK Set. **Signatures only.**
///
/// [`KeyRing`]: crate::KeyRing
pub trait JwsVerify: Send + Sync + std::fmt::Debug {
    /// Verifies a token's signature with the key its `kid` names (the header `alg` must be that
    /// key's algorithm).
    fn verify_jws(&self, token: &str) -> Result<VerifiedJwt, VerifyError>;

    /// Whether a key with this `kid` is known; an unknown `kid` is the cue to refetch.
    fn knows_kid(&self, kid: &str) -> bool;
}

/// Parsed public keys by `kid`.
#[derive(Clone, Default)]
pub(crate) struct PinnedKeys(HashMap<String, PinnedKey>);

#[derive(Clone)]
struct PinnedKey {
    alg: JwsAlg,
    key: ParsedPublicKey,
}

// === impl JwksVerifier ===

impl JwksVerifier {
    /// Parses a JWK Set of up to 100 public signing keys, each with `kid` and `alg`.
    pub fn from_jwks(jwks: &Value) -> Result<Self, JwksError> {
        let keys = jwk::keys_array(jwks).ok_or(JwksError::NotAKeySet)?;
        if keys.len() > MAX_REMOTE_KEYS {
            return Err(JwksError::KeyCount {
                found: keys.len(),
                max: MAX_REMOTE_KEYS,
            });
        }
        let mut pinned = PinnedKeys::default();
        for (index, key) in keys.iter().enumerate() {
            let parsed = jwk::parse_public_jwk(key).map_err(|p| p.at(index))?;
            let invalid = |reason| JwksError::InvalidKey { index, reason };
            let kid = parsed.kid.ok_or(invalid("missing \"kid\""))?;
            let alg = parsed.alg.ok_or(invalid("missing \"alg\""))?;
            let key = parsed
                .material
                .verifier(alg)
                .ok_or(invalid("not a valid public key"))?;
            if !pinned.insert(kid.clone(), alg, key) {
                return Err(JwksError::DuplicateKid { index, kid });
            }
        }
        Ok(Self { keys: pinned })
    }

    /// Verifies a token's signature with the key its `kid` names (see the type docs).
    pub fn verify(&self, token: &str) -> Result<VerifiedJwt, VerifyError> {
        self.keys.verify(token)
    }

    /// Whether a key with this `kid` is known; an unknown `kid` is the cue to refetch.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.contains(kid)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.0.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.0.is_empty()
    }
}

impl JwsVerify for JwksVerifier {
    fn verify_jws(&self, token: &str) -> Result<VerifiedJwt, VerifyError> {
        self.verify(token)
    }

    fn knows_kid(&self, kid: &str) -> bool {
        self.contains_kid(kid)
    }
}

impl std::fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.keys.fmt(f)
    }
}

// === impl PinnedKeys ===

impl PinnedKeys {
    /// Whether a key with this `kid` is known.
    pub(crate) fn contains(&self, kid: &str) -> bool {
        self.0.contains_key(kid)
    }

    /// Adds a key; `false` (and no change) if the `kid` is taken.
    pub(crate) fn insert(&mut self, kid: String, alg: JwsAlg, key: ParsedPublicKey) -> bool {
        match self.0.entry(kid) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(PinnedKey { alg, key });
                true
            }
        }
    }

    /// Parses `token`, finds the key named by its `kid`, requires the header `alg` to be that
    /// key's algorithm, and verifies the signature. Claims are decoded only after that.
    pub(crate) fn verify(&self, token: &str) -> Result<VerifiedJwt, VerifyError> {
        let compact = jws::parse(token)?;
        let alg = JwsAlg::parse(&compact.header.alg).ok_or(VerifyError::UnsupportedAlgorithm)?;
        let kid = compact
            .header
            .kid
            .as_deref()
            .ok_or(VerifyError::Malformed("header has no \"kid\""))?;
        let pinned = self.0.get(kid).ok_or(VerifyError::UnknownKey)?;
        if pinned.alg != alg {
            return Err(VerifyError::AlgorithmMismatch);
        }
        pinned
            .key
            .verify_sig(compact.signing_input.as_bytes(), &compact.signature)
            .map_err(|_| VerifyError::BadSignature)?;
        let claims = jws::decode_claims(compact.payload_b64)?;
        Ok(VerifiedJwt {
            header: compact.header,
            claims,
        })
    }
}

impl std::fmt::Debug for PinnedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<(&str, &str)> = self
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.alg.as_str()))
            .collect();
        kids.sort_unstable();
        f.debug_struct("PinnedKeys").field("kids", &kids).finish()
    }
}
