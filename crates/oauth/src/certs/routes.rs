//! HTTP face of the CA: `POST /ca/v1/sign`, `GET /ca/v1/bundle.pem`, `GET /ca/v1/bundle`
//! (SPIFFE). Errors are RFC 9457 problem+json; a missing or bad credential is 401 with a
//! `WWW-Authenticate: Bearer` challenge.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_net::PeerCertificates;
use gatehouse_proto::ca::SignRequest;

use super::{CA_AUDIENCE, CA_SCOPE, CertificateService, SignError, SignOrder};
use crate::OAuthState;
use crate::verify::verify_access_token;

/// Largest sign request body (a CSR is at most 16 KiB; JSON escaping adds a little).
const MAX_SIGN_BODY: usize = 32 * 1024;
/// How long clients may cache the trust bundle.
const BUNDLE_MAX_AGE: &str = "public, max-age=300";

/// The CA's routes.
pub fn router(state: Arc<OAuthState>) -> Router {
    Router::new()
        .route("/ca/v1/sign", post(sign))
        .route("/ca/v1/bundle.pem", get(bundle_pem))
        .route("/ca/v1/bundle", get(spiffe_bundle))
        .with_state(state)
}

fn disabled() -> Response {
    gatehouse_net::problem(
        StatusCode::NOT_FOUND,
        Some("the certificate authority is disabled"),
        None,
    )
}

async fn bundle_pem(State(state): State<Arc<OAuthState>>) -> Response {
    match state.ca.as_deref() {
        Some(ca) => bundle(
            ca.bundle_pem().as_bytes().to_vec(),
            "application/pem-certificate-chain",
        ),
        None => disabled(),
    }
}

async fn spiffe_bundle(State(state): State<Arc<OAuthState>>) -> Response {
    match state.ca.as_deref() {
        Some(ca) => bundle(ca.spiffe_bundle().to_vec(), "application/json"),
        None => disabled(),
    }
}

fn bundle(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut resp = Response::new(Body::from(body));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(BUNDLE_MAX_AGE),
    );
    resp
}

async fn sign(State(state): State<Arc<OAuthState>>, req: Request) -> Response {
    let Some(ca) = state.ca.as_deref() else {
        return disabled();
    };
    let (parts, body) = req.into_parts();
    let token_sent = parts.headers.contains_key(header::AUTHORIZATION);
    let result = async {
        let client = caller(&state, ca, &parts.headers, parts.extensions.get())?;
        let is_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(SignError::BadRequest(
                "Content-Type must be application/json".into(),
            ));
        }
        let bytes = axum::body::to_bytes(body, MAX_SIGN_BODY)
            .await
            .map_err(|_| SignError::BadRequest("request body exceeds 32 KiB".into()))?;
        let body: SignRequest = serde_json::from_slice(&bytes)
            .map_err(|e| SignError::BadRequest(format!("invalid JSON body: {e}")))?;
        let catalog = state.catalog.get();
        let actor = format!("client:{client}");
        let order = SignOrder {
            client_id: &client,
            csr: body.csr.as_bytes(),
            ttl: body.ttl.as_deref(),
            actor: &actor,
        };
        ca.sign(state.store.as_ref(), &catalog, order, state.now())
            .await
    }
    .await;
    match result {
        Ok(signed) => {
            let mut resp = (StatusCode::OK, axum::Json(signed)).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => error_response(&e, token_sent),
    }
}

/// Who is asking: the client of a bearer token for the CA, or (renewal) the owner of the
/// still-valid certificate of ours presented at the TLS handshake.
fn caller(
    state: &OAuthState,
    ca: &CertificateService,
    headers: &HeaderMap,
    peer: Option<&PeerCertificates>,
) -> Result<String, SignError> {
    let catalog = state.catalog.get();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(crate::admin_auth::bearer_token)
            .ok_or(SignError::Unauthenticated("expected a Bearer token"))?;
        let t = verify_access_token(
            token,
            &state.keys.ring(),
            &catalog,
            &state.config.issuer,
            state.now(),
        )
        .map_err(|_| SignError::Unauthenticated("invalid token"))?;
        if !t.has_audience(CA_AUDIENCE) {
            return Err(SignError::Unauthenticated("invalid token"));
        }
        let scopes = t.claims.get("scope").and_then(|s| s.as_str()).unwrap_or("");
        if !scopes.split(' ').any(|s| s == CA_SCOPE) {
            return Err(SignError::InsufficientScope);
        }
        return Ok(t.client_id);
    }
    let Some(peer) = peer else {
        return Err(SignError::Unauthenticated(
            "present a bearer token for urn:gatehouse:ca, or renew over mTLS with your current certificate",
        ));
    };
    let (client, _) = ca.certificate_owner(&catalog, peer.chain(), state.now())?;
    Ok(client.to_string())
}

fn error_response(e: &SignError, token_sent: bool) -> Response {
    let status = match e {
        SignError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        SignError::Forbidden(_) | SignError::InsufficientScope => StatusCode::FORBIDDEN,
        SignError::BadRequest(_) => StatusCode::BAD_REQUEST,
        SignError::NotFound => StatusCode::FORBIDDEN,
        SignError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let detail = match e {
        // A token of a client that was deleted meanwhile: not worth telling apart.
        SignError::NotFound => "application not found".to_owned(),
        other => other.to_string(),
    };
    let mut resp = gatehouse_net::problem(status, Some(&detail), None);
    if matches!(e, SignError::InsufficientScope) {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(
                "Bearer realm=\"gatehouse-ca\", error=\"insufficient_scope\", scope=\"ca:sign\"",
            ),
        );
    }
    if status == StatusCode::UNAUTHORIZED {
        let challenge = if token_sent {
            "Bearer realm=\"gatehouse-ca\", error=\"invalid_token\""
        } else {
            "Bearer realm=\"gatehouse-ca\""
        };
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    resp
}
