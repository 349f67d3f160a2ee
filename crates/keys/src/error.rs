//! Errors from creating, loading and using signing keys.

use gatehouse_core::{Alg, Kid};

use crate::master::MasterKeyError;

/// A signing-key problem. Messages name key ids and algorithms, never key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A stored key record is inconsistent (bad public JWK, duplicate kid, key mismatch).
    #[error("key {kid}: {reason}")]
    BadRecord {
        /// The record's key id.
        kid: Kid,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The crypto backend failed to generate a key or a signature.
    #[error("crypto backend failure: {0}")]
    Crypto(&'static str),
    /// A stored private key could not be decrypted (wrong master key or altered record).
    #[error("key {kid}: cannot decrypt the private key: {source}")]
    Decrypt {
        /// The record's key id.
        kid: Kid,
        /// Why decryption failed.
        source: MasterKeyError,
    },
    /// Encrypting a new private key under the master key failed.
    #[error("cannot encrypt the private key: {0}")]
    Encrypt(#[source] MasterKeyError),
    /// The claims given to `sign_jwt` are not a serialized JSON object.
    #[error("claims must be a serialized JSON object")]
    InvalidClaims,
    /// A PKCS#8 document is not a usable private key for the algorithm.
    #[error("{alg} private key rejected: {reason}")]
    InvalidPrivateKey {
        /// The algorithm the key was loaded for.
        alg: Alg,
        /// Why it was rejected.
        reason: &'static str,
    },
}
