//! The `input` document a policy sees, built per request straight into `regorus::Value` (no
//! JSON round trip).
//!
//! ```text
//! input
//! ├── request            absent for decisions cached per token
//! │   ├── method         "GET"
//! │   ├── path           "/orders/42" (the request path, without the query)
//! │   ├── params         {"tenant": "acme", "id": "42"} from the route's path template
//! │   ├── query          {"a": "1"}: form-urlencoded, percent-decoded, first value wins;
//! │   │                  absent when the request has no query string
//! │   └── headers        {"x-request-id": "…"}: only the headers the route selects, lower-case
//! ├── principal          absent for anonymous routes
//! │   ├── client_id      the OAuth client / application id
//! │   ├── application    the application's name
//! │   ├── subject        the token subject (the client id for client credentials)
//! │   ├── credential     "bearer" | "api_key" | "mtls" | "basic"
//! │   ├── scopes         ["orders:read", …]
//! │   ├── claims         every claim of the verified token (bearer only)
//! │   ├── subscription   {"status": "active", "scopes": […], "plan": "gold"} (plan optional)
//! │   ├── certificate    {"subject", "spiffe_id" (optional), "dns": […], "uris": […],
//! │   │                   "serial", "sha256"} for mTLS callers
//! │   └── metadata       {"team": "payments"}: the application's metadata
//! ├── api                {"name": "orders", "audience": "https://orders.example"}
//! ├── operation          "getOrder": the matched route's operation
//! └── time               absent for decisions cached per token
//!     ├── unix           1800000000 (seconds)
//!     ├── unix_ns        1800000000000000000
//!     └── rfc3339        "2027-01-15T08:00:00Z" (UTC)
//! ```
//!
//! Every optional part is an absent key, never `null`, so `not input.request` and
//! `object.get(input, "time", …)` behave as expected.

use std::collections::BTreeMap;

use regorus::Value;

use crate::convert;

/// The request being decided on.
#[derive(Debug, Clone)]
pub struct RequestInput<'a> {
    /// The HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// The request path without the query string.
    pub path: &'a str,
    /// Path-template parameters of the matched route, by name.
    pub params: &'a [(String, String)],
    /// The raw query string (without `?`), if the request has one.
    pub query: Option<&'a str>,
    /// The headers the route hands to the policy, names already lower-case.
    pub headers: Vec<(&'a str, &'a str)>,
}

/// The verified caller.
#[derive(Debug, Clone)]
pub struct PrincipalInput<'a> {
    /// The client (application) id.
    pub client_id: &'a str,
    /// The client's name.
    pub application: &'a str,
    /// The credential's subject.
    pub subject: &'a str,
    /// How the caller authenticated: `bearer`, `api_key`, `mtls` or `basic`.
    pub credential: &'a str,
    /// The granted scopes.
    pub scopes: Vec<&'a str>,
    /// Every claim of the verified token (bearer only).
    pub claims: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// The application's subscription to this API.
    pub subscription: Option<SubscriptionInput<'a>>,
    /// The verified client certificate (mTLS only).
    pub certificate: Option<CertificateInput<'a>>,
    /// The application's metadata.
    pub metadata: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// The caller's subscription to the API.
#[derive(Debug, Clone)]
pub struct SubscriptionInput<'a> {
    /// The subscription's status, e.g. `active`.
    pub status: &'a str,
    /// The scopes the subscription grants.
    pub scopes: Vec<&'a str>,
    /// The plan subscribed to.
    pub plan: Option<&'a str>,
}

/// The caller's verified client certificate.
#[derive(Debug, Clone)]
pub struct CertificateInput<'a> {
    /// The subject distinguished name.
    pub subject: &'a str,
    /// The SPIFFE id (the `spiffe://` URI SAN), if any.
    pub spiffe_id: Option<&'a str>,
    /// DNS subject alternative names.
    pub dns: Vec<&'a str>,
    /// URI subject alternative names.
    pub uris: Vec<&'a str>,
    /// The serial number, hex.
    pub serial: &'a str,
    /// The SHA-256 of the DER certificate, hex.
    pub sha256: &'a str,
}

/// The API the request is for.
#[derive(Debug, Clone)]
pub struct ApiInput<'a> {
    /// The API's name.
    pub name: &'a str,
    /// The API's token audience.
    pub audience: &'a str,
}

/// Everything a policy sees; [`Input::to_value`] builds the `input` document.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// The request; `None` for decisions cached per token.
    pub request: Option<RequestInput<'a>>,
    /// The caller; `None` on anonymous routes.
    pub principal: Option<PrincipalInput<'a>>,
    /// The API.
    pub api: ApiInput<'a>,
    /// The matched operation.
    pub operation: &'a str,
    /// The current time in Unix seconds; `None` for decisions cached per token.
    pub time_unix: Option<i64>,
}

/// Builds an object from key/value pairs.
struct Obj(BTreeMap<Value, Value>);

// === impl Input ===

impl Input<'_> {
    /// The `input` document (schema in the [module docs](self)).
    pub fn to_value(&self) -> Value {
        let mut o = Obj::new();
        if let Some(request) = &self.request {
            o.set("request", request.to_value());
        }
        if let Some(principal) = &self.principal {
            o.set("principal", principal.to_value());
        }
        o.set("api", self.api.to_value());
        o.str("operation", self.operation);
        if let Some(secs) = self.time_unix {
            o.set("time", time_value(secs));
        }
        o.into()
    }
}

// === impl RequestInput ===

impl RequestInput<'_> {
    fn to_value(&self) -> Value {
        let mut o = Obj::new();
        o.str("method", self.method);
        o.str("path", self.path);
        o.set(
            "params",
            pairs(self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        );
        if let Some(query) = self.query {
            o.set("query", query_value(query));
        }
        o.set("headers", pairs(self.headers.iter().copied()));
        o.into()
    }
}

// === impl PrincipalInput ===

impl PrincipalInput<'_> {
    fn to_value(&self) -> Value {
        let mut o = Obj::new();
        o.str("client_id", self.client_id);
        o.str("application", self.application);
        o.str("subject", self.subject);
        o.str("credential", self.credential);
        o.set("scopes", strings(&self.scopes));
        if let Some(claims) = self.claims {
            o.set("claims", convert::json_object(claims));
        }
        if let Some(sub) = &self.subscription {
            let mut s = Obj::new();
            s.str("status", sub.status);
            s.set("scopes", strings(&sub.scopes));
            if let Some(plan) = sub.plan {
                s.str("plan", plan);
            }
            o.set("subscription", s.into());
        }
        if let Some(cert) = &self.certificate {
            o.set("certificate", cert.to_value());
        }
        if let Some(metadata) = self.metadata {
            o.set("metadata", convert::json_object(metadata));
        }
        o.into()
    }
}

// === impl CertificateInput ===

impl CertificateInput<'_> {
    fn to_value(&self) -> Value {
        let mut o = Obj::new();
        o.str("subject", self.subject);
        if let Some(spiffe_id) = self.spiffe_id {
            o.str("spiffe_id", spiffe_id);
        }
        o.set("dns", strings(&self.dns));
        o.set("uris", strings(&self.uris));
        o.str("serial", self.serial);
        o.str("sha256", self.sha256);
        o.into()
    }
}

// === impl ApiInput ===

impl ApiInput<'_> {
    fn to_value(&self) -> Value {
        let mut o = Obj::new();
        o.str("name", self.name);
        o.str("audience", self.audience);
        o.into()
    }
}

// === impl Obj ===

impl Obj {
    fn new() -> Self {
        Self(BTreeMap::new())
    }

    fn set(&mut self, key: &str, value: Value) {
        self.0.insert(Value::from(key), value);
    }

    fn str(&mut self, key: &str, value: &str) {
        self.set(key, Value::from(value));
    }
}

impl From<Obj> for Value {
    fn from(o: Obj) -> Self {
        Value::from(o.0)
    }
}

/// `{name: value}`; a repeated name keeps its first value.
fn pairs<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> Value {
    let mut map = BTreeMap::new();
    for (k, v) in items {
        map.entry(Value::from(k)).or_insert_with(|| Value::from(v));
    }
    Value::from(map)
}

fn strings(items: &[&str]) -> Value {
    Value::from(items.iter().map(|s| Value::from(*s)).collect::<Vec<_>>())
}

/// A form-urlencoded query string as `{name: first value}`, percent-decoded (`+` is a space).
fn query_value(query: &str) -> Value {
    let mut map = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        map.entry(Value::from(k.as_ref()))
            .or_insert_with(|| Value::from(v.as_ref()));
    }
    Value::from(map)
}

/// `{"unix", "unix_ns", "rfc3339"}`; `rfc3339` is left out for a time outside years 0..=9999.
fn time_value(secs: i64) -> Value {
    let mut o = Obj::new();
    o.set("unix", Value::from(secs));
    o.set("unix_ns", Value::from(i128::from(secs) * 1_000_000_000));
    if let Some(text) = rfc3339(secs) {
        o.set("rfc3339", Value::from(text));
    }
    o.into()
}

fn rfc3339(secs: i64) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests;
