//! The forward-auth endpoint: the gateway's decision without proxying, for nginx
//! (`auth_request`), Caddy and Traefik (`forward_auth`) and Envoy (`ext_authz` HTTP).
//!
//! The original request is described by `X-Original-Method` / `X-Original-URI` (nginx) or
//! `X-Forwarded-Method` / `X-Forwarded-Uri` / `X-Forwarded-Host` (Caddy, Traefik); the credential
//! comes in the usual headers. These headers are believed only from `trusted_peers`. The answer
//! is 200 with the `X-Gatehouse-*` identity headers, or the same 401/403/429 as the proxy.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http::Method;

use crate::GatewayError;
use crate::proxy::{RequestInfo, strip_port};
use crate::spec::peer_trusted;

/// The path of the forward-auth endpoint on the gateway listener.
pub const PATH: &str = "/.gatehouse/forward-auth";

/// Largest forwarded certificate header accepted.
const MAX_CERT_HEADER: usize = 16 * 1024;

/// The certificates in a forwarded client-certificate header (end-entity first): the
/// URL-encoded PEM itself (nginx `$ssl_client_escaped_cert`), or Envoy's
/// `X-Forwarded-Client-Cert` format, whose last element (the hop closest to us) must carry
/// `Cert="<url-encoded PEM>"`.
pub fn parse_forwarded_cert(
    value: &str,
) -> Option<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    if value.len() > MAX_CERT_HEADER {
        return None;
    }
    let value = value.trim();
    let encoded = if value.starts_with("-----BEGIN") || value.starts_with("%2D%2D%2D%2D%2DBEGIN") {
        value
    } else {
        let element = split_unquoted(value, ',').pop()?;
        split_unquoted(element, ';').into_iter().find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            k.eq_ignore_ascii_case("cert").then(|| v.trim_matches('"'))
        })?
    };
    let pem = percent_decode(encoded)?;
    let certs: Vec<_> = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .ok()?;
    (!certs.is_empty()).then_some(certs)
}

/// `s` split at every `sep` outside double quotes (Envoy quotes values that contain `,` `;`).
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(s.get(start..i).unwrap_or(""));
            start = i + c.len_utf8();
        }
    }
    parts.push(s.get(start..).unwrap_or(""));
    parts
}

fn header<'a>(req: &'a Request, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| req.headers().get(*n).and_then(|v| v.to_str().ok()))
}

/// `%XX` escapes decoded (a `+` stays a `+`: it is part of base64, not a space).
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = char::from(bytes.next()?).to_digit(16)?;
            let lo = char::from(bytes.next()?).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// Handles a forward-auth subrequest.
pub(crate) async fn handle(State(shared): State<crate::SharedGateway>, req: Request) -> Response {
    let gw = shared.load_full();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if !peer.is_some_and(|ip| peer_trusted(gw.forward_auth_peers(), ip)) {
        // Untrusted callers learn nothing, not even that the endpoint exists.
        return GatewayError::NotFound.into_response();
    }
    let method = header(&req, &["x-original-method", "x-forwarded-method"])
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
        .unwrap_or(Method::GET);
    let uri = header(&req, &["x-original-uri", "x-forwarded-uri"]).unwrap_or("/");
    let (path, query) = match uri.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (uri, None),
    };
    let host = header(&req, &["x-forwarded-host", "host"]).map(strip_port);
    // The proxy terminated TLS: it may forward the caller's certificate, in the header the
    // operator named (and the proxy overwrites).
    let forwarded_cert = gw
        .forward_auth_cert_header()
        .and_then(|h| req.headers().get(h))
        .and_then(|v| v.to_str().ok())
        .and_then(parse_forwarded_cert);
    let info = RequestInfo {
        method: &method,
        host,
        path,
        query,
        headers: req.headers(),
        client_cert: forwarded_cert.as_deref(),
        client_cert_digest: None,
    };
    match gw.decide(&info) {
        Ok(d) => {
            let mut resp = StatusCode::OK.into_response();
            for (name, value) in gw.identity_headers(&d) {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    resp.headers_mut().insert(name, v);
                }
            }
            // Headers the policies add: the proxy copies them upstream (nginx
            // `auth_request_set`, Traefik `authResponseHeaders`, Caddy `copy_headers`).
            for (name, value) in d.added_headers {
                resp.headers_mut().insert(name, value);
            }
            resp
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoy_elements_are_split_outside_quotes_and_the_last_hop_wins() {
        assert_eq!(
            split_unquoted(r#"By=a;Subject="CN=a,O=b";Cert="x",Hash=h;Cert="y""#, ','),
            [r#"By=a;Subject="CN=a,O=b";Cert="x""#, r#"Hash=h;Cert="y""#]
        );
        // No Cert in the last element: nothing, even if an earlier element has one.
        assert!(parse_forwarded_cert(r#"Cert="%2D%2D%2D%2D%2DBEGIN",Hash=abc"#).is_none());
        assert!(parse_forwarded_cert("garbage").is_none());
        assert!(parse_forwarded_cert(&"a".repeat(MAX_CERT_HEADER + 1)).is_none());
    }
}
