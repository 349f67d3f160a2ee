//! Bearer-secret formats: admin tokens, API keys and client secrets.
//!
//! A secret is `prefix ‖ 43 random base62 chars ‖ 6 base62 check digits`, for example
//! `gatehouse_cs_` followed by 49 characters from `[0-9A-Za-z]`. 43 base62 characters carry
//! 256 bits of entropy; the check digits are the CRC32 of the random part, so typos and
//! truncation are caught before a store lookup, and secret scanners can match the prefix.
//! Only the SHA-256 [`digest`] is ever stored; compare digests with [`digest_eq`].

use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::rng;

/// The base62 alphabet, in ASCII order so encoded numbers sort like their values.
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random characters in a secret: 43 × log2(62) ≈ 256.03 bits.
const RANDOM_LEN: usize = 43;
/// Base62 check digits: 62⁶ > 2³², so any CRC32 fits.
const CHECKSUM_LEN: usize = 6;
/// Random characters in a [`random_id`]: ≈ 131 bits.
const ID_RANDOM_LEN: usize = 22;

/// What a secret is for; each kind has its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretKind {
    /// Token for the admin API (`gatehouse_adm_`).
    AdminToken,
    /// API key presented to the gateway (`gatehouse_ak_`).
    ApiKey,
    /// OAuth client secret (`gatehouse_cs_`).
    ClientSecret,
}

/// A secret that is not in the expected format. Messages never echo the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretFormatError {
    /// A character outside `[0-9A-Za-z]` after the prefix.
    #[error("secret contains a character outside [0-9A-Za-z] after its prefix")]
    BadCharacter,
    /// The check digits do not match: a typo or a truncated copy.
    #[error("secret checksum does not match (mistyped or truncated?)")]
    BadChecksum,
    /// Wrong length after the prefix.
    #[error("secret has the wrong length")]
    WrongLength,
    /// The secret does not start with the kind's prefix.
    #[error("secret does not start with {expected:?}")]
    WrongPrefix {
        /// The prefix that was expected.
        expected: &'static str,
    },
}

/// A generated secret, shown to its owner once. Zeroized on drop; `Debug` is redacted and there
/// is deliberately no `Display` or `Clone`.
pub struct Secret(Zeroizing<String>);

/// Generates a new secret of `kind`: prefix, 43 random base62 characters, 6 check digits.
pub fn generate(kind: SecretKind) -> Secret {
    let prefix = kind.prefix();
    let mut s = String::with_capacity(prefix.len() + RANDOM_LEN + CHECKSUM_LEN);
    s.push_str(prefix);
    let random = Zeroizing::new(random_base62(RANDOM_LEN));
    s.push_str(&random);
    push_checksum(&mut s, crc32fast::hash(random.as_bytes()));
    Secret(Zeroizing::new(s))
}

/// Checks that `s` is a well-formed secret of `kind`: prefix, length, charset and checksum.
/// This is a cheap pre-check before a digest lookup; it says nothing about validity.
pub fn check_format(kind: SecretKind, s: &str) -> Result<(), SecretFormatError> {
    let expected = kind.prefix();
    let body = s
        .strip_prefix(expected)
        .ok_or(SecretFormatError::WrongPrefix { expected })?;
    if body.len() != RANDOM_LEN + CHECKSUM_LEN {
        return Err(SecretFormatError::WrongLength);
    }
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SecretFormatError::BadCharacter);
    }
    let (random, check) = body
        .split_at_checked(RANDOM_LEN)
        .ok_or(SecretFormatError::WrongLength)?;
    let mut expected_check = String::with_capacity(CHECKSUM_LEN);
    push_checksum(&mut expected_check, crc32fast::hash(random.as_bytes()));
    if expected_check != check {
        return Err(SecretFormatError::BadChecksum);
    }
    Ok(())
}

/// SHA-256 of the whole secret string (prefix included): the only form that is stored.
pub fn digest(s: &str) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Compares two digests in constant time.
pub fn digest_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// A server-generated identifier: `prefix` followed by 22 random base62 characters
/// (≈ 131 bits), e.g. `random_id("app_")`.
pub fn random_id(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + ID_RANDOM_LEN);
    s.push_str(prefix);
    s.push_str(&random_base62(ID_RANDOM_LEN));
    s
}

/// `n` uniformly random base62 characters (rejection sampling, no modulo bias).
pub fn random_base62(n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut buf = Zeroizing::new([0u8; 64]);
    while out.len() < n {
        rng::fill(buf.as_mut_slice());
        // 248 = 4 × 62: bytes at or above it would bias the low digits.
        for b in buf.iter().filter(|b| **b < 248).take(n - out.len()) {
            out.push(base62_digit(b % 62));
        }
    }
    out
}

// === impl SecretKind ===

impl SecretKind {
    /// Every kind, in a stable order.
    pub const ALL: [SecretKind; 3] = [
        SecretKind::AdminToken,
        SecretKind::ApiKey,
        SecretKind::ClientSecret,
    ];

    /// The prefix every secret of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::AdminToken => "gatehouse_adm_",
            SecretKind::ApiKey => "gatehouse_ak_",
            SecretKind::ClientSecret => "gatehouse_cs_",
        }
    }

    /// The kind whose prefix `s` starts with, if any (format not checked).
    pub fn detect(s: &str) -> Option<SecretKind> {
        Self::ALL.into_iter().find(|k| s.starts_with(k.prefix()))
    }
}

// === impl Secret ===

impl Secret {
    /// The secret text, to show its owner once or to send as a credential.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

fn base62_digit(v: u8) -> char {
    // `v < 62` at every call site; '0' keeps this total without a panic path.
    ALPHABET.get(usize::from(v)).map_or('0', |c| char::from(*c))
}

/// Appends `crc` as exactly [`CHECKSUM_LEN`] base62 digits, most significant first.
fn push_checksum(out: &mut String, crc: u32) {
    let mut digits = [0u8; CHECKSUM_LEN];
    let mut rest = crc;
    for d in digits.iter_mut().rev() {
        // `rest % 62 < 62`, so the cast is lossless.
        *d = u8::try_from(rest % 62).unwrap_or(0);
        rest /= 62;
    }
    out.extend(digits.iter().map(|d| base62_digit(*d)));
}

#[cfg(test)]
mod tests;
