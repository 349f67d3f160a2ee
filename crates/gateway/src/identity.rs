//! Identity headers: every inbound identity or forwarding header is removed and the verified
//! ones are set, in this one layer, so a client can never speak for the gateway.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Headers the gateway sets for the backend.
pub const CLIENT_ID: &str = "x-gatehouse-client-id";
/// The application (client) name.
pub const APPLICATION: &str = "x-gatehouse-application";
/// Granted scopes, space-separated.
pub const SCOPES: &str = "x-gatehouse-scopes";
/// The token subject.
pub const SUBJECT: &str = "x-gatehouse-subject";
/// The matched operation.
pub const OPERATION: &str = "x-gatehouse-operation";
/// The signed identity assertion (a JWT), when enabled for the API.
pub const ASSERTION: &str = "x-gatehouse-identity";
/// The `typ` of identity assertions: never `at+jwt`, so one can never pass as an access token.
pub const ASSERTION_TYP: &str = "gatehouse-identity+jwt";
/// Lifetime of an identity assertion.
pub const ASSERTION_TTL_SECS: i64 = 60;

/// Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded in either direction.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The verified identity to forward.
#[derive(Debug, Clone)]
pub struct Identity<'a> {
    /// Client id.
    pub client_id: &'a str,
    /// Application name.
    pub application: &'a str,
    /// Scopes.
    pub scopes: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// Operation.
    pub operation: &'a str,
}

impl Identity<'_> {
    /// The verified identity headers.
    pub fn headers(&self) -> [(&'static str, &str); 5] {
        [
            (CLIENT_ID, self.client_id),
            (APPLICATION, self.application),
            (SCOPES, self.scopes),
            (SUBJECT, self.subject),
            (OPERATION, self.operation),
        ]
    }
}

/// Signs the identity assertion for the backend: `iss`, `sub`, `client_id`, `aud` (the backend),
/// `scope`, `operation`, `iat`, `exp` (one minute), `jti`, with header `typ: gatehouse-identity+jwt`.
pub fn sign_assertion(
    identity: &Identity<'_>,
    issuer: &str,
    audience: &str,
    now: gatehouse_core::UnixTime,
    key: &gatehouse_keys::SigningKey,
) -> Option<String> {
    let claims = serde_json::json!({
        "iss": issuer,
        "sub": identity.subject,
        "client_id": identity.client_id,
        "aud": audience,
        "scope": identity.scopes,
        "operation": identity.operation,
        "iat": now.0,
        "exp": now.0 + ASSERTION_TTL_SECS,
        "jti": gatehouse_keys::secret::random_base62(22),
    });
    let json = serde_json::to_vec(&claims).ok()?;
    key.sign_jwt(ASSERTION_TYP, &json).ok()
}

/// Removes hop-by-hop headers, including any named by `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in HOP_BY_HOP {
        headers.remove(*n);
    }
}

/// Prepares request headers for the backend: strips hop-by-hop, credentials, every inbound
/// `x-gatehouse-*`, `forwarded`, `x-forwarded-*` and the configured extra headers; then sets the
/// verified identity and the forwarding headers.
pub fn rewrite_request(
    headers: &mut HeaderMap,
    extra_strip: &[String],
    identity: Option<&Identity<'_>>,
    peer: Option<std::net::IpAddr>,
    original_host: Option<&str>,
    tls: bool,
) {
    strip_hop_by_hop(headers);
    headers.remove(header::AUTHORIZATION);
    headers.remove(header::FORWARDED);
    let inbound: Vec<HeaderName> = headers
        .keys()
        .filter(|k| {
            let n = k.as_str();
            n.starts_with("x-gatehouse-")
                || n.starts_with("x-forwarded-")
                || extra_strip.iter().any(|e| e == n)
        })
        .cloned()
        .collect();
    for n in inbound {
        headers.remove(n);
    }
    for (name, value) in identity.iter().flat_map(|i| i.headers()) {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    }
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    if let Some(ip) = peer {
        set("x-forwarded-for", &ip.to_string());
    }
    set("x-forwarded-proto", if tls { "https" } else { "http" });
    if let Some(h) = original_host {
        set("x-forwarded-host", h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spoofed_identity_and_forwarding_headers_are_replaced() {
        let mut h = HeaderMap::new();
        h.insert("x-gatehouse-client-id", "evil".parse().unwrap());
        h.insert("x-gatehouse-admin", "yes".parse().unwrap());
        h.insert("x-forwarded-for", "6.6.6.6".parse().unwrap());
        h.insert("forwarded", "for=6.6.6.6".parse().unwrap());
        h.insert("x-user", "root".parse().unwrap());
        h.insert("authorization", "Bearer t".parse().unwrap());
        h.insert("connection", "x-secret, keep-alive".parse().unwrap());
        h.insert("x-secret", "1".parse().unwrap());
        h.insert("accept", "application/json".parse().unwrap());
        let id = Identity {
            client_id: "app_1",
            application: "billing",
            scopes: "a b",
            subject: "app_1",
            operation: "get",
        };
        rewrite_request(
            &mut h,
            &["x-user".into()],
            Some(&id),
            Some("127.0.0.9".parse().unwrap()),
            Some("api.example"),
            true,
        );
        assert_eq!(h[CLIENT_ID], "app_1");
        assert!(h.get("x-gatehouse-admin").is_none());
        assert_eq!(h["x-forwarded-for"], "127.0.0.9");
        assert!(h.get("forwarded").is_none());
        assert!(h.get("x-user").is_none());
        assert!(h.get("authorization").is_none());
        assert!(h.get("x-secret").is_none());
        assert!(h.get("connection").is_none());
        assert_eq!(h["accept"], "application/json");
        assert_eq!(h["x-forwarded-host"], "api.example");
        assert_eq!(h["x-forwarded-proto"], "https");
    }
}
