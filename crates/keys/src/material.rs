//! Public key material and the JWS algorithms it can verify, independent of JSON.
//!
//! Every verifier built here is pinned to one algorithm: a P-256 key verifies ES256 only, an
//! Ed25519 key EdDSA only, an RSA key the one RS*/PS* algorithm asked for. `none` and HMAC
//! algorithms have no variant, so they cannot be selected.

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use gatehouse_core::Alg;

use crate::b64;

/// Smallest RSA modulus we accept, in bits.
pub(crate) const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus we accept, in bits (aws-lc's limit; bounds verification cost).
pub(crate) const RSA_MAX_BITS: usize = 8192;

/// A JWS signature algorithm we verify (RFC 7518 §3.1, RFC 8037).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwsAlg {
    Es256,
    Es384,
    EdDsa,
    Ps256,
    Ps384,
    Ps512,
    Rs256,
    Rs384,
    Rs512,
}

/// An elliptic curve for ECDSA keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

/// A public key, validated for shape but not yet parsed by the crypto backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKeyMaterial {
    /// Uncompressed SEC1 point `0x04 ‖ x ‖ y`.
    Ec { curve: Curve, point: Vec<u8> },
    /// The 32-byte Ed25519 public key.
    Ed25519 { x: Vec<u8> },
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

// === impl JwsAlg ===

impl JwsAlg {
    /// Parses a JOSE `alg` name; `None` for everything we refuse (`none`, `HS*`, unknown).
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            "EdDSA" => Self::EdDsa,
            "PS256" => Self::Ps256,
            "PS384" => Self::Ps384,
            "PS512" => Self::Ps512,
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            _ => return None,
        })
    }

    /// The JOSE name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
        }
    }

    fn rsa_params(self) -> Option<&'static RsaParameters> {
        Some(match self {
            Self::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
            Self::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
            Self::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
            Self::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Self::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Self::Es256 | Self::Es384 | Self::EdDsa => return None,
        })
    }
}

impl From<Alg> for JwsAlg {
    fn from(alg: Alg) -> Self {
        match alg {
            Alg::ES256 => Self::Es256,
            Alg::EdDSA => Self::EdDsa,
            Alg::PS256 => Self::Ps256,
            Alg::RS256 => Self::Rs256,
        }
    }
}

// === impl Curve ===

impl Curve {
    /// Parses a JWK `crv` for EC keys.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "P-256" => Some(Self::P256),
            "P-384" => Some(Self::P384),
            _ => None,
        }
    }

    /// Bytes per coordinate.
    pub(crate) fn coordinate_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
        }
    }
}

// === impl PublicKeyMaterial ===

impl PublicKeyMaterial {
    /// Whether this key type can verify `alg`.
    pub(crate) fn supports(&self, alg: JwsAlg) -> bool {
        match self {
            Self::Ec {
                curve: Curve::P256, ..
            } => alg == JwsAlg::Es256,
            Self::Ec {
                curve: Curve::P384, ..
            } => alg == JwsAlg::Es384,
            Self::Ed25519 { .. } => alg == JwsAlg::EdDsa,
            Self::Rsa { .. } => alg.rsa_params().is_some(),
        }
    }

    /// An algorithm this key can verify, used to validate the key itself.
    pub(crate) fn default_alg(&self) -> JwsAlg {
        match self {
            Self::Ec {
                curve: Curve::P256, ..
            } => JwsAlg::Es256,
            Self::Ec {
                curve: Curve::P384, ..
            } => JwsAlg::Es384,
            Self::Ed25519 { .. } => JwsAlg::EdDsa,
            Self::Rsa { .. } => JwsAlg::Rs256,
        }
    }

    /// A verifier for exactly `alg`; `None` if the key cannot do `alg` or is not a valid key
    /// (point off the curve, bad RSA parameters).
    pub(crate) fn verifier(&self, alg: JwsAlg) -> Option<ParsedPublicKey> {
        if !self.supports(alg) {
            return None;
        }
        match self {
            Self::Ec {
                curve: Curve::P256,
                point,
            } => ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).ok(),
            Self::Ec {
                curve: Curve::P384,
                point,
            } => ParsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point).ok(),
            Self::Ed25519 { x } => ParsedPublicKey::new(&signature::ED25519, x).ok(),
            Self::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .to_parsed_public_key(alg.rsa_params()?)
                .ok(),
        }
    }

    /// The RFC 7517 public JWK, with `kid`, `alg` and `use: "sig"`. Never any private member.
    pub(crate) fn to_jwk(&self, kid: &str, alg: JwsAlg) -> serde_json::Value {
        let mut jwk = serde_json::Map::new();
        let mut put = |k: &str, v: String| {
            jwk.insert(k.to_owned(), serde_json::Value::String(v));
        };
        match self {
            Self::Ec { curve, point } => {
                let coords = point.get(1..).unwrap_or_default();
                let (x, y) = coords.split_at(coords.len() / 2);
                put("kty", "EC".to_owned());
                put("crv", curve.name().to_owned());
                put("x", b64::encode(x));
                put("y", b64::encode(y));
            }
            Self::Ed25519 { x } => {
                put("kty", "OKP".to_owned());
                put("crv", "Ed25519".to_owned());
                put("x", b64::encode(x));
            }
            Self::Rsa { n, e } => {
                put("kty", "RSA".to_owned());
                put("n", b64::encode(n));
                put("e", b64::encode(e));
            }
        }
        put("kid", kid.to_owned());
        put("alg", alg.as_str().to_owned());
        put("use", "sig".to_owned());
        serde_json::Value::Object(jwk)
    }
}

/// Strips leading zero bytes from a big-endian integer.
pub(crate) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

/// Bit length of a big-endian integer without leading zero bytes.
pub(crate) fn bit_len(be: &[u8]) -> usize {
    match be.first() {
        None => 0,
        Some(top) => (be.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_hmac_algorithms_do_not_parse() {
        for refused in [
            "none", "None", "HS256", "HS384", "HS512", "", "es256", "RS1",
        ] {
            assert_eq!(JwsAlg::parse(refused), None, "{refused}");
        }
        for alg in [
            "ES256", "ES384", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
        ] {
            assert_eq!(JwsAlg::parse(alg).map(JwsAlg::as_str), Some(alg));
        }
    }

    #[test]
    fn ec_keys_are_pinned_to_their_curve_algorithm() {
        let p256 = PublicKeyMaterial::Ec {
            curve: Curve::P256,
            point: vec![4; 65],
        };
        assert!(p256.supports(JwsAlg::Es256));
        assert!(!p256.supports(JwsAlg::Es384));
        assert!(!p256.supports(JwsAlg::Rs256));
        let rsa = PublicKeyMaterial::Rsa {
            n: vec![1; 256],
            e: vec![1, 0, 1],
        };
        assert!(rsa.supports(JwsAlg::Ps512));
        assert!(!rsa.supports(JwsAlg::EdDsa));
    }

    #[test]
    fn point_off_the_curve_yields_no_verifier() {
        let bogus = PublicKeyMaterial::Ec {
            curve: Curve::P256,
            point: vec![4; 65],
        };
        assert!(bogus.verifier(JwsAlg::Es256).is_none());
    }

    #[test]
    fn bit_length_ignores_leading_zeros() {
        assert_eq!(bit_len(strip_leading_zeros(&[0, 0, 1, 0])), 9);
        assert_eq!(bit_len(&[0x80; 256]), 2048);
        assert_eq!(bit_len(&[]), 0);
    }
}
