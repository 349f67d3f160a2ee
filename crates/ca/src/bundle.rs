//! Trust bundles: PEM for TLS stacks, and the SPIFFE bundle format (a JWK Set whose keys carry
//! `use: x509-svid` and the CA certificate in `x5c`) for SPIFFE-aware workloads.

use base64::Engine as _;
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};
use x509_parser::public_key::PublicKey;

use crate::CaError;

/// A SPIFFE trust bundle for `roots`. `sequence` increases when the bundle changes;
/// `refresh_hint` (seconds) tells consumers how often to poll.
pub fn spiffe_bundle(
    roots: &[CertificateDer<'_>],
    sequence: u64,
    refresh_hint: u64,
) -> Result<Value, CaError> {
    let keys = roots
        .iter()
        .map(x509_svid_jwk)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "keys": keys,
        "spiffe_sequence": sequence,
        "spiffe_refresh_hint": refresh_hint,
    }))
}

fn x509_svid_jwk(der: &CertificateDer<'_>) -> Result<Value, CaError> {
    let b64u = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| CaError::malformed("certificate", e))?;
    let x5c = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let spki = cert.public_key();
    let parsed = spki
        .parsed()
        .map_err(|e| CaError::BadAuthority(format!("unreadable CA public key: {e}")))?;
    let mut jwk = match parsed {
        PublicKey::EC(point) => {
            let data = point.data();
            let (crv, n) = match data.len() {
                65 => ("P-256", 32),
                97 => ("P-384", 48),
                133 => ("P-521", 66),
                _ => return Err(CaError::BadAuthority("unsupported EC point".into())),
            };
            let (Some(0x04), Some(x), Some(y)) = (data.first(), data.get(1..=n), data.get(1 + n..))
            else {
                return Err(CaError::BadAuthority("compressed EC point".into()));
            };
            json!({"kty": "EC", "crv": crv, "x": b64u(x), "y": b64u(y)})
        }
        PublicKey::RSA(rsa) => {
            let trim =
                |b: &'_ [u8]| -> Vec<u8> { b.iter().skip_while(|x| **x == 0).copied().collect() };
            json!({"kty": "RSA", "n": b64u(&trim(rsa.modulus)), "e": b64u(&trim(rsa.exponent))})
        }
        _ => {
            return Err(CaError::BadAuthority(
                "CA key type cannot be written as a JWK".into(),
            ));
        }
    };
    if let Some(obj) = jwk.as_object_mut() {
        obj.insert("use".into(), json!("x509-svid"));
        obj.insert("x5c".into(), json!([x5c]));
    }
    Ok(jwk)
}
