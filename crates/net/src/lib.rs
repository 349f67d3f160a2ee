//! Gatehouse listeners and the plumbing every HTTP server of ours shares: serving plain HTTP
//! ([`serve`]) or TLS ([`serve_tls`]) with graceful drain, liveness and readiness, Prometheus
//! metrics, request ids, and the check that plain HTTP only listens on loopback.
//!
//! TLS listeners present a certificate that can be swapped at runtime ([`CertResolver`]) and
//! may ask clients for a certificate ([`ClientCerts::Request`]). The handshake checks only that
//! the client holds the key of the certificate it shows; handlers receive the chain as
//! [`PeerCertificates`] and must validate it against the API's trusted CAs before believing it.
//!
//! This crate knows nothing about OAuth, the store or keys; it must never log request bodies
//! or credentials.
#![forbid(unsafe_code)]

mod health;
mod metrics;
mod problem;
mod request_id;
mod serve;
mod tls;

pub use health::{Readiness, health_router};
pub use metrics::{Metrics, metrics_router};
pub use problem::problem;
pub use request_id::{RequestId, request_id_layer};
pub use serve::{ListenError, ServeOptions, check_plain_http_allowed, serve, serve_with};
pub use tls::{
    CertResolver, ClientCerts, PeerCertificates, TlsConfigError, TlsInfo, TlsSettings,
    certified_key_from_pem, serve_tls, serve_tls_with, server_config,
};
