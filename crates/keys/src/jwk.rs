//! JSON Web Keys (RFC 7517): parsing public signing keys and checking a client's JWK Set
//! before it is registered.

use serde_json::Value;

use crate::b64;
use crate::material::{self, Curve, JwsAlg, PublicKeyMaterial, RSA_MAX_BITS, RSA_MIN_BITS};

/// Most keys a registered JWK Set may hold.
pub const MAX_JWKS_KEYS: usize = 20;

/// Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A JWK Set that may not be registered. Messages name the offending key by index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// Two keys share a `kid`.
    #[error("keys[{index}]: duplicate kid {kid:?}")]
    DuplicateKid {
        /// Position of the second key with that `kid`.
        index: usize,
        /// The repeated `kid`.
        kid: String,
    },
    /// A key is malformed or of an unsupported type.
    #[error("keys[{index}]: {reason}")]
    InvalidKey {
        /// Position of the key in `keys`.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Too few or too many keys.
    #[error("a JWK Set must hold between 1 and {max} keys, found {found}")]
    KeyCount {
        /// Keys found.
        found: usize,
        /// Most keys allowed.
        max: usize,
    },
    /// Not a JSON object with a `keys` array.
    #[error("a JWK Set must be a JSON object with a \"keys\" array")]
    NotAKeySet,
    /// A key carries private key material.
    #[error("keys[{index}]: contains the private member {member:?}; register only the public key")]
    PrivateMember {
        /// Position of the key in `keys`.
        index: usize,
        /// The private member found.
        member: &'static str,
    },
    /// A symmetric (`kty: "oct"`) key, which would be a shared secret.
    #[error(
        "keys[{index}]: symmetric keys (kty \"oct\") are not accepted; register an EC, OKP or \
         RSA public key"
    )]
    SymmetricKey {
        /// Position of the key in `keys`.
        index: usize,
    },
}

/// A public signing key parsed from a JWK.
#[derive(Debug, Clone)]
pub(crate) struct ParsedJwk {
    pub(crate) kid: Option<String>,
    /// The JWK's `alg`, when present.
    pub(crate) alg: Option<JwsAlg>,
    pub(crate) material: PublicKeyMaterial,
}

/// Why a single JWK was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwkProblem {
    Invalid(&'static str),
    Private(&'static str),
    Symmetric,
}

/// Checks a JWK Set a client wants to register: `{"keys":[...]}` with 1 to 20 public signing
/// keys (EC P-256/P-384, OKP Ed25519, RSA of at least 2048 bits), no private members, no
/// symmetric keys, no duplicate `kid`, `use` absent or `"sig"`, `alg` absent or a supported
/// algorithm that fits the key.
pub fn check_public_jwks(jwks: &Value) -> Result<(), JwksError> {
    let keys = keys_array(jwks).ok_or(JwksError::NotAKeySet)?;
    if keys.is_empty() || keys.len() > MAX_JWKS_KEYS {
        return Err(JwksError::KeyCount {
            found: keys.len(),
            max: MAX_JWKS_KEYS,
        });
    }
    let mut kids: Vec<&str> = Vec::with_capacity(keys.len());
    for (index, key) in keys.iter().enumerate() {
        let jwk = parse_public_jwk(key).map_err(|p| p.at(index))?;
        let alg = jwk.alg.unwrap_or_else(|| jwk.material.default_alg());
        if jwk.material.verifier(alg).is_none() {
            return Err(JwksError::InvalidKey {
                index,
                reason: "not a valid public key",
            });
        }
        if let Some(kid) = key.get("kid").and_then(Value::as_str) {
            if kids.contains(&kid) {
                return Err(JwksError::DuplicateKid {
                    index,
                    kid: kid.to_owned(),
                });
            }
            kids.push(kid);
        }
    }
    Ok(())
}

/// The `keys` array of a JWK Set.
pub(crate) fn keys_array(jwks: &Value) -> Option<&Vec<Value>> {
    jwks.as_object()?.get("keys")?.as_array()
}

/// Parses one public signing JWK. Checks structure and sizes; whether an EC point is on its
/// curve or RSA parameters are usable is decided when a verifier is built.
pub(crate) fn parse_public_jwk(key: &Value) -> Result<ParsedJwk, JwkProblem> {
    let obj = key
        .as_object()
        .ok_or(JwkProblem::Invalid("not a JSON object"))?;
    let kty = obj
        .get("kty")
        .and_then(Value::as_str)
        .ok_or(JwkProblem::Invalid("missing \"kty\""))?;
    if kty == "oct" {
        return Err(JwkProblem::Symmetric);
    }
    if let Some(member) = PRIVATE_MEMBERS.into_iter().find(|m| obj.contains_key(*m)) {
        return Err(JwkProblem::Private(member));
    }
    let kid = optional_str(obj, "kid")?.map(str::to_owned);
    if optional_str(obj, "use")?.is_some_and(|u| u != "sig") {
        return Err(JwkProblem::Invalid("\"use\" must be \"sig\" when present"));
    }
    let material = match kty {
        "EC" => ec_material(obj)?,
        "OKP" => okp_material(obj)?,
        "RSA" => rsa_material(obj)?,
        _ => {
            return Err(JwkProblem::Invalid(
                "unsupported \"kty\" (expected EC, OKP or RSA)",
            ));
        }
    };
    let alg = match optional_str(obj, "alg")? {
        None => None,
        Some(name) => {
            let alg = JwsAlg::parse(name).ok_or(JwkProblem::Invalid(
                "\"alg\" is not a supported signature algorithm",
            ))?;
            if !material.supports(alg) {
                return Err(JwkProblem::Invalid("\"alg\" does not fit the key type"));
            }
            Some(alg)
        }
    };
    Ok(ParsedJwk { kid, alg, material })
}

// === impl JwkProblem ===

impl JwkProblem {
    /// The registration error for the key at `index`.
    pub(crate) fn at(self, index: usize) -> JwksError {
        match self {
            Self::Invalid(reason) => JwksError::InvalidKey { index, reason },
            Self::Private(member) => JwksError::PrivateMember { index, member },
            Self::Symmetric => JwksError::SymmetricKey { index },
        }
    }

    /// A one-line reason, for errors about stored records.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::Invalid(reason) => reason,
            Self::Private(_) => "public JWK contains a private member",
            Self::Symmetric => "public JWK is a symmetric key",
        }
    }
}

type Obj = serde_json::Map<String, Value>;

fn optional_str<'a>(obj: &'a Obj, name: &'static str) -> Result<Option<&'a str>, JwkProblem> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JwkProblem::Invalid(
            "\"kid\", \"alg\" and \"use\" must be strings",
        )),
    }
}

fn b64_member(obj: &Obj, name: &str, what: &'static str) -> Result<Vec<u8>, JwkProblem> {
    obj.get(name)
        .and_then(Value::as_str)
        .and_then(b64::decode)
        .ok_or(JwkProblem::Invalid(what))
}

fn ec_material(obj: &Obj) -> Result<PublicKeyMaterial, JwkProblem> {
    let curve = obj
        .get("crv")
        .and_then(Value::as_str)
        .and_then(Curve::parse)
        .ok_or(JwkProblem::Invalid(
            "unsupported EC \"crv\" (expected P-256 or P-384)",
        ))?;
    let size = "EC \"x\" and \"y\" must be base64url of the curve's coordinate size";
    let x = b64_member(obj, "x", size)?;
    let y = b64_member(obj, "y", size)?;
    if x.len() != curve.coordinate_len() || y.len() != curve.coordinate_len() {
        return Err(JwkProblem::Invalid(size));
    }
    let mut point = Vec::with_capacity(1 + 2 * curve.coordinate_len());
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok(PublicKeyMaterial::Ec { curve, point })
}

fn okp_material(obj: &Obj) -> Result<PublicKeyMaterial, JwkProblem> {
    if obj.get("crv").and_then(Value::as_str) != Some("Ed25519") {
        return Err(JwkProblem::Invalid(
            "unsupported OKP \"crv\" (expected Ed25519)",
        ));
    }
    let size = "Ed25519 \"x\" must be 32 bytes of base64url";
    let x = b64_member(obj, "x", size)?;
    if x.len() != 32 {
        return Err(JwkProblem::Invalid(size));
    }
    Ok(PublicKeyMaterial::Ed25519 { x })
}

fn rsa_material(obj: &Obj) -> Result<PublicKeyMaterial, JwkProblem> {
    let n = b64_member(obj, "n", "RSA \"n\" must be base64url")?;
    let e = b64_member(obj, "e", "RSA \"e\" must be base64url")?;
    let n = material::strip_leading_zeros(&n).to_vec();
    let e = material::strip_leading_zeros(&e).to_vec();
    let bits = material::bit_len(&n);
    if bits < RSA_MIN_BITS {
        return Err(JwkProblem::Invalid(
            "RSA modulus must be at least 2048 bits",
        ));
    }
    if bits > RSA_MAX_BITS {
        return Err(JwkProblem::Invalid("RSA modulus must be at most 8192 bits"));
    }
    if e.is_empty() || e.len() > 8 {
        return Err(JwkProblem::Invalid("RSA exponent is out of range"));
    }
    Ok(PublicKeyMaterial::Rsa { n, e })
}

#[cfg(test)]
mod tests;
