//! WebSocket forwarding (HTTP/1.1 `Upgrade`, RFC 6455 §4): the upgrade request goes through the
//! whole request path like any other, and only once the backend has answered `101 Switching
//! Protocols` do the two connections become a byte tunnel.
//!
//! ```text
//! client ── GET /ws, Connection: upgrade, Upgrade: websocket ─▶ route, authn, authz, rate limit,
//!                                                               identity headers
//!        ◀─ 101 (backend's Sec-WebSocket-*) ── backend ◀── same request, upgrade kept
//! client ◀══════════ copy_bidirectional (until either side closes) ══════════▶ backend
//! ```
//!
//! The credential is checked once, at the upgrade; frames inside the tunnel are never parsed.
//! Any other `Upgrade` protocol, and any upgrade over HTTP/2 (which has no `Connection` header),
//! gets the usual hop-by-hop treatment: it is forwarded as a plain request.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::header::{self, HeaderMap, HeaderValue};
use http::{StatusCode, Version};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use crate::GatewayError;
use crate::identity::strip_hop_by_hop;

/// The only protocol the gateway upgrades to.
const WEBSOCKET: &str = "websocket";

/// The client side of a WebSocket upgrade, taken from the request before it is forwarded; empty
/// when the request is not a WebSocket upgrade.
#[derive(Debug, Default)]
pub(crate) struct ClientUpgrade(Option<OnUpgrade>);

/// Whether `headers` of an HTTP/1.1 request ask for a WebSocket upgrade: `Connection` lists the
/// `upgrade` token and `Upgrade` names exactly `websocket` (both case-insensitive).
pub(crate) fn is_websocket(version: Version, headers: &HeaderMap) -> bool {
    version == Version::HTTP_11 && connection_has_upgrade(headers) && upgrade_is_websocket(headers)
}

fn connection_has_upgrade(headers: &HeaderMap) -> bool {
    tokens(headers, header::CONNECTION).any(|t| t.eq_ignore_ascii_case("upgrade"))
}

fn upgrade_is_websocket(headers: &HeaderMap) -> bool {
    let mut protocols = tokens(headers, header::UPGRADE);
    protocols
        .next()
        .is_some_and(|p| p.eq_ignore_ascii_case(WEBSOCKET))
        && protocols.next().is_none()
}

/// The comma-separated, non-empty tokens of every `name` header (values that are not visible
/// ASCII are skipped).
fn tokens(headers: &HeaderMap, name: header::HeaderName) -> impl Iterator<Item = &str> {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Copies bytes both ways until both directions have ended: an end of stream on one side is
/// passed on as a shutdown of the other, so either side closing ends the tunnel.
async fn tunnel(client: OnUpgrade, upstream: OnUpgrade) {
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(both) => both,
        Err(e) => {
            tracing::debug!(error = %e, "websocket upgrade did not complete");
            return;
        }
    };
    let mut client = TokioIo::new(client);
    let mut upstream = TokioIo::new(upstream);
    match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        Ok((to_upstream, to_client)) => {
            tracing::debug!(to_upstream, to_client, "websocket tunnel closed");
        }
        Err(e) => tracing::debug!(error = %e, "websocket tunnel ended with an error"),
    }
}

// === impl ClientUpgrade ===

impl ClientUpgrade {
    /// Takes the client's pending upgrade from `req` when it is a WebSocket upgrade; it must be
    /// taken before the request is moved into the upstream client.
    pub(crate) fn take(req: &mut Request) -> Self {
        if is_websocket(req.version(), req.headers()) {
            Self(Some(hyper::upgrade::on(req)))
        } else {
            Self(None)
        }
    }

    /// Puts back `Connection: upgrade` and `Upgrade: websocket`, which the identity layer strips
    /// with the other hop-by-hop headers, on the request for the backend.
    pub(crate) fn keep_headers(&self, headers: &mut HeaderMap) {
        if self.0.is_some() {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(header::UPGRADE, HeaderValue::from_static(WEBSOCKET));
        }
    }

    /// When the backend switched protocols, the client's `101` (the backend's end-to-end headers,
    /// its `Sec-WebSocket-*` among them, plus the upgrade headers), with the tunnel spawned.
    /// `None` for any other answer, which goes back as a normal response; a `101` to another
    /// protocol is an upstream fault.
    pub(crate) fn switch(
        self,
        resp: &mut Response<Body>,
    ) -> Result<Option<Response<Body>>, GatewayError> {
        let Some(client) = self.0 else {
            return Ok(None);
        };
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            return Ok(None);
        }
        if !upgrade_is_websocket(resp.headers()) {
            tracing::warn!("upstream switched to a protocol other than websocket");
            return Err(GatewayError::BadGateway);
        }
        let upstream = hyper::upgrade::on(&mut *resp);
        let mut headers = std::mem::take(resp.headers_mut());
        strip_hop_by_hop(&mut headers);
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static(WEBSOCKET));
        let mut switched = Response::new(Body::empty());
        *switched.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        *switched.version_mut() = Version::HTTP_11;
        *switched.headers_mut() = headers;
        tokio::spawn(tunnel(client, upstream));
        Ok(Some(switched))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn websocket_upgrade_is_recognised_case_insensitively_among_connection_tokens() {
        let h = headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "WebSocket"),
        ]);
        assert!(is_websocket(Version::HTTP_11, &h));
        let h = headers(&[
            ("connection", "keep-alive"),
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
        ]);
        assert!(is_websocket(Version::HTTP_11, &h));
    }

    #[test]
    fn other_protocols_and_incomplete_upgrades_are_plain_requests() {
        for h in [
            headers(&[("connection", "upgrade"), ("upgrade", "h2c")]),
            headers(&[("connection", "upgrade"), ("upgrade", "websocket, h2c")]),
            headers(&[("connection", "upgrade")]),
            headers(&[("upgrade", "websocket")]),
            headers(&[("connection", "upgraded"), ("upgrade", "websocket")]),
        ] {
            assert!(!is_websocket(Version::HTTP_11, &h), "{h:?}");
        }
    }

    #[test]
    fn upgrades_only_happen_on_http_1_1() {
        let h = headers(&[("connection", "upgrade"), ("upgrade", "websocket")]);
        assert!(!is_websocket(Version::HTTP_2, &h));
        assert!(!is_websocket(Version::HTTP_10, &h));
    }

    #[test]
    fn a_plain_request_keeps_the_hop_by_hop_treatment() {
        let mut req = Request::new(Body::empty());
        req.headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        let upgrade = ClientUpgrade::take(&mut req);
        let mut h = HeaderMap::new();
        upgrade.keep_headers(&mut h);
        assert!(h.is_empty());
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        assert!(matches!(upgrade.switch(&mut resp), Ok(None)));
    }

    #[test]
    fn a_switch_to_another_protocol_is_an_upstream_fault() {
        let mut req = Request::new(Body::empty());
        req.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        req.headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        let upgrade = ClientUpgrade::take(&mut req);
        let mut h = HeaderMap::new();
        upgrade.keep_headers(&mut h);
        assert_eq!(h[header::UPGRADE], "websocket");
        assert_eq!(h[header::CONNECTION], "upgrade");
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        resp.headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        assert!(matches!(
            upgrade.switch(&mut resp),
            Err(GatewayError::BadGateway)
        ));
    }
}
