//! `GET /healthz` (liveness) and `GET /readyz` (readiness).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::{Router, extract::State, http::StatusCode, routing::get};

/// Whether the server is ready to serve traffic (keys loaded, admin token written, …).
#[derive(Debug, Default, Clone)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// A not-yet-ready flag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the server ready.
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Marks the server not ready (e.g. while draining).
    pub fn set_not_ready(&self) {
        self.0.store(false, Ordering::Release);
    }

    /// Whether the server is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Routes `/healthz` (always 200 while the process serves) and `/readyz` (200 once ready, else 503).
pub fn health_router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(readiness)
}

async fn readyz(State(r): State<Readiness>) -> (StatusCode, &'static str) {
    if r.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    #[tokio::test]
    async fn readyz_answers_503_until_ready() {
        let r = Readiness::new();
        let app = health_router(r.clone());
        let req = || Request::get("/readyz").body(Body::empty()).unwrap();
        assert_eq!(
            app.clone().oneshot(req()).await.unwrap().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        r.set_ready();
        assert_eq!(
            app.clone().oneshot(req()).await.unwrap().status(),
            StatusCode::OK
        );
        let live = Request::get("/healthz").body(Body::empty()).unwrap();
        assert_eq!(app.oneshot(live).await.unwrap().status(), StatusCode::OK);
    }
}
