//! Token introspection (RFC 7662) and the Spring-style `/oauth/check_token` alias.
//!
//! A caller sees a token as active only if it was issued to the caller itself, the caller is
//! registered as the resource server of an API in the token's audience, or it holds an admin
//! token. Everything else — foreign, invalid, expired, revoked — is
//! `{"active": false}`, so introspection never tells a stranger anything.

use gatehouse_core::UnixTime;
use gatehouse_proto::IntrospectionResponse;
use gatehouse_store::Catalog;
use serde_json::Value;

use crate::OAuthState;
use crate::verify::{AccessToken, verify_access_token};

/// Who is asking.
#[derive(Debug, Clone, Copy)]
pub enum Introspector<'a> {
    /// An administrator: may introspect any token.
    Admin,
    /// A client: may introspect its own tokens.
    Client(&'a str),
}

/// The RFC 7662 answer for `token` as seen by `who`.
pub fn introspect(
    state: &OAuthState,
    catalog: &Catalog,
    who: Introspector<'_>,
    token: &str,
    now: UnixTime,
) -> IntrospectionResponse {
    let ring = state.keys.ring();
    let Ok(t) = verify_access_token(token, &ring, catalog, &state.config.issuer, now) else {
        return IntrospectionResponse::default();
    };
    let allowed = match who {
        Introspector::Admin => true,
        Introspector::Client(id) => t.client_id == id || is_resource_server(catalog, &t, id),
    };
    if !allowed {
        return IntrospectionResponse::default();
    }
    active_response(t)
}

/// Whether `client` is registered as the resource server of an API in the token's audience.
fn is_resource_server(catalog: &Catalog, t: &AccessToken, client: &str) -> bool {
    t.audiences().into_iter().any(|aud| {
        catalog
            .api_by_audience(aud)
            .is_some_and(|api| api.resource_servers.iter().any(|c| c.as_str() == client))
    })
}

fn active_response(t: AccessToken) -> IntrospectionResponse {
    let mut claims = t.claims;
    let mut take_str = |k: &str| claims.remove(k).and_then(|v| v.as_str().map(str::to_owned));
    let scope = take_str("scope");
    let sub = take_str("sub");
    let iss = take_str("iss");
    let _ = take_str("client_id");
    let _ = take_str("jti");
    let aud = claims.remove("aud");
    let nbf = claims.remove("nbf").and_then(|v| v.as_i64());
    claims.remove("exp");
    claims.remove("iat");
    claims.retain(|k, _| !matches!(k.as_str(), "active" | "token_type" | "username"));
    IntrospectionResponse {
        active: true,
        client_id: Some(t.client_id),
        scope,
        sub,
        aud: aud.filter(|a| !matches!(a, Value::Null)),
        iss,
        exp: Some(t.exp),
        iat: Some(t.iat),
        nbf,
        jti: Some(t.jti),
        token_type: Some("Bearer".into()),
        extra: claims,
    }
}
