//! The Gatehouse OAuth 2.0 authorization server: the client credentials grant (RFC 6749 §4.4)
//! issuing RFC 9068 JWT access tokens, client authentication (secret, `private_key_jwt`),
//! mTLS client authentication and certificate-bound tokens (RFC 8705), introspection
//! (RFC 7662), revocation (RFC 7009), metadata (RFC 8414), and the certificate authority's
//! endpoints (`/ca/v1/*`, see [`certs`]).
//!
//! ```text
//! POST /oauth2/token ─▶ form (strict) ─▶ authenticate client ─▶ resolve audience & scopes
//!                       against the in-memory catalog ─▶ mint with the active key ─▶ no-store
//! ```
//!
//! Protocol logic lives in plain functions (`grant`, `verify`, `introspect`); `routes` is a
//! thin HTTP shell. The token path performs no database I/O: clients, APIs and subscriptions
//! come from the [`gatehouse_store::CatalogCache`], keys from the [`KeyService`] snapshot.
//! This crate never logs secrets, assertions or tokens.
#![forbid(unsafe_code)]

pub mod admin_auth;
pub mod assertion;
pub mod certs;
pub mod client_auth;
pub mod config;
mod error;
pub mod form;
pub mod grant;
pub mod introspect;
pub mod keyservice;
pub mod lockout;
pub mod metrics;
pub mod replay;
mod routes;
mod state;
pub mod verify;

pub use admin_auth::AdminTokens;
pub use config::{LockoutConfig, OAuthConfig};
pub use error::OAuthError;
pub use form::Form;
pub use keyservice::{KeyService, KeyServiceError};
pub use routes::router;
pub use state::{MtlsClientAuth, OAuthState};

#[doc(hidden)]
pub mod fuzzing {
    //! Entry points for cargo-fuzz targets.

    /// Parses an OAuth form body; must never panic.
    pub fn parse_form(data: &[u8]) {
        let _ = crate::Form::parse(data);
    }

    /// Reads the claimed client id of an assertion; must never panic.
    pub fn claimed_client_id(data: &[u8]) {
        if let Ok(s) = std::str::from_utf8(data) {
            let _ = crate::assertion::claimed_client_id(s);
        }
    }
}
