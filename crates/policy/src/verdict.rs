//! Turning the entry rule's value into a [`Verdict`], refusing anything the gateway must not act
//! on. Error messages name the offending member or header, never a value.

use http::{HeaderName, HeaderValue};
use regorus::Value;

use crate::EvalError;

/// The longest `reason` kept, in bytes; longer reasons are cut on a character boundary.
pub const MAX_REASON_BYTES: usize = 512;

/// The most headers one decision may add to the forwarded request.
pub const MAX_DECISION_HEADERS: usize = 16;

/// Headers a policy may never set: credentials, hop-by-hop and framing headers. Names starting
/// `x-gatehouse-` are refused too (the gateway's verified identity headers).
const FORBIDDEN_HEADERS: &[&str] = &[
    "authorization",
    "connection",
    "content-length",
    "cookie",
    "host",
    "keep-alive",
    "proxy-authorization",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The identity headers the gateway sets itself after verifying the caller.
const RESERVED_HEADER_PREFIX: &str = "x-gatehouse-";

/// What a policy decided for one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Whether the request may proceed.
    pub allow: bool,
    /// Why (from a `decision` object), at most [`MAX_REASON_BYTES`] bytes. Meant for the caller
    /// on a deny and for logs.
    pub reason: Option<String>,
    /// The status to deny with (400..=599); `None` when allowed or when the policy gave none.
    pub status: Option<u16>,
    /// Headers to add to the forwarded request; empty when denied.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Which rule a policy is evaluated through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// `allow`: a boolean.
    Allow,
    /// `decision`: an object with `allow`, `reason`, `status`, `headers`.
    Decision,
}

// === impl Entry ===

impl Entry {
    /// The rule's name inside the package.
    pub(crate) const fn rule(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Decision => "decision",
        }
    }

    /// Reads the entry rule's value. Undefined denies.
    pub(crate) fn verdict(self, value: &Value) -> Result<Verdict, EvalError> {
        match (self, value) {
            (_, Value::Undefined) => Ok(Verdict::default()),
            (Self::Allow, Value::Bool(allow)) => Ok(Verdict {
                allow: *allow,
                ..Verdict::default()
            }),
            (Self::Allow, other) => Err(bad(format!("allow is {}, not a boolean", kind(other)))),
            (Self::Decision, Value::Object(_)) => decision(value),
            (Self::Decision, other) => {
                Err(bad(format!("decision is {}, not an object", kind(other))))
            }
        }
    }
}

/// Reads a `decision` object. Every member is validated whether or not it applies, so a
/// malformed decision fails the same way on both branches of a policy.
fn decision(value: &Value) -> Result<Verdict, EvalError> {
    let allow = match &value["allow"] {
        Value::Undefined => false,
        Value::Bool(b) => *b,
        other => {
            return Err(bad(format!(
                "decision.allow is {}, not a boolean",
                kind(other)
            )));
        }
    };
    let reason = match &value["reason"] {
        Value::Undefined => None,
        Value::String(s) => Some(truncate(s, MAX_REASON_BYTES).to_owned()),
        other => {
            return Err(bad(format!(
                "decision.reason is {}, not a string",
                kind(other)
            )));
        }
    };
    let status = match &value["status"] {
        Value::Undefined => None,
        v => Some(status(v)?),
    };
    let headers = match &value["headers"] {
        Value::Undefined => Vec::new(),
        v => headers(v)?,
    };
    Ok(if allow {
        Verdict {
            allow,
            reason,
            status: None,
            headers,
        }
    } else {
        Verdict {
            allow,
            reason,
            status,
            headers: Vec::new(),
        }
    })
}

fn status(v: &Value) -> Result<u16, EvalError> {
    let code = v
        .as_i64()
        .map_err(|_| bad(format!("decision.status is {}, not an integer", kind(v))))?;
    match u16::try_from(code) {
        Ok(code @ 400..=599) => Ok(code),
        _ => Err(bad("decision.status must be within 400..=599")),
    }
}

fn headers(v: &Value) -> Result<Vec<(HeaderName, HeaderValue)>, EvalError> {
    let Value::Object(map) = v else {
        return Err(bad(format!(
            "decision.headers is {}, not an object",
            kind(v)
        )));
    };
    if map.len() > MAX_DECISION_HEADERS {
        return Err(bad(format!(
            "decision.headers has more than {MAX_DECISION_HEADERS} headers"
        )));
    }
    let mut out: Vec<(HeaderName, HeaderValue)> = Vec::with_capacity(map.len());
    for (name, value) in map.iter_sorted() {
        let Value::String(name) = name else {
            return Err(bad("decision.headers has a name that is not a string"));
        };
        let name = header_name(name)?;
        let Value::String(value) = value else {
            return Err(bad(format!(
                "header {name} has a value that is not a string"
            )));
        };
        let value = HeaderValue::from_str(value)
            .map_err(|_| bad(format!("header {name} has an invalid value")))?;
        if out.iter().any(|(n, _)| *n == name) {
            return Err(bad(format!("header {name} is given twice")));
        }
        out.push((name, value));
    }
    Ok(out)
}

/// A valid header name a policy may set. `HeaderName` is lower-case, so the checks are
/// case-insensitive.
fn header_name(name: &str) -> Result<HeaderName, EvalError> {
    let parsed = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| bad("decision.headers has an invalid header name"))?;
    let lower = parsed.as_str();
    if FORBIDDEN_HEADERS.contains(&lower) || lower.starts_with(RESERVED_HEADER_PREFIX) {
        return Err(bad(format!("header {lower} may not be set by a policy")));
    }
    Ok(parsed)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    s.get(..end).unwrap_or_default()
}

/// A value's type, for messages that must not quote the value.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Set(_) => "a set",
        Value::Object(_) => "an object",
        Value::Undefined => "undefined",
    }
}

fn bad(message: impl Into<String>) -> EvalError {
    EvalError::BadDecision(message.into())
}

#[cfg(test)]
mod tests;
