//! The admin API's OpenAPI 3.1 document, `GET /admin/v1/openapi.json`.
//!
//! Every route is registered through `utoipa_axum`'s `routes!`, which reads the handler's
//! `#[utoipa::path]`: a handler without one does not compile into the router, so the document
//! cannot miss a route. What a guard adds to every route behind it (its credentials and its
//! 401/403/429 answers) is written here, by [`Guard::document`], next to nothing else; what a
//! handler answers itself is written on the handler. Every error body is the [`Problem`]
//! schema, `application/problem+json`.
//!
//! The document is served without authentication: it describes the API and holds no data.

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use gatehouse_proto::admin::Problem;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, HeaderBuilder, ObjectBuilder, Ref, RefOr, Type};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{CSRF_HEADER, SESSION_COOKIE};

/// The media type of every error body (RFC 9457).
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// Security scheme: the admin token as a bearer token.
const ADMIN_TOKEN: &str = "admin_token";
/// Security scheme: the session cookie.
const SESSION: &str = "session";
/// Security scheme: the CSRF header unsafe requests under a session carry.
const CSRF: &str = "csrf";
/// Security scheme: an API owner's access token (policy routes).
const OWNER_TOKEN: &str = "owner_token";

/// The document's fixed part: metadata, security schemes, the shared error responses.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse admin API",
        description = "Manage APIs, applications, credentials, subscriptions, policies, keys, \
                       users and the audit log. Errors are RFC 9457 problem details \
                       (`application/problem+json`). Authenticate with the admin token \
                       (`Authorization: Bearer`), or with the `gatehouse_session` cookie from \
                       `POST /admin/v1/session` plus `X-CSRF-Token` on unsafe methods.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(
        schemas(Problem),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            SignInFailed,
            TooManyRequests,
            InternalError
        )
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "apis", description = "APIs (resource servers), their listings, plans and usage"),
        (name = "clients", description = "OAuth clients with secrets, API keys and certificates"),
        (name = "applications", description = "Applications (clients with an owner) as developers manage them"),
        (name = "subscriptions", description = "Subscriptions and grants, with their approval"),
        (name = "policies", description = "Rego policies on every API, one API or one operation"),
        (name = "keys", description = "Signing keys and the admin token"),
        (name = "people", description = "Users and sessions"),
        (name = "audit", description = "The audit log and the revocation feed"),
        (name = "meta", description = "This document"),
    )
)]
pub(crate) struct AdminApiDoc;

/// Which guard a group of routes sits behind; it decides the credentials and the error
/// answers every route of the group shares.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Guard {
    /// The admin token or an admin's session (a developer's session: 403).
    Admin,
    /// The policy routes: the admin token or an API owner's access token.
    Policy,
    /// Any signed-in user, or the admin token; the handler decides what the caller may see.
    SignedIn,
}

/// `GET /admin/v1/openapi.json`: the document itself.
#[utoipa::path(
    get,
    path = "/admin/v1/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    security(()),
    responses(
        (status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object)
    )
)]
pub(crate) async fn openapi_json(State(doc): State<Arc<OnceLock<String>>>) -> Response {
    let mut resp = doc.get().cloned().unwrap_or_default().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Adds the 500 answer every operation may give.
pub(crate) fn finish(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for (op, _) in operations(item) {
            add_response(op, "500", InternalError::NAME);
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = (&mut Operation, bool)> {
    [
        (item.get.as_mut(), false),
        (item.put.as_mut(), true),
        (item.post.as_mut(), true),
        (item.delete.as_mut(), true),
        (item.patch.as_mut(), true),
    ]
    .into_iter()
    .filter_map(|(op, unsafe_method)| op.map(|op| (op, unsafe_method)))
}

fn add_response(op: &mut Operation, status: &str, name: &str) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
}

impl Guard {
    /// Writes what this guard does into every operation of `doc`.
    pub(crate) fn document(self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for (op, unsafe_method) in operations(item) {
                op.security = Some(self.security(unsafe_method));
                for (status, name) in [
                    ("401", Unauthorized::NAME),
                    ("403", Forbidden::NAME),
                    ("429", TooManyRequests::NAME),
                ] {
                    add_response(op, status, name);
                }
            }
        }
    }

    fn security(self, unsafe_method: bool) -> Vec<SecurityRequirement> {
        let admin = SecurityRequirement::new(ADMIN_TOKEN, Vec::<String>::new());
        match self {
            Self::Policy => vec![
                admin,
                SecurityRequirement::new(OWNER_TOKEN, Vec::<String>::new()),
            ],
            Self::Admin | Self::SignedIn => {
                let mut session = SecurityRequirement::new(SESSION, Vec::<String>::new());
                if unsafe_method {
                    session = session.add(CSRF, Vec::<String>::new());
                }
                vec![admin, session]
            }
        }
    }
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            ADMIN_TOKEN,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token (written to `admin-token` in the data directory at \
                         first start; `gatehouse admin-token rotate` replaces it).",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            OWNER_TOKEN,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An API owner's access token for `urn:gatehouse:policies` carrying \
                         `policies:write` (policy routes only).",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The session cookie `POST /admin/v1/session` sets.",
            ))),
        );
        c.add_security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's `csrf_token`; unsafe methods under a session must send it.",
            ))),
        );
        debug_assert!(CSRF_HEADER.eq_ignore_ascii_case("X-CSRF-Token"));
    }
}

/// A shared problem+json response component.
trait ProblemResponse {
    /// The component's name.
    const NAME: &'static str;
    /// What it means.
    const DESCRIPTION: &'static str;
    /// A header it always carries, with its description.
    const HEADER: Option<(&'static str, &'static str)> = None;

    fn build() -> RefOr<utoipa::openapi::Response> {
        let mut r = ResponseBuilder::new()
            .description(Self::DESCRIPTION)
            .content(
                PROBLEM_JSON,
                Content::new(Some(RefOr::Ref(Ref::from_schema_name(Problem::name())))),
            );
        if let Some((name, description)) = Self::HEADER {
            r = r.header(
                name,
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some(description))
                    .build(),
            );
        }
        r.build().into()
    }
}

macro_rules! problem_responses {
    ($($(#[$doc:meta])* $name:ident = $description:literal $(, header $h:literal = $hd:literal)?;)*) => {$(
        $(#[$doc])*
        pub(crate) struct $name;

        impl ProblemResponse for $name {
            const NAME: &'static str = stringify!($name);
            const DESCRIPTION: &'static str = $description;
            $(const HEADER: Option<(&'static str, &'static str)> = Some(($h, $hd));)?
        }

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<utoipa::openapi::Response>) {
                (stringify!($name), <$name as ProblemResponse>::build())
            }
        }
    )*};
}

problem_responses! {
    /// 400.
    BadRequest = "The request is malformed or breaks a rule (the detail says which)";
    /// 401.
    Unauthorized = "Missing or wrong credentials", header "WWW-Authenticate" = "`Bearer realm=\"gatehouse-admin\"`";
    /// 403.
    Forbidden = "Authenticated, but not allowed: a developer on an admin route, a missing or wrong `X-CSRF-Token` under a session, or a record the caller may not manage";
    /// 404.
    NotFound = "No such record";
    /// 409.
    Conflict = "A duplicate name, audience or id, or a stale `if_version`";
    /// 401 of signing in.
    SignInFailed = "Wrong email or password, or a disabled user";
    /// 429.
    TooManyRequests = "Too many requests from this address, or too many failed sign-ins", header "Retry-After" = "Seconds to wait";
    /// 500.
    InternalError = "Internal fault; the body carries only a request id (the detail is logged)";
}

#[cfg(test)]
mod tests {
    /// The route files, whose every route must go through `routes!` (and so be documented).
    const ROUTE_FILES: [(&str, &str); 6] = [
        ("routes.rs", include_str!("../routes.rs")),
        ("accounts.rs", include_str!("accounts.rs")),
        ("applications.rs", include_str!("applications.rs")),
        ("audit.rs", include_str!("audit.rs")),
        ("catalog.rs", include_str!("catalog.rs")),
        ("policies.rs", include_str!("policies.rs")),
    ];

    #[test]
    fn every_admin_route_is_registered_through_routes_and_so_documented() {
        for (file, text) in ROUTE_FILES {
            for call in [".route(", ".route_service(", ".nest(", ".nest_service("] {
                assert!(
                    !text.contains(call),
                    "{file} adds a route with `{call}`, which the OpenAPI document does not \
                     see: use `.routes(routes!(handler))` with `#[utoipa::path]` on the handler"
                );
            }
        }
    }
}
