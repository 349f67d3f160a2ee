//! Gatehouse key material: everything that touches a private key, a secret or a signature.
//!
//! ```text
//!  master key file ──▶ MasterKey ──decrypt──▶ KeyRecord.private_key_enc ──▶ SigningKey
//!                                                                           │ sign_jwt
//!  KeyRecord[] ──KeyRing::from_records(now)──▶ KeyRing { signers, published verifiers, JWKS }
//!                                                 │ verify(token)      │ jwks_bytes()
//!  rotation::plan(records, now) ──▶ KeyAction[]  (applied by the caller, then a new ring)
//! ```
//!
//! - [`secret`]: client-secret / API-key / admin-token formats (prefix, base62, CRC32 check
//!   digits), SHA-256 digests and constant-time comparison.
//! - [`master`]: the AES-256-GCM master key that encrypts signing keys at rest.
//! - [`SigningKey`] / [`KeyRing`]: pre-parsed signing keys (ES256, EdDSA, RS256, PS256) and an
//!   immutable snapshot of the keys in force, swapped whole by the server.
//! - [`jwt`]: compact JWS verification against a ring or a client's registered JWK Set.
//! - [`rotation`]: pure planning of key rotation from stored records and an explicit `now`.
//!
//! What this crate never does: it never touches the database or the network, never reads the
//! system clock (every time is an argument), never logs, and never puts key material in a
//! `Debug` or `Display` output. Verification never accepts `alg: none` or HMAC algorithms, and
//! always pins the algorithm to the key. **Verification checks signatures only**: `exp`, `nbf`,
//! `iss` and `aud` are the caller's job, with its injected clock.
#![forbid(unsafe_code)]

mod b64;
mod error;
pub mod jwk;
mod jws;
pub mod jwt;
pub mod master;
mod material;
mod record;
mod ring;
mod rng;
pub mod rotation;
pub mod secret;
mod signing;
#[cfg(test)]
mod testutil;
mod verifier;

#[doc(hidden)]
pub mod fuzzing;

pub use error::KeyError;
pub use jwk::{JwksError, check_public_jwks};
pub use jwt::{JwsHeader, VerifiedJwt, VerifyError, peek_claims, verify_with_jwks};
pub use master::{MasterKey, MasterKeyError};
pub use record::{is_published, new_key_record};
pub use ring::KeyRing;
pub use rotation::{KeyAction, RotationPolicy};
pub use secret::{Secret, SecretFormatError, SecretKind};
pub use signing::{SigningKey, TYP_ACCESS_TOKEN};
pub use verifier::{JwksVerifier, JwsVerify};
