//! OAuth scopes (RFC 6749 §3.3) and audiences / resource indicators (RFC 8707).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Longest scope token we accept.
const MAX_SCOPE_LEN: usize = 256;
/// Longest audience URI we accept.
const MAX_AUDIENCE_LEN: usize = 512;

/// A scope that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// Empty scope token.
    #[error("scope must not be empty")]
    Empty,
    /// Longer than 256 bytes.
    #[error("scope is longer than 256 characters")]
    TooLong,
    /// A character RFC 6749 §3.3 does not allow (space, `"`, `\`, control, non-ASCII).
    #[error("scope contains a character RFC 6749 does not allow")]
    BadChar,
}

/// One scope token: `1*( %x21 / %x23-5B / %x5D-7E )`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

impl Scope {
    /// Parses one scope token.
    pub fn parse(s: &str) -> Result<Self, ScopeError> {
        if s.is_empty() {
            return Err(ScopeError::Empty);
        }
        if s.len() > MAX_SCOPE_LEN {
            return Err(ScopeError::TooLong);
        }
        if !s
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err(ScopeError::BadChar);
        }
        Ok(Self(s.to_owned()))
    }

    /// The scope as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Scope {
    type Error = ScopeError;
    fn try_from(s: String) -> Result<Self, ScopeError> {
        Self::parse(&s)
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.0
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Scope {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::openapi::string(
            "An OAuth scope token (RFC 6749 section 3.3).",
            Some("^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$"),
            MAX_SCOPE_LEN,
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Scope {}

/// A set of scopes, written space-separated on the wire and kept sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parses a space-separated scope string (RFC 6749 §3.3). Empty input is the empty set.
    pub fn parse_space_separated(s: &str) -> Result<Self, ScopeError> {
        s.split(' ')
            .filter(|t| !t.is_empty())
            .map(Scope::parse)
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.contains(scope)
    }

    /// Whether every scope of `other` is in this set.
    pub fn is_superset(&self, other: &ScopeSet) -> bool {
        self.0.is_superset(&other.0)
    }

    /// Adds a scope.
    pub fn insert(&mut self, scope: Scope) {
        self.0.insert(scope);
    }

    /// Scopes in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// Scopes of `self` that are not in `other`.
    pub fn difference<'a>(&'a self, other: &'a ScopeSet) -> impl Iterator<Item = &'a Scope> {
        self.0.difference(&other.0)
    }

    /// The union of both sets.
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.union(&other.0).cloned().collect())
    }

    /// The space-separated wire form.
    pub fn to_space_separated(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(s.as_str());
        }
        out
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Audience {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::openapi::string(
            "An absolute URI without fragment (RFC 8707): the `aud` of the API's tokens.",
            None,
            MAX_AUDIENCE_LEN,
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Audience {}

/// An audience that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AudienceError {
    /// Not an absolute URI.
    #[error("audience must be an absolute URI (e.g. https://orders.example)")]
    NotAbsolute,
    /// RFC 8707 forbids a fragment.
    #[error("audience must not contain a fragment")]
    Fragment,
    /// Longer than 512 bytes.
    #[error("audience is longer than 512 characters")]
    TooLong,
}

/// An API's audience: an absolute URI without fragment (RFC 8707 §2), kept exactly as registered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Audience(String);

impl Audience {
    /// Parses an audience URI.
    pub fn parse(s: &str) -> Result<Self, AudienceError> {
        if s.len() > MAX_AUDIENCE_LEN {
            return Err(AudienceError::TooLong);
        }
        if s.contains('#') {
            return Err(AudienceError::Fragment);
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AudienceError::NotAbsolute);
        }
        let url = url::Url::parse(s).map_err(|_| AudienceError::NotAbsolute)?;
        if url.cannot_be_a_base() && url.scheme() != "urn" {
            return Err(AudienceError::NotAbsolute);
        }
        Ok(Self(s.to_owned()))
    }

    /// The audience as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Audience {
    type Error = AudienceError;
    fn try_from(s: String) -> Result<Self, AudienceError> {
        Self::parse(&s)
    }
}

impl From<Audience> for String {
    fn from(a: Audience) -> String {
        a.0
    }
}

impl std::fmt::Display for Audience {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_rejects_characters_outside_rfc6749() {
        assert!(Scope::parse("orders:read").is_ok());
        assert!(Scope::parse("https://orders.example/.default").is_ok());
        assert_eq!(Scope::parse("a b"), Err(ScopeError::BadChar));
        assert_eq!(Scope::parse("a\"b"), Err(ScopeError::BadChar));
        assert_eq!(Scope::parse("a\\b"), Err(ScopeError::BadChar));
        assert_eq!(Scope::parse("é"), Err(ScopeError::BadChar));
        assert_eq!(Scope::parse(""), Err(ScopeError::Empty));
    }

    #[test]
    fn scope_set_parses_and_prints_sorted() {
        let s = ScopeSet::parse_space_separated("b a  c a").unwrap();
        assert_eq!(s.to_space_separated(), "a b c");
        assert!(ScopeSet::parse_space_separated("").unwrap().is_empty());
    }

    #[test]
    fn audience_must_be_absolute_without_fragment() {
        assert!(Audience::parse("https://orders.example").is_ok());
        assert!(Audience::parse("urn:example:orders").is_ok());
        assert_eq!(Audience::parse("orders"), Err(AudienceError::NotAbsolute));
        assert_eq!(
            Audience::parse("https://a.example/#x"),
            Err(AudienceError::Fragment)
        );
        assert_eq!(
            Audience::parse("https://a.example/ x"),
            Err(AudienceError::NotAbsolute)
        );
    }
}
