//! The Gatehouse gateway data plane: a reverse proxy in front of backend APIs that needs no
//! security code in the backend.
//!
//! ```text
//! request ─▶ route (host, method, path → API, operation)
//!         ─▶ authenticate (Bearer JWT: cached signature check, live expiry/revocation/audience)
//!         ─▶ authorize (scopes of the operation, approved subscription)
//!         ─▶ rate limit (per application)
//!         ─▶ identity headers (strip inbound X-Gatehouse-* / Forwarded, set verified ones)
//!         ─▶ forward (pooled HTTP/1.1, timeout, streaming bodies)
//! ```
//!
//! Errors are RFC 9457 problem documents with RFC 6750 challenges. This crate never logs tokens
//! and never forwards the caller's `Authorization` header to the backend.
#![forbid(unsafe_code)]

pub mod authn;
mod error;
pub mod identity;
mod proxy;
pub mod route;
pub mod spec;
pub mod upstream;

use std::sync::Arc;

pub use error::GatewayError;
pub use proxy::Gateway;
pub use spec::{GatewaySpec, RawGateway, SpecError};

/// The gateway's router: every path goes through the proxy pipeline.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .fallback(proxy::handle)
        .with_state(gateway)
}
