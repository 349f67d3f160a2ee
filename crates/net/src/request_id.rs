//! Request ids: taken from `X-Request-Id` when the caller sent a sane one, generated otherwise,
//! stored in request extensions and echoed in the response.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::{extract::Request, http::HeaderValue, middleware::Next, response::Response};

/// The id of the request being served (in request extensions).
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

static HEADER: &str = "x-request-id";

#[derive(Debug)]
struct Generator {
    prefix: u64,
    counter: AtomicU64,
}

/// Middleware function adding [`RequestId`]; use with `axum::middleware::from_fn`.
pub fn request_id_layer()
-> impl Fn(Request, Next) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    let generator = Arc::new(Generator {
        prefix: h.finish() & 0xffff_ffff,
        counter: AtomicU64::new(0),
    });
    move |mut req: Request, next: Next| {
        let generator = Arc::clone(&generator);
        Box::pin(async move {
            let incoming = req
                .headers()
                .get(HEADER)
                .and_then(|v| v.to_str().ok())
                .filter(|v| {
                    !v.is_empty()
                        && v.len() <= 64
                        && v.bytes().all(|b| {
                            b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'
                        })
                })
                .map(Arc::<str>::from);
            let id = incoming.unwrap_or_else(|| {
                let n = generator.counter.fetch_add(1, Ordering::Relaxed);
                Arc::from(format!("{:08x}-{n:x}", generator.prefix))
            });
            req.extensions_mut().insert(RequestId(Arc::clone(&id)));
            let mut resp = next.run(req).await;
            if let Ok(v) = HeaderValue::from_str(&id) {
                resp.headers_mut().insert(HEADER, v);
            }
            resp
        })
    }
}
