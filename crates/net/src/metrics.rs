//! Prometheus metrics: a registry owned by the server (no global recorder) and `GET /metrics`.

use std::sync::Arc;

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use parking_lot::Mutex;
use prometheus_client::registry::Registry;

/// The server's metric registry. Components register their families at start-up.
#[derive(Debug, Clone, Default)]
pub struct Metrics(Arc<Mutex<Registry>>);

impl Metrics {
    /// An empty registry with the `gatehouse` prefix.
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(Registry::with_prefix("gatehouse"))))
    }

    /// Registers metrics; `f` receives the registry.
    pub fn register(&self, f: impl FnOnce(&mut Registry)) {
        f(&mut self.0.lock());
    }

    /// The Prometheus text exposition of every registered metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail except on fmt errors we do not produce.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.0.lock());
        out
    }
}

/// Routes `GET /metrics`.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(metrics)
}

async fn render(State(m): State<Metrics>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.render(),
    )
}
