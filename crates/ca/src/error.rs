//! What can go wrong in the CA. Messages are safe to show to the caller that sent the input
//! (they name the problem, never key material).

/// A CSR, a certificate or a CA key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// The input is not PEM of the expected kind, or not DER at all.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was expected (`CSR`, `certificate`, `private key`).
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The CSR's self-signature does not verify.
    #[error("the CSR signature does not verify")]
    BadSignature,
    /// The CSR's public key is of a kind or size we do not certify.
    #[error("unsupported key: {0} (use ECDSA P-256/P-384, Ed25519, or RSA 2048 to 8192 bits)")]
    UnsupportedKey(String),
    /// The CSR asks for a name the application may not have.
    #[error("forbidden subject alternative name: {0}")]
    ForbiddenName(String),
    /// A requested lifetime, name or identity is out of bounds.
    #[error("{0}")]
    Invalid(String),
    /// The CA certificate and key given for import do not fit together or are not a CA.
    #[error("unusable CA: {0}")]
    BadAuthority(String),
    /// The crypto backend failed while signing.
    #[error("signing failed: {0}")]
    Signing(String),
}

impl CaError {
    pub(crate) fn malformed(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}

impl From<rcgen::Error> for CaError {
    fn from(e: rcgen::Error) -> Self {
        Self::Signing(e.to_string())
    }
}
