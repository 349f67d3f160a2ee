//! SPIFFE IDs for applications: `spiffe://<trust-domain>/app/<client-id>`.
//!
//! The path carries the application's immutable id (its `client_id`), never its renamable name.
//! Trust domains follow the SPIFFE rules: lowercase letters, digits, `.`, `-` and `_`.

use crate::CaError;

/// Longest trust domain we accept (SPIFFE: 255 bytes).
const MAX_TRUST_DOMAIN: usize = 255;
/// Longest SPIFFE ID (SPIFFE: 2048 bytes).
const MAX_ID: usize = 2048;

/// A validated SPIFFE trust domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrustDomain(String);

// === impl TrustDomain ===

impl TrustDomain {
    /// Validates `name` (e.g. `gatehouse.local`).
    pub fn new(name: &str) -> Result<Self, CaError> {
        let ok = !name.is_empty()
            && name.len() <= MAX_TRUST_DOMAIN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(CaError::Invalid(format!(
                "trust domain {name:?} must be 1 to 255 lowercase letters, digits, '.', '-' or '_'"
            )))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `spiffe://<td>/app/<client_id>`; the client id must be a valid SPIFFE path segment.
    pub fn app_id(&self, client_id: &str) -> Result<String, CaError> {
        if !is_segment(client_id) {
            return Err(CaError::Invalid(format!(
                "client id {client_id:?} cannot be a SPIFFE path segment (letters, digits, '.', '-', '_')"
            )));
        }
        let id = format!("spiffe://{}/app/{client_id}", self.0);
        if id.len() > MAX_ID {
            return Err(CaError::Invalid("SPIFFE ID longer than 2048 bytes".into()));
        }
        Ok(id)
    }

    /// `spiffe://<td>/gatehouse/<service>`: Gatehouse's own services (never an application).
    pub fn service_id(&self, service: &str) -> Result<String, CaError> {
        if !is_segment(service) {
            return Err(CaError::Invalid(format!(
                "service name {service:?} cannot be a SPIFFE path segment"
            )));
        }
        Ok(format!("spiffe://{}/gatehouse/{service}", self.0))
    }

    /// The client id in `uri` when it is an application ID of this trust domain.
    pub fn client_of<'a>(&self, uri: &'a str) -> Option<&'a str> {
        let rest = uri
            .strip_prefix("spiffe://")?
            .strip_prefix(self.0.as_str())?;
        let client = rest.strip_prefix("/app/")?;
        is_segment(client).then_some(client)
    }
}

impl std::fmt::Display for TrustDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A SPIFFE path segment: non-empty, not `.` or `..`, only `[A-Za-z0-9._-]`.
fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids_round_trip() {
        let td = TrustDomain::new("prod.example").expect("valid");
        let id = td.app_id("billing-7").expect("valid");
        assert_eq!(id, "spiffe://prod.example/app/billing-7");
        assert_eq!(td.client_of(&id), Some("billing-7"));
    }

    #[test]
    fn foreign_or_malformed_ids_map_to_nothing() {
        let td = TrustDomain::new("prod.example").expect("valid");
        for uri in [
            "spiffe://prod.example.evil/app/x",
            "spiffe://other/app/x",
            "spiffe://prod.example/app/",
            "spiffe://prod.example/app/a/b",
            "spiffe://prod.example/app/..",
            "spiffe://prod.example/svc/x",
            "https://prod.example/app/x",
        ] {
            assert_eq!(td.client_of(uri), None, "{uri}");
        }
    }

    #[test]
    fn bad_names_are_refused() {
        for td in ["", "Upper.case", "has space", "slash/x", &"a".repeat(256)] {
            assert!(TrustDomain::new(td).is_err(), "{td:?}");
        }
        let td = TrustDomain::new("gatehouse.local").expect("valid");
        for id in ["", ".", "..", "a/b", "a b", "é"] {
            assert!(td.app_id(id).is_err(), "{id:?}");
        }
    }
}
