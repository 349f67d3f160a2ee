//! Gatehouse wire types: OAuth 2.0 bodies (RFC 6749, 7662, 7009, 8414), the OAuth error JSON,
//! and the admin API's request/response DTOs. Shared by the servers, the CLI and the SDK.
//!
//! Pure serde types; this crate never performs I/O and holds no business rules.
#![forbid(unsafe_code)]

pub mod admin;
pub mod ca;
mod oauth;
pub mod portal;

pub use oauth::{
    AuthorizationServerMetadata, IntrospectionResponse, MtlsEndpointAliases, OAuthErrorBody,
    OAuthErrorCode, TokenResponse,
};
