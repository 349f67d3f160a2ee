//! base64url without padding (RFC 7515 §2), strict: padding and non-canonical trailing bits
//! are rejected.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes `bytes` as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the unpadded base64url encoding of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// Decodes unpadded base64url; `None` on any deviation.
pub(crate) fn decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// Length of the unpadded base64url encoding of `n` bytes.
pub(crate) fn encoded_len(n: usize) -> usize {
    n.saturating_mul(4).div_ceil(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_and_standard_alphabet_input_is_rejected() {
        assert_eq!(decode("AQID").as_deref(), Some(&[1u8, 2, 3][..]));
        assert!(decode("AQ==").is_none());
        assert!(decode("+/+/").is_none());
        assert!(decode("AR").is_none(), "non-canonical trailing bits");
    }

    #[test]
    fn encoded_len_matches_the_encoder() {
        for n in 0..70 {
            assert_eq!(encoded_len(n), encode(&vec![0xa5; n]).len(), "n={n}");
        }
    }
}
