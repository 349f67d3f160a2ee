//! Strict `application/x-www-form-urlencoded` parsing for OAuth endpoints.
//!
//! RFC 6749 §3.1/§3.2: parameters must not repeat (RFC 8707 lets `resource` repeat), and
//! parameters sent without a value are treated as omitted. Anything that is not valid UTF-8
//! after percent-decoding is refused rather than replaced.

use std::borrow::Cow;

use axum::http::HeaderMap;

use crate::OAuthError;

/// Largest body an OAuth endpoint reads.
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// Most parameters one request may carry.
const MAX_PARAMS: usize = 64;
/// Parameters allowed to appear more than once.
const MAY_REPEAT: &[&str] = &["resource"];

/// A parsed form: name/value pairs in order, empty values dropped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Checks the content type and parses `body`.
    pub fn from_request(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let ct = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = ct.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "content type must be application/x-www-form-urlencoded",
            ));
        }
        Self::parse(body)
    }

    /// Parses a form body.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        if body.len() > MAX_FORM_BYTES {
            return Err(OAuthError::invalid_request("request body exceeds 64 KiB"));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (
                    part.get(..i).unwrap_or_default(),
                    part.get(i + 1..).unwrap_or_default(),
                ),
                None => (part, &[][..]),
            };
            let name = decode(name)?;
            let value = decode(value)?;
            if name.is_empty() || value.is_empty() {
                continue;
            }
            if pairs.len() >= MAX_PARAMS {
                return Err(OAuthError::invalid_request("too many parameters"));
            }
            if !MAY_REPEAT.contains(&name.as_str()) && pairs.iter().any(|(n, _)| *n == name) {
                return Err(OAuthError::InvalidRequest(Cow::Owned(format!(
                    "parameter '{}' is repeated",
                    printable(&name)
                ))));
            }
            pairs.push((name, value));
        }
        Ok(Self { pairs })
    }

    /// The value of a single-valued parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a parameter that may repeat.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Percent-decodes one component (`+` is a space), requiring UTF-8.
pub(crate) fn decode(raw: &[u8]) -> Result<String, OAuthError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).and_then(|c| hex(*c));
                let lo = raw.get(i + 2).and_then(|c| hex(*c));
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => {
                        return Err(OAuthError::invalid_request(
                            "malformed percent-encoding in form body",
                        ));
                    }
                }
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| OAuthError::invalid_request("form body is not valid UTF-8"))
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A parameter name safe to echo in an error description.
fn printable(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_percent_and_plus_encoding() {
        let f = Form::parse(b"grant_type=client_credentials&scope=a+b%3Ac").unwrap();
        assert_eq!(f.get("grant_type"), Some("client_credentials"));
        assert_eq!(f.get("scope"), Some("a b:c"));
    }

    #[test]
    fn repeated_parameter_is_invalid_request() {
        let e = Form::parse(b"scope=a&scope=b").unwrap_err();
        assert_eq!(
            e,
            OAuthError::InvalidRequest("parameter 'scope' is repeated".into())
        );
    }

    #[test]
    fn resource_may_repeat() {
        let f = Form::parse(b"resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb").unwrap();
        assert_eq!(
            f.get_all("resource").collect::<Vec<_>>(),
            ["https://a", "https://b"]
        );
    }

    #[test]
    fn empty_values_count_as_omitted() {
        let f = Form::parse(b"scope=&grant_type=x&scope=y").unwrap();
        assert_eq!(f.get("scope"), Some("y"));
    }

    #[test]
    fn non_utf8_is_refused() {
        assert!(Form::parse(b"scope=%FF").is_err());
        assert!(Form::parse(b"scope=\xff").is_err());
    }

    #[test]
    fn bad_percent_escape_is_refused() {
        assert!(Form::parse(b"scope=%4").is_err());
        assert!(Form::parse(b"scope=%zz").is_err());
    }

    #[test]
    fn oversized_body_is_refused() {
        let big = vec![b'a'; MAX_FORM_BYTES + 1];
        assert!(Form::parse(&big).is_err());
    }

    #[test]
    fn wrong_content_type_is_refused() {
        let mut h = HeaderMap::new();
        h.insert("content-type", "application/json".parse().unwrap());
        assert!(Form::from_request(&h, b"a=b").is_err());
        h.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8"
                .parse()
                .unwrap(),
        );
        assert!(Form::from_request(&h, b"a=b").is_ok());
    }
}
