//! HTTP routes of the authorization server: thin shells around the grant, introspection and
//! revocation functions. `router(state)` is tested with `oneshot`, no socket needed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::{Alg, AuthMethod};
use gatehouse_keys::secret;
use gatehouse_net::{PeerCertificates, RequestId};
use gatehouse_proto::AuthorizationServerMetadata;

use crate::client_auth::{AttemptInfo, authenticate};
use crate::form::MAX_FORM_BYTES;
use crate::grant::{self, TokenParams};
use crate::introspect::{Introspector, introspect};
use crate::metrics::{EndpointLabels, GrantLabels};
use crate::verify::verify_access_token;
use crate::{Form, OAuthError, OAuthState};

/// The authorization server's routes.
pub fn router(state: Arc<OAuthState>) -> Router {
    Router::new()
        .route("/oauth2/token", post(token))
        .route("/oauth/token", post(token))
        .route("/oauth2/introspect", post(introspect_endpoint))
        .route("/oauth/check_token", post(introspect_endpoint))
        .route("/oauth2/revoke", post(revoke))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/.well-known/openid-configuration", get(metadata))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/oauth2/jwks", get(jwks))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(Arc::clone(&state))
        .merge(crate::certs::routes::router(state))
}

/// A wrong method on an OAuth endpoint still answers in the protocol's JSON.
async fn method_not_allowed() -> Response {
    let mut resp =
        OAuthError::invalid_request("method not allowed on this endpoint").to_response("");
    *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    resp
}

/// The parts of a request every OAuth endpoint reads.
struct OAuthRequest {
    headers: HeaderMap,
    form: Result<Form, OAuthError>,
    peer: Option<IpAddr>,
    certificates: Option<PeerCertificates>,
    request_id: String,
}

async fn read_request(req: Request) -> OAuthRequest {
    let (parts, body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .map(|r| r.0.to_string())
        .unwrap_or_default();
    let certificates = parts.extensions.get::<PeerCertificates>().cloned();
    let form = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
        Ok(bytes) => Form::from_request(&parts.headers, &bytes),
        Err(_) => Err(OAuthError::invalid_request("request body exceeds 64 KiB")),
    };
    OAuthRequest {
        headers: parts.headers,
        form,
        peer,
        certificates,
        request_id,
    }
}

fn no_store(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

async fn token(State(state): State<Arc<OAuthState>>, req: Request) -> Response {
    #[expect(
        clippy::disallowed_methods,
        reason = "latency metric measures real elapsed time"
    )]
    let started = std::time::Instant::now();
    let r = read_request(req).await;
    let mut info = AttemptInfo::default();
    let result = issue_token(&state, &r, &mut info).await;
    let labels = GrantLabels {
        client: info
            .client
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), ToString::to_string),
        method: info.method.map_or("none", AuthMethod::as_str),
        result: match &result {
            Ok(_) => "ok",
            Err(e) => e.code().as_str(),
        },
    };
    state.metrics.grants.get_or_create(&labels).inc();
    let resp = match result {
        Ok(body) => no_store(axum::Json(body).into_response()),
        Err(e) => {
            if e == OAuthError::ServerError {
                tracing::error!(request_id = %r.request_id, "token request failed");
            }
            e.to_response(&r.request_id)
        }
    };
    state
        .metrics
        .token_latency
        .observe(started.elapsed().as_secs_f64());
    resp
}

async fn issue_token(
    state: &OAuthState,
    r: &OAuthRequest,
    info: &mut AttemptInfo,
) -> Result<gatehouse_proto::TokenResponse, OAuthError> {
    let form = r.form.as_ref().map_err(Clone::clone)?;
    let catalog = state.catalog.get();
    match form.get("grant_type") {
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some("client_credentials") => {}
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
    }
    let client = authenticate(
        state,
        &catalog,
        &r.headers,
        form,
        r.peer,
        r.certificates.as_ref(),
        info,
    )
    .await?;
    if client.entry.client.tls.bound_tokens && client.binding().is_none() {
        return Err(OAuthError::invalid_request(
            "this client's tokens are bound to its certificate: present it at the TLS handshake",
        ));
    }
    let params = TokenParams {
        resources: form.get_all("resource").collect(),
        audience: form.get("audience"),
        scope: form.get("scope"),
    };
    let target = grant::resolve(&params, &client.entry, &catalog)?;
    let jti = secret::random_base62(22);
    grant::mint(
        &target,
        &client.entry,
        &state.keys.ring(),
        &state.config.issuer,
        state.now(),
        &jti,
        client.binding(),
    )
}

async fn introspect_endpoint(State(state): State<Arc<OAuthState>>, req: Request) -> Response {
    let r = read_request(req).await;
    let result = introspect_inner(&state, &r).await;
    endpoint_metric(&state, "introspect", &result);
    match result {
        Ok(body) => no_store(axum::Json(body).into_response()),
        Err(e) => e.to_response(&r.request_id),
    }
}

async fn introspect_inner(
    state: &OAuthState,
    r: &OAuthRequest,
) -> Result<gatehouse_proto::IntrospectionResponse, OAuthError> {
    let form = r.form.as_ref().map_err(Clone::clone)?;
    let catalog = state.catalog.get();
    let token = form
        .get("token")
        .ok_or(OAuthError::invalid_request("token is required"))?;
    let now = state.now();
    let bearer = r
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if bearer.is_some_and(|v| state.admin_tokens.verify_bearer_header(v)) {
        return Ok(introspect(state, &catalog, Introspector::Admin, token, now));
    }
    let client = authenticate(
        state,
        &catalog,
        &r.headers,
        form,
        r.peer,
        r.certificates.as_ref(),
        &mut AttemptInfo::default(),
    )
    .await?;
    Ok(introspect(
        state,
        &catalog,
        Introspector::Client(client.entry.client.id.as_str()),
        token,
        now,
    ))
}

async fn revoke(State(state): State<Arc<OAuthState>>, req: Request) -> Response {
    let r = read_request(req).await;
    let result = revoke_inner(&state, &r).await;
    endpoint_metric(&state, "revoke", &result);
    match result {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => {
            if e == OAuthError::ServerError {
                tracing::error!(request_id = %r.request_id, "revocation failed");
            }
            e.to_response(&r.request_id)
        }
    }
}

/// RFC 7009: authenticate, then revoke the token if it is ours and issued to the caller.
/// Invalid or expired tokens get 200 (nothing to do); another client's token is refused.
async fn revoke_inner(state: &OAuthState, r: &OAuthRequest) -> Result<(), OAuthError> {
    let form = r.form.as_ref().map_err(Clone::clone)?;
    let catalog = state.catalog.get();
    let token = form
        .get("token")
        .ok_or(OAuthError::invalid_request("token is required"))?;
    if let Some(hint) = form.get("token_type_hint")
        && hint != "access_token"
        && hint != "refresh_token"
    {
        return Err(OAuthError::UnsupportedTokenType);
    }
    let client = authenticate(
        state,
        &catalog,
        &r.headers,
        form,
        r.peer,
        r.certificates.as_ref(),
        &mut AttemptInfo::default(),
    )
    .await?;
    let now = state.now();
    let Ok(t) = verify_access_token(
        token,
        &state.keys.ring(),
        &catalog,
        &state.config.issuer,
        now,
    ) else {
        return Ok(());
    };
    if t.client_id != client.entry.client.id.as_str() {
        return Err(OAuthError::UnauthorizedClient(
            "the token was not issued to this client",
        ));
    }
    let revoked = gatehouse_core::RevokedToken {
        jti: t.jti.clone(),
        client_id: client.entry.client.id.clone(),
        expires_at: gatehouse_core::UnixTime(t.exp),
        revoked_at: now,
    };
    state.store.revoke_token(&revoked).await.map_err(|e| {
        tracing::error!(error = %e, "storing revocation failed");
        OAuthError::ServerError
    })?;
    state.reload_catalog().await.map_err(|e| {
        tracing::error!(error = %e, "catalog reload failed");
        OAuthError::ServerError
    })?;
    tracing::info!(client = %client.entry.client.id, jti = %t.jti, "access token revoked");
    Ok(())
}

fn endpoint_metric<T>(state: &OAuthState, endpoint: &'static str, result: &Result<T, OAuthError>) {
    let result = match result {
        Ok(_) => "ok",
        Err(e) => e.code().as_str(),
    };
    state
        .metrics
        .endpoints
        .get_or_create(&EndpointLabels { endpoint, result })
        .inc();
}

async fn metadata(State(state): State<Arc<OAuthState>>) -> Response {
    let i = &state.config.issuer;
    let catalog = state.catalog.get();
    let mut scopes: Vec<String> = catalog
        .apis()
        .flat_map(|a| a.scopes.iter().map(|s| s.to_string()))
        .collect();
    scopes.sort();
    scopes.dedup();
    // The mTLS methods only where a client can present a certificate: an mTLS listener.
    let methods: Vec<String> = AuthMethod::ALL
        .iter()
        .filter(|m| !m.uses_certificate() || state.mtls.base_url.is_some())
        .map(|m| m.as_str().to_owned())
        .collect();
    let mtls_endpoint_aliases =
        state
            .mtls
            .base_url
            .as_ref()
            .map(|b| gatehouse_proto::MtlsEndpointAliases {
                token_endpoint: format!("{b}/oauth2/token"),
                introspection_endpoint: format!("{b}/oauth2/introspect"),
                revocation_endpoint: format!("{b}/oauth2/revoke"),
            });
    let assertion_algs: Vec<String> = [
        "ES256", "ES384", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    ]
    .map(String::from)
    .to_vec();
    let body = AuthorizationServerMetadata {
        issuer: i.clone(),
        token_endpoint: format!("{i}/oauth2/token"),
        jwks_uri: format!("{i}/.well-known/jwks.json"),
        grant_types_supported: vec!["client_credentials".into()],
        response_types_supported: vec![],
        token_endpoint_auth_methods_supported: methods.clone(),
        token_endpoint_auth_signing_alg_values_supported: assertion_algs.clone(),
        introspection_endpoint: format!("{i}/oauth2/introspect"),
        introspection_endpoint_auth_methods_supported: methods.clone(),
        introspection_endpoint_auth_signing_alg_values_supported: assertion_algs.clone(),
        revocation_endpoint: format!("{i}/oauth2/revoke"),
        revocation_endpoint_auth_methods_supported: methods,
        revocation_endpoint_auth_signing_alg_values_supported: assertion_algs,
        scopes_supported: scopes,
        access_token_signing_alg_values_supported: Alg::ALL
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        tls_client_certificate_bound_access_tokens: state.mtls.base_url.is_some(),
        mtls_endpoint_aliases,
    };
    let mut resp = axum::Json(body).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

async fn jwks(State(state): State<Arc<OAuthState>>) -> Response {
    let ring = state.keys.ring();
    let max_age = state.config.jwks_max_age.as_secs();
    let mut resp = Response::new(Body::from(ring.jwks_bytes().to_vec()));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    resp
}
