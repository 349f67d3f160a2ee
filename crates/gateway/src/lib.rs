//! The Gatehouse gateway data plane: a reverse proxy in front of backend APIs that needs no
//! security code in the backend.
//!
//! ```text
//! request ─▶ route (host, method, path → API, operation)
//!         ─▶ authenticate (Bearer JWT: cached signature check, live expiry/revocation/audience;
//!                          API key: by digest, tied to the application's subscription)
//!         ─▶ authorize (scopes of the operation, approved subscription)
//!         ─▶ rate limit (per application)
//!         ─▶ identity headers (strip inbound X-Gatehouse-* / Forwarded, set verified ones)
//!         ─▶ forward (pooled HTTP/1.1, timeout, streaming bodies; a WebSocket upgrade the
//!                     backend accepts becomes a byte tunnel)
//! ```
//!
//! The forward-auth endpoint (`/.gatehouse/forward-auth`) runs the same decision for nginx,
//! Caddy, Traefik and Envoy without proxying.
//!
//! Errors are RFC 9457 problem documents with RFC 6750 challenges. This crate never logs tokens
//! and never forwards the caller's `Authorization` header to the backend.
#![forbid(unsafe_code)]

pub mod authn;
mod error;
pub mod forward_auth;
pub mod identity;
pub mod metrics;
pub mod mtls;
mod policy;
mod proxy;
pub mod quota;
pub mod route;
pub mod source;
pub mod spec;
pub mod sync;
pub mod tls;
mod upgrade;
pub mod upstream;
pub mod usage;

use std::sync::Arc;

pub use error::{GatewayError, Schemes};
pub use metrics::GatewayMetrics;
pub use policy::DecisionLog;
pub use proxy::{Decision, Gateway, Principal, RequestInfo};
pub use source::{ControlPlane, LocalControlPlane, Unavailable, View};
pub use spec::{GatewaySpec, RawControlPlane, RawGateway, SpecError};
pub use usage::UsageRecorder;

/// The gateway in force, swapped whole on reload: requests in flight keep the one they loaded.
pub type SharedGateway = Arc<arc_swap::ArcSwap<Gateway>>;

/// The gateway's router: the forward-auth endpoint, and every other path through the proxy.
pub fn router(gateway: SharedGateway) -> axum::Router {
    axum::Router::new()
        .route(forward_auth::PATH, axum::routing::any(forward_auth::handle))
        .fallback(proxy::handle)
        .with_state(gateway)
}
