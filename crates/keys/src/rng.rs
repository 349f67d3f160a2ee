//! The one place that asks the operating system for random bytes.

/// Fills `buf` from the system CSPRNG (aws-lc `RAND_bytes`).
#[expect(
    clippy::expect_used,
    reason = "aws-lc aborts rather than fail RAND_bytes; an Err would mean the OS RNG is gone, and \
              carrying on would mint guessable secrets and keys"
)]
pub(crate) fn fill(buf: &mut [u8]) {
    aws_lc_rs::rand::fill(buf).expect("the system random number generator failed");
}
