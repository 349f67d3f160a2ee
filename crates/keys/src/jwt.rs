//! Verifying compact JWS tokens: our access tokens (through [`crate::KeyRing::verify`] or
//! [`crate::JwksVerifier`]) and RFC 7523 client assertions signed with a client's registered
//! keys ([`verify_with_jwks`]).
//!
//! # Signatures only
//!
//! **Nothing in this module checks `exp`, `nbf`, `iat`, `iss`, `aud`, `jti` or `typ`.** A
//! [`VerifiedJwt`] means "this key signed these bytes", not "this token is valid now". Callers
//! check the claims with their injected clock and their own expectations.
//!
//! The algorithm is always pinned to the key: the header's `alg` must be one the key can
//! verify, and equal to the key's registered `alg` when it has one. `none` and `HS*` are never
//! accepted.

use serde_json::Value;

use crate::jwk::{self, MAX_JWKS_KEYS};
use crate::jws;
use crate::material::JwsAlg;

/// A token whose signature checked out. **Its claims have not been validated** (see the
/// module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedJwt {
    /// The protected header.
    pub header: JwsHeader,
    /// The payload, a JSON object.
    pub claims: serde_json::Map<String, Value>,
}

/// The JWS protected header members Gatehouse reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwsHeader {
    /// `alg` as sent.
    pub alg: String,
    /// `kid`, if sent.
    pub kid: Option<String>,
    /// `typ`, if sent (`at+jwt` for our access tokens; callers check it).
    pub typ: Option<String>,
}

/// Why a token did not verify. Safe to map to `invalid_token` / `invalid_client` without
/// detail; the variants are for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The header `alg` is not the algorithm of the key it names.
    #[error("token algorithm does not match its key")]
    AlgorithmMismatch,
    /// The signature does not verify.
    #[error("token signature is invalid")]
    BadSignature,
    /// Not a well-formed compact JWS.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Longer than 16 KiB.
    #[error("token is larger than 16 KiB")]
    TooLarge,
    /// No published key has the token's `kid` (or, without `kid`, no key fits its `alg`).
    #[error("token is signed by an unknown key")]
    UnknownKey,
    /// The header `alg` is `none`, an HMAC algorithm, or one we do not support.
    #[error("token algorithm is not supported")]
    UnsupportedAlgorithm,
}

/// Verifies a client assertion (RFC 7523) against the client's registered JWK Set.
///
/// With a `kid` in the header only keys with that `kid` are tried; without one, every key
/// whose type fits the header `alg` is tried. Keys that are malformed, have a `use` other than
/// `sig`, or an `alg` member different from the header's are skipped. Accepts ES256, ES384,
/// EdDSA, RS256/384/512 and PS256/384/512. **Checks the signature only: no `exp`, `nbf`,
/// `iss`, `sub`, `aud` or `jti` checks.**
pub fn verify_with_jwks(token: &str, jwks: &Value) -> Result<VerifiedJwt, VerifyError> {
    let compact = jws::parse(token)?;
    let alg = JwsAlg::parse(&compact.header.alg).ok_or(VerifyError::UnsupportedAlgorithm)?;
    let keys = jwk::keys_array(jwks).ok_or(VerifyError::UnknownKey)?;
    let wanted_kid = compact.header.kid.as_deref();
    let mut tried = 0usize;
    let mut wrong_alg = false;
    for key in keys {
        if wanted_kid.is_some() && key.get("kid").and_then(Value::as_str) != wanted_kid {
            continue;
        }
        let Ok(parsed) = jwk::parse_public_jwk(key) else {
            continue;
        };
        if parsed.alg.is_some_and(|a| a != alg) || !parsed.material.supports(alg) {
            wrong_alg = true;
            continue;
        }
        let Some(verifier) = parsed.material.verifier(alg) else {
            continue;
        };
        tried += 1;
        if verifier
            .verify_sig(compact.signing_input.as_bytes(), &compact.signature)
            .is_ok()
        {
            let claims = jws::decode_claims(compact.payload_b64)?;
            return Ok(VerifiedJwt {
                header: compact.header,
                claims,
            });
        }
        if tried >= MAX_JWKS_KEYS {
            break;
        }
    }
    Err(if tried > 0 {
        VerifyError::BadSignature
    } else if wrong_alg && wanted_kid.is_some() {
        VerifyError::AlgorithmMismatch
    } else {
        VerifyError::UnknownKey
    })
}

/// Decodes a token's payload **without verifying its signature**. Only for choosing which
/// client's keys to verify an assertion with (reading `iss`/`sub`); never trust the result
/// for anything else.
pub fn peek_claims(token: &str) -> Result<serde_json::Map<String, Value>, VerifyError> {
    let compact = jws::parse(token)?;
    jws::decode_claims(compact.payload_b64)
}

#[cfg(test)]
mod tests;
