//! Gatehouse listeners and the plumbing every HTTP server of ours shares: serving with
//! graceful drain, liveness and readiness, Prometheus metrics, request ids, and the check that
//! plain HTTP only listens on loopback.
//!
//! This crate knows nothing about OAuth, the store or keys; it must never log request bodies
//! or credentials.
#![forbid(unsafe_code)]

mod health;
mod metrics;
mod request_id;
mod serve;

pub use health::{Readiness, health_router};
pub use metrics::{Metrics, metrics_router};
pub use request_id::{RequestId, request_id_layer};
pub use serve::{ListenError, ServeOptions, check_plain_http_allowed, serve, serve_with};
