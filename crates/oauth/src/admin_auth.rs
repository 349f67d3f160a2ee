//! Admin bearer tokens: only SHA-256 digests are kept, compared in constant time.

use std::sync::Arc;

use arc_swap::ArcSwap;
use gatehouse_keys::secret;

/// The admin token digests currently valid.
#[derive(Debug, Default)]
pub struct AdminTokens(ArcSwap<Vec<[u8; 32]>>);

impl AdminTokens {
    /// From stored digests.
    pub fn new(digests: Vec<[u8; 32]>) -> Self {
        Self(ArcSwap::from_pointee(digests))
    }

    /// Replaces the digests (after a rotation).
    pub fn replace(&self, digests: Vec<[u8; 32]>) {
        self.0.store(Arc::new(digests));
    }

    /// Whether `token` is a valid admin token.
    pub fn verify(&self, token: &str) -> bool {
        let d = secret::digest(token);
        let digests = self.0.load();
        // Compare against every digest without early exit.
        digests
            .iter()
            .fold(false, |ok, known| secret::digest_eq(&d, known) | ok)
    }

    /// Whether an `Authorization: Bearer …` header value carries a valid admin token.
    pub fn verify_bearer_header(&self, value: &str) -> bool {
        bearer_token(value).is_some_and(|t| self.verify(t))
    }
}

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_registered_token_verifies() {
        let t = AdminTokens::new(vec![secret::digest("gatehouse_adm_x")]);
        assert!(t.verify("gatehouse_adm_x"));
        assert!(!t.verify("gatehouse_adm_y"));
        assert!(t.verify_bearer_header("Bearer gatehouse_adm_x"));
        assert!(t.verify_bearer_header("bearer gatehouse_adm_x"));
        assert!(!t.verify_bearer_header("Basic gatehouse_adm_x"));
        assert!(!t.verify_bearer_header("Bearer "));
    }
}
