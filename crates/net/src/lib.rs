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

pub use health::{health_router, Readiness};
pub use metrics::{metrics_router, Metrics};
pub use request_id::{request_id_layer, RequestId};
pub use serve::{check_plain_http_allowed, serve, ListenError};
