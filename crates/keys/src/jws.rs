//! The JWS compact serialization (RFC 7515 §7.1), parsed without trusting anything in it.

use serde::{Deserialize, Deserializer};

use crate::b64;
use crate::jwt::{JwsHeader, VerifyError};

/// Largest token accepted, in bytes; larger input is refused before any decoding.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

/// A compact JWS split into its parts. Nothing here has been verified.
#[derive(Debug)]
pub(crate) struct Compact<'a> {
    pub(crate) header: JwsHeader,
    /// `base64url(header) "." base64url(payload)`, the bytes the signature covers.
    pub(crate) signing_input: &'a str,
    pub(crate) payload_b64: &'a str,
    pub(crate) signature: Vec<u8>,
}

/// The header members we read. Unknown members are ignored, except `crit`, whose presence
/// alone is refused (we implement no extensions). Duplicate members are an error.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// Splits `token` and decodes its header and signature. Rejects oversized input, a segment
/// count other than three, bad base64url, a header that is not a JSON object with a string
/// `alg`, and any `crit` header.
pub(crate) fn parse(token: &str) -> Result<Compact<'_>, VerifyError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(VerifyError::TooLarge);
    }
    let segments = "expected three dot-separated segments";
    let (signing_input, signature_b64) = token
        .rsplit_once('.')
        .ok_or(VerifyError::Malformed(segments))?;
    let (header_b64, payload_b64) = signing_input
        .split_once('.')
        .ok_or(VerifyError::Malformed(segments))?;
    if payload_b64.contains('.') {
        return Err(VerifyError::Malformed(segments));
    }
    let header_json =
        b64::decode(header_b64).ok_or(VerifyError::Malformed("header is not base64url"))?;
    let raw: RawHeader = serde_json::from_slice(&header_json)
        .map_err(|_| VerifyError::Malformed("header is not a JSON object with a string \"alg\""))?;
    if raw.crit {
        return Err(VerifyError::Malformed(
            "\"crit\" header parameters are not supported",
        ));
    }
    let signature =
        b64::decode(signature_b64).ok_or(VerifyError::Malformed("signature is not base64url"))?;
    let header = JwsHeader {
        alg: raw.alg,
        kid: raw.kid,
        typ: raw.typ,
    };
    Ok(Compact {
        header,
        signing_input,
        payload_b64,
        signature,
    })
}

/// Decodes the payload as a JSON object, without verifying anything.
pub(crate) fn decode_claims(
    payload_b64: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, VerifyError> {
    let json =
        b64::decode(payload_b64).ok_or(VerifyError::Malformed("payload is not base64url"))?;
    serde_json::from_slice(&json)
        .map_err(|_| VerifyError::Malformed("payload is not a JSON object"))
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str, payload: &str, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64::encode(header.as_bytes()),
            b64::encode(payload.as_bytes()),
            b64::encode(sig)
        )
    }

    #[test]
    fn well_formed_token_splits_into_header_payload_and_signature() {
        let t = token(
            r#"{"alg":"ES256","kid":"k1","typ":"at+jwt","x5u":"ignored"}"#,
            "{}",
            b"sig",
        );
        let c = parse(&t).unwrap();
        assert_eq!(c.header.alg, "ES256");
        assert_eq!(c.header.kid.as_deref(), Some("k1"));
        assert_eq!(c.header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(c.signature, b"sig");
        assert!(t.starts_with(c.signing_input));
        assert!(decode_claims(c.payload_b64).unwrap().is_empty());
    }

    #[test]
    fn wrong_segment_counts_are_malformed() {
        let t = token(r#"{"alg":"ES256"}"#, "{}", b"s");
        for bad in ["", "a", "a.b", &format!("{t}.x"), &format!("{t}.x.y")] {
            assert!(
                matches!(parse(bad), Err(VerifyError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn crit_header_is_refused_even_when_null() {
        for h in [
            r#"{"alg":"ES256","crit":["exp"]}"#,
            r#"{"alg":"ES256","crit":null}"#,
        ] {
            assert!(matches!(
                parse(&token(h, "{}", b"s")),
                Err(VerifyError::Malformed(_))
            ));
        }
    }

    #[test]
    fn header_without_string_alg_or_with_duplicates_is_malformed() {
        for h in [
            r#"{}"#,
            r#"{"alg":1}"#,
            r#"[]"#,
            r#"{"alg":"ES256","alg":"none"}"#,
            "not json",
        ] {
            assert!(
                matches!(parse(&token(h, "{}", b"s")), Err(VerifyError::Malformed(_))),
                "{h}"
            );
        }
    }

    #[test]
    fn oversized_token_is_refused_before_decoding() {
        assert_eq!(
            parse(&"a".repeat(MAX_TOKEN_LEN + 1)).unwrap_err(),
            VerifyError::TooLarge
        );
    }

    #[test]
    fn non_object_payload_is_malformed() {
        assert!(decode_claims(&b64::encode(b"[1]")).is_err());
        assert!(decode_claims("!!").is_err());
    }
}
