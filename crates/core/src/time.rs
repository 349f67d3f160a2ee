//! Seconds since the Unix epoch, the unit of every timestamp we store or put in a token.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Whole seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// This time plus a duration (saturating).
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        )
    }

    /// This time minus a duration (saturating).
    pub fn minus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_sub(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        )
    }

    /// Seconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn since(self, earlier: UnixTime) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::fmt::Display for UnixTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A duration that could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("invalid duration {input:?}: expected e.g. 90s, 15m, 24h, 7d")]
pub struct DurationParseError {
    input: String,
}

/// Parses a human duration such as `15m`, `24h`, `7d` or `1h30m` (humantime syntax).
pub fn parse_duration(input: &str) -> Result<Duration, DurationParseError> {
    humantime::parse_duration(input.trim()).map_err(|_| DurationParseError {
        input: input.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_human_units() {
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86400)
        );
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(
            UnixTime(i64::MAX).plus(Duration::from_secs(5)),
            UnixTime(i64::MAX)
        );
        assert_eq!(UnixTime(10).since(UnixTime(4)), 6);
    }
}
