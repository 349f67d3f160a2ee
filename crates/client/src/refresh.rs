//! When to refresh a token: at 80 % of its lifetime, but never later than five minutes before
//! it expires (Azure SDKs treat a token with less than five minutes left as expired and would
//! ask on every call), minus a jitter so many agents started together do not refresh together.

/// How long before expiry Azure SDKs stop using a token.
pub const AZURE_SDK_MARGIN_SECS: i64 = 300;

/// The refresh time of a token issued at `issued_at` that expires at `expires_at` (Unix
/// seconds). `jitter` in `0..=1000` (permille of the lifetime, at most 10 %) moves it earlier.
pub fn refresh_at(issued_at: i64, expires_at: i64, jitter_permille: u16) -> i64 {
    let lifetime = (expires_at - issued_at).max(0);
    let at_80 = issued_at + lifetime * 4 / 5;
    let before_margin = expires_at - AZURE_SDK_MARGIN_SECS;
    let planned = at_80.min(before_margin);
    let jitter = lifetime * i64::from(jitter_permille.min(1000)) / 10_000;
    // Never before the token was issued (a very short token refreshes immediately).
    (planned - jitter).max(issued_at)
}

/// Whether a token of this lifetime is too short for Azure SDKs to cache (they would call the
/// agent on every request).
pub fn too_short_for_azure_sdks(lifetime_secs: i64) -> bool {
    lifetime_secs <= AZURE_SDK_MARGIN_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_token_refreshes_at_48_minutes() {
        assert_eq!(refresh_at(0, 3600, 0), 2880);
    }

    #[test]
    fn a_fifteen_minute_token_refreshes_five_minutes_before_expiry() {
        // 80 % would be 12 min, but 5 min before expiry is 10 min.
        assert_eq!(refresh_at(1000, 1900, 0), 1600);
    }

    #[test]
    fn jitter_moves_the_refresh_earlier_by_at_most_a_tenth_of_the_lifetime() {
        assert_eq!(refresh_at(0, 3600, 1000), 2880 - 360);
        assert_eq!(refresh_at(0, 3600, 500), 2880 - 180);
        assert_eq!(refresh_at(0, 3600, u16::MAX), 2880 - 360);
    }

    #[test]
    fn a_token_shorter_than_the_margin_refreshes_at_once() {
        assert_eq!(refresh_at(100, 400, 0), 100);
        assert!(too_short_for_azure_sdks(300));
        assert!(!too_short_for_azure_sdks(301));
        assert_eq!(refresh_at(100, 50, 0), 100, "an expired token is due now");
    }
}
