//! Signing keys: parsed once, held in memory, used for every token.
//!
//! The token endpoint signs on its hot path, so a [`SigningKey`] keeps the aws-lc key pair
//! already parsed and the base64url protected header already encoded for the common `typ`
//! values; minting a token is one base64 pass over the claims and one signature.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, RsaSignatureEncoding,
};
use gatehouse_core::{Alg, Kid};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::KeyError;
use crate::b64;
use crate::material::{Curve, JwsAlg, PublicKeyMaterial, RSA_MIN_BITS};

/// The `typ` of OAuth 2.0 JWT access tokens (RFC 9068 §2.1).
pub const TYP_ACCESS_TOKEN: &str = "at+jwt";

/// `typ` values whose encoded protected header is precomputed.
const CACHED_TYPS: [&str; 2] = [TYP_ACCESS_TOKEN, "JWT"];

/// A private signing key with its `kid` and algorithm, ready to sign. `Debug` shows only the
/// `kid` and algorithm. Share it behind an `Arc`.
pub struct SigningKey {
    kid: Kid,
    alg: Alg,
    pair: Pair,
    material: PublicKeyMaterial,
    public_jwk: serde_json::Value,
    /// base64url protected headers for [`CACHED_TYPS`], in the same order.
    headers: [String; CACHED_TYPS.len()],
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair, &'static RsaSignatureEncoding),
}

/// The JWS protected header, members in the order we emit them.
#[derive(Serialize)]
struct ProtectedHeader<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

// === impl SigningKey ===

impl SigningKey {
    /// Generates a new key (ES256: P-256, EdDSA: Ed25519, RS256/PS256: RSA-2048) and returns
    /// it with its PKCS#8 DER encoding, to be encrypted for storage.
    pub fn generate(alg: Alg, kid: Kid) -> Result<(SigningKey, Zeroizing<Vec<u8>>), KeyError> {
        let failed = |_| KeyError::Crypto("key generation failed");
        let der = match alg {
            Alg::ES256 => EcdsaKeyPair::generate_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &SystemRandom::new(),
            )
            .map(|doc| Zeroizing::new(doc.as_ref().to_vec()))
            .map_err(failed)?,
            Alg::EdDSA => Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map(|doc| Zeroizing::new(doc.as_ref().to_vec()))
                .map_err(failed)?,
            Alg::PS256 | Alg::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|pair| pair.as_der())
                .map(|der| Zeroizing::new(der.as_ref().to_vec()))
                .map_err(failed)?,
        };
        let key = Self::from_pkcs8(alg, kid, &der)?;
        Ok((key, der))
    }

    /// Loads a PKCS#8 DER private key for `alg`. RSA keys must be at least 2048 bits.
    pub fn from_pkcs8(alg: Alg, kid: Kid, der: &[u8]) -> Result<SigningKey, KeyError> {
        let (pair, material) = parse_pair(alg, der)?;
        let public_jwk = material.to_jwk(kid.as_str(), JwsAlg::from(alg));
        let [at, jwt] = CACHED_TYPS;
        let headers = [
            encode_header(alg, at, &kid)?,
            encode_header(alg, jwt, &kid)?,
        ];
        Ok(SigningKey {
            kid,
            alg,
            pair,
            material,
            public_jwk,
            headers,
        })
    }

    /// The key id, sent as the JWS `kid` header.
    pub fn kid(&self) -> &Kid {
        &self.kid
    }

    /// The signing algorithm.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The public key as a JWK (RFC 7517/7518/8037) with `kid`, `alg` and `use: "sig"`.
    pub fn public_jwk(&self) -> serde_json::Value {
        self.public_jwk.clone()
    }

    /// Signs a compact JWS whose protected header is exactly
    /// `{"alg":…,"typ":…,"kid":…}` and whose payload is `claims_json`, which must be a
    /// serialized JSON object (only its outer braces are checked; callers serialize it).
    /// ES256 signatures use the fixed 64-byte `r ‖ s` form (RFC 7518 §3.4).
    pub fn sign_jwt(&self, typ: &str, claims_json: &[u8]) -> Result<String, KeyError> {
        if claims_json.first() != Some(&b'{') || claims_json.last() != Some(&b'}') {
            return Err(KeyError::InvalidClaims);
        }
        let uncached;
        let header = match CACHED_TYPS
            .iter()
            .position(|t| *t == typ)
            .and_then(|i| self.headers.get(i))
        {
            Some(h) => h.as_str(),
            None => {
                uncached = encode_header(self.alg, typ, &self.kid)?;
                uncached.as_str()
            }
        };
        let capacity = header.len()
            + 2
            + b64::encoded_len(claims_json.len())
            + b64::encoded_len(self.signature_len());
        let mut out = String::with_capacity(capacity);
        out.push_str(header);
        out.push('.');
        b64::encode_into(claims_json, &mut out);
        self.sign_into(&mut out)?;
        Ok(out)
    }

    /// The public key, for the ring's consistency check against the stored JWK.
    pub(crate) fn material(&self) -> &PublicKeyMaterial {
        &self.material
    }

    /// Signs the signing input in `out` and appends `.` and the base64url signature.
    fn sign_into(&self, out: &mut String) -> Result<(), KeyError> {
        let failed = |_| KeyError::Crypto("signing failed");
        match &self.pair {
            Pair::Ecdsa(pair) => {
                let sig = pair
                    .sign(&SystemRandom::new(), out.as_bytes())
                    .map_err(failed)?;
                out.push('.');
                b64::encode_into(sig.as_ref(), out);
            }
            Pair::Ed25519(pair) => {
                let sig = pair.sign(out.as_bytes());
                out.push('.');
                b64::encode_into(sig.as_ref(), out);
            }
            Pair::Rsa(pair, encoding) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(*encoding, &SystemRandom::new(), out.as_bytes(), &mut sig)
                    .map_err(failed)?;
                out.push('.');
                b64::encode_into(&sig, out);
            }
        }
        Ok(())
    }

    fn signature_len(&self) -> usize {
        match &self.pair {
            Pair::Ecdsa(_) | Pair::Ed25519(_) => 64,
            Pair::Rsa(pair, _) => pair.public_modulus_len(),
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Parses a PKCS#8 document into the key pair for `alg` and its public key.
fn parse_pair(alg: Alg, der: &[u8]) -> Result<(Pair, PublicKeyMaterial), KeyError> {
    let rejected = |e: aws_lc_rs::error::KeyRejected| KeyError::InvalidPrivateKey {
        alg,
        reason: e.description_(),
    };
    Ok(match alg {
        Alg::ES256 => {
            let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map_err(rejected)?;
            let point = pair.public_key().as_ref().to_vec();
            (
                Pair::Ecdsa(pair),
                PublicKeyMaterial::Ec {
                    curve: Curve::P256,
                    point,
                },
            )
        }
        Alg::EdDSA => {
            let pair = Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?;
            let x = pair.public_key().as_ref().to_vec();
            (Pair::Ed25519(pair), PublicKeyMaterial::Ed25519 { x })
        }
        Alg::PS256 | Alg::RS256 => {
            let pair = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
            if pair.public_modulus_len() * 8 < RSA_MIN_BITS {
                let reason = "RSA keys must be at least 2048 bits";
                return Err(KeyError::InvalidPrivateKey { alg, reason });
            }
            let public = pair.public_key();
            let n = public.modulus().big_endian_without_leading_zero().to_vec();
            let e = public.exponent().big_endian_without_leading_zero().to_vec();
            let encoding: &'static RsaSignatureEncoding = if alg == Alg::PS256 {
                &signature::RSA_PSS_SHA256
            } else {
                &signature::RSA_PKCS1_SHA256
            };
            (Pair::Rsa(pair, encoding), PublicKeyMaterial::Rsa { n, e })
        }
    })
}

fn encode_header(alg: Alg, typ: &str, kid: &Kid) -> Result<String, KeyError> {
    let header = ProtectedHeader {
        alg: alg.as_str(),
        typ,
        kid: kid.as_str(),
    };
    serde_json::to_vec(&header)
        .map(|json| b64::encode(&json))
        .map_err(|_| KeyError::Crypto("protected header serialization failed"))
}

#[cfg(test)]
mod tests;
