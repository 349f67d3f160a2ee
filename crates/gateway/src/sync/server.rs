//! The control plane's side of the sync protocol: `GET /gateway/v1/snapshot` (long-poll with
//! ETags) and `POST /gateway/v1/usage`. Callers authenticate with one of our access tokens for
//! [`CONTROL_PLANE_AUDIENCE`] carrying [`SYNC_SCOPE`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::LATENCY_BUCKETS;
use gatehouse_keys::KeyRing;
use gatehouse_oauth::OAuthState;
use gatehouse_oauth::verify::verify_access_token;
use gatehouse_store::Catalog;
use parking_lot::Mutex;

use super::wire::{Snapshot, UsageBatch};

/// The audience of tokens for the control plane's own APIs.
pub const CONTROL_PLANE_AUDIENCE: &str = "urn:gatehouse:control-plane";
/// The scope a gateway's token needs to sync and push usage.
pub const SYNC_SCOPE: &str = "gateway:sync";

/// Longest a snapshot request is held open.
const MAX_WAIT_SECS: u64 = 60;
/// How often a held request looks for a change.
const CHECK_EVERY: Duration = Duration::from_millis(200);
/// Largest usage batch body.
const MAX_USAGE_BYTES: usize = 16 * 1024 * 1024;
/// Most records in one usage batch.
const MAX_USAGE_RECORDS: usize = 100_000;
/// Most policy decisions one batch may carry.
const MAX_DECISIONS: usize = 20_000;

/// The sync routes, sharing the authorization server's state. `draining` tells when the server
/// is shutting down: held requests are then answered at once, so they never delay the drain.
pub fn sync_router(
    state: Arc<OAuthState>,
    draining: impl Fn() -> bool + Send + Sync + 'static,
) -> Router {
    let sync = Arc::new(SyncState {
        state,
        cache: Mutex::new(None),
        building: Mutex::new(()),
        draining: Box::new(draining),
    });
    Router::new()
        .route("/gateway/v1/snapshot", get(snapshot))
        .route("/gateway/v1/usage", post(usage))
        .with_state(sync)
}

struct SyncState {
    state: Arc<OAuthState>,
    cache: Mutex<Option<Arc<Encoded>>>,
    /// Held while a snapshot is serialized, so many held requests noticing one change build it
    /// once.
    building: Mutex<()>,
    draining: Box<dyn Fn() -> bool + Send + Sync>,
}

/// A snapshot serialized once per (catalog, key ring) pair.
#[derive(Debug)]
struct Encoded {
    catalog: Arc<Catalog>,
    ring: Arc<KeyRing>,
    etag: HeaderValue,
    body: Bytes,
}

/// Why a sync request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    BadRequest(&'static str),
    InvalidToken,
    InsufficientScope,
    Unavailable,
}

impl std::fmt::Debug for SyncState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncState").finish_non_exhaustive()
    }
}

// === impl SyncState ===

impl SyncState {
    /// The client id of a caller whose bearer token is ours, live, for the control plane and
    /// carries the sync scope.
    fn authorize(&self, headers: &HeaderMap) -> Result<String, Refusal> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(gatehouse_oauth::admin_auth::bearer_token)
            .ok_or(Refusal::InvalidToken)?;
        let ring = self.state.keys.ring();
        let catalog = self.state.catalog.get();
        let t = verify_access_token(
            token,
            &ring,
            &catalog,
            &self.state.config.issuer,
            self.state.now(),
        )
        .map_err(|_| Refusal::InvalidToken)?;
        if !t.has_audience(CONTROL_PLANE_AUDIENCE) {
            return Err(Refusal::InvalidToken);
        }
        let scopes = t.claims.get("scope").and_then(|s| s.as_str()).unwrap_or("");
        if !scopes.split(' ').any(|s| s == SYNC_SCOPE) {
            return Err(Refusal::InsufficientScope);
        }
        Ok(t.client_id)
    }

    /// The current snapshot, serialized (again only when the catalog or the key ring changed).
    fn current(&self) -> Result<Arc<Encoded>, Refusal> {
        let catalog = self.state.catalog.get();
        let ring = Arc::clone(&*self.state.keys.ring());
        let cached = || {
            self.cache
                .lock()
                .as_ref()
                .filter(|e| Arc::ptr_eq(&e.catalog, &catalog) && Arc::ptr_eq(&e.ring, &ring))
                .map(Arc::clone)
        };
        if let Some(e) = cached() {
            return Ok(e);
        }
        let _building = self.building.lock();
        if let Some(e) = cached() {
            return Ok(e);
        }
        let ca = self.state.ca.as_ref().map(|ca| super::wire::SyncedCa {
            bundle: ca.bundle_pem().to_owned(),
            trust_domain: ca.authority().trust_domain().to_string(),
        });
        let snapshot = Snapshot::of(&catalog, &self.state.config.issuer, ring.jwks().clone(), ca);
        let body = serde_json::to_vec(&snapshot).map_err(|e| {
            tracing::error!(error = %e, "snapshot serialization failed");
            Refusal::Unavailable
        })?;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &body);
        let digest = digest.as_ref();
        let etag = format!("\"{}\"", hex(digest.get(..16).unwrap_or(digest)));
        let encoded = Arc::new(Encoded {
            catalog,
            ring,
            etag: HeaderValue::from_str(&etag).map_err(|_| Refusal::Unavailable)?,
            body: Bytes::from(body),
        });
        *self.cache.lock() = Some(Arc::clone(&encoded));
        Ok(encoded)
    }
}

/// `GET /gateway/v1/snapshot[?wait=SECS]` with optional `If-None-Match`.
async fn snapshot(
    State(s): State<Arc<SyncState>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let result: Result<(StatusCode, Option<Arc<Encoded>>), Refusal> = async {
        s.authorize(&headers)?;
        let wait = wait_param(uri.query())?;
        let known = headers
            .get(header::IF_NONE_MATCH)
            .map(HeaderValue::as_bytes)
            .map(<[u8]>::to_vec);
        let held = async {
            loop {
                let current = s.current()?;
                if known.as_deref() != Some(current.etag.as_bytes()) {
                    return Ok::<_, Refusal>(Some(current));
                }
                if (s.draining)() {
                    return Ok(None);
                }
                tokio::time::sleep(CHECK_EVERY).await;
            }
        };
        match tokio::time::timeout(wait, held).await {
            Ok(Ok(Some(current))) => Ok((StatusCode::OK, Some(current))),
            Ok(Err(e)) => Err(e),
            Ok(Ok(None)) | Err(_) => Ok((StatusCode::NOT_MODIFIED, s.current().ok())),
        }
    }
    .await;
    match result {
        Ok((status, encoded)) => {
            let mut builder = Response::builder()
                .status(status)
                .header(header::CACHE_CONTROL, "no-store");
            let body = match encoded {
                Some(e) => {
                    builder = builder.header(header::ETAG, e.etag.clone());
                    if status == StatusCode::OK {
                        builder = builder.header(header::CONTENT_TYPE, "application/json");
                        Body::from(e.body.clone())
                    } else {
                        Body::empty()
                    }
                }
                None => Body::empty(),
            };
            builder
                .body(body)
                .unwrap_or_else(|_| Refusal::Unavailable.into_response())
        }
        Err(r) => r.into_response(),
    }
}

/// `POST /gateway/v1/usage` with a [`UsageBatch`].
async fn usage(State(s): State<Arc<SyncState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let result = async {
        let client = s.authorize(&parts.headers)?;
        let body = axum::body::to_bytes(body, MAX_USAGE_BYTES)
            .await
            .map_err(|_| Refusal::BadRequest("body unreadable or over 16 MiB"))?;
        let batch: UsageBatch = serde_json::from_slice(&body)
            .map_err(|_| Refusal::BadRequest("body is not a usage batch"))?;
        check_batch(&batch)?;
        // Batch ids are namespaced by the gateway's client id: one gateway can never mark
        // another's batch as delivered.
        let id = format!("{client}/{}", batch.batch_id);
        s.state
            .store
            .add_usage(&id, &batch.records)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "storing a gateway's usage batch failed");
                Refusal::Unavailable
            })?;
        if !batch.decisions.is_empty() {
            s.state
                .store
                .add_decisions(&batch.decisions)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "storing a gateway's policy decisions failed");
                    Refusal::Unavailable
                })?;
        }
        Ok::<_, Refusal>(())
    }
    .await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => r.into_response(),
    }
}

fn check_batch(batch: &UsageBatch) -> Result<(), Refusal> {
    let id_ok = !batch.batch_id.is_empty()
        && batch.batch_id.len() <= 128
        && batch
            .batch_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !id_ok {
        return Err(Refusal::BadRequest(
            "batch_id: 1 to 128 characters of [A-Za-z0-9_-]",
        ));
    }
    if batch.records.len() > MAX_USAGE_RECORDS {
        return Err(Refusal::BadRequest("too many records in one batch"));
    }
    for r in &batch.records {
        if r.latency_buckets.len() != LATENCY_BUCKETS
            || !(1..=5).contains(&r.status_class)
            || r.minute.0.rem_euclid(60) != 0
            || r.operation.len() > 256
            || r.operation.contains('\0')
        {
            return Err(Refusal::BadRequest("malformed usage record"));
        }
    }
    if batch.decisions.len() > MAX_DECISIONS {
        return Err(Refusal::BadRequest("too many decisions in one batch"));
    }
    let text_ok = |t: &str, max: usize| t.len() <= max && !t.contains('\0');
    for d in &batch.decisions {
        if !text_ok(&d.operation, 256)
            || !text_ok(&d.outcome, 16)
            || !text_ok(&d.method, 32)
            || !text_ok(&d.path, 4096)
            || !d.reason.as_deref().is_none_or(|r| text_ok(r, 1024))
        {
            return Err(Refusal::BadRequest("malformed policy decision"));
        }
    }
    Ok(())
}

/// `wait=SECS` (default 0, at most [`MAX_WAIT_SECS`]).
fn wait_param(query: Option<&str>) -> Result<Duration, Refusal> {
    let mut wait = 0;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("wait", v)) => {
                wait = v
                    .parse::<u64>()
                    .map_err(|_| Refusal::BadRequest("wait: seconds as an integer"))?;
            }
            _ => return Err(Refusal::BadRequest("unknown query parameter")),
        }
    }
    Ok(Duration::from_secs(wait.min(MAX_WAIT_SECS)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, detail, challenge) = match self {
            Self::BadRequest(d) => (StatusCode::BAD_REQUEST, d, None),
            Self::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "a valid access token for the control plane is required",
                Some("Bearer realm=\"gatehouse\", error=\"invalid_token\"".to_owned()),
            ),
            Self::InsufficientScope => (
                StatusCode::FORBIDDEN,
                "the token lacks the gateway:sync scope",
                Some(format!(
                    "Bearer realm=\"gatehouse\", error=\"insufficient_scope\", scope=\"{SYNC_SCOPE}\""
                )),
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily unavailable",
                None,
            ),
        };
        let mut resp = crate::error::problem(status, detail);
        if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, c);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_is_capped_and_strictly_parsed() {
        assert_eq!(wait_param(None), Ok(Duration::ZERO));
        assert_eq!(wait_param(Some("wait=5")), Ok(Duration::from_secs(5)));
        assert_eq!(
            wait_param(Some("wait=99999")),
            Ok(Duration::from_secs(MAX_WAIT_SECS))
        );
        assert!(wait_param(Some("wait=-1")).is_err());
        assert!(wait_param(Some("wait=5&x=1")).is_err());
    }

    #[test]
    fn malformed_usage_batches_are_refused() {
        let record = gatehouse_core::UsageRecord {
            minute: gatehouse_core::UnixTime(1_800_000_000),
            api_id: "api_1".parse().unwrap(),
            client_id: "app_1".parse().unwrap(),
            operation: "get".into(),
            status_class: 2,
            count: 1,
            latency_buckets: vec![0; LATENCY_BUCKETS],
        };
        let ok = UsageBatch {
            batch_id: "usage_abc".into(),
            records: vec![record.clone()],
            decisions: Vec::new(),
        };
        assert!(check_batch(&ok).is_ok());
        let bad_id = UsageBatch {
            batch_id: "a/b".into(),
            ..ok
        };
        assert!(check_batch(&bad_id).is_err());
        let mut bad_buckets = record.clone();
        bad_buckets.latency_buckets.pop();
        assert!(
            check_batch(&UsageBatch {
                batch_id: "x".into(),
                records: vec![bad_buckets],
                decisions: Vec::new(),
            })
            .is_err()
        );
        let mut bad_minute = record;
        bad_minute.minute.0 += 1;
        assert!(
            check_batch(&UsageBatch {
                batch_id: "x".into(),
                records: vec![bad_minute],
                decisions: Vec::new(),
            })
            .is_err()
        );
    }
}
