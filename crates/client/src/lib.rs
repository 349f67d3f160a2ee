//! Gatehouse client SDK.
//!
//! **Calling an API:** a [`TokenSource`] gets access tokens with the client credentials grant
//! or from the local `gatehouse agent`, caches them per audience and scopes, refreshes them in
//! the background before they are due (80 % of the lifetime, at most five minutes before
//! expiry), fetches once for concurrent callers, and keeps serving a valid token while the
//! authorization server is away.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use gatehouse_client::TokenSource;
//! // Next to `gatehouse agent`: the application holds no secret.
//! let tokens = TokenSource::from_agent_env()?;
//! let http = reqwest::Client::new();
//! let req = http.get("https://gateway.internal/orders/42");
//! let resp = tokens.authorize(req, "https://orders.example").await?.send().await?;
//! # let _ = resp; Ok(()) }
//! ```
//!
//! **Serving an API** without the gateway: a [`Verifier`] checks our JWT access tokens
//! in process — signature with a key from the JWKS (cached, refreshed, refetched once on an
//! unknown `kid`), `typ: at+jwt`, issuer, audience, `exp`/`nbf` with the injected clock — and
//! [`RequireScopes`] / the [`Authenticated`] extractor put a typed [`Principal`] in axum
//! handlers.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use gatehouse_client::{Authenticated, RequireScopes, Verifier};
//! let verifier = Verifier::new("http://127.0.0.1:7070", "https://orders.example")?;
//! let app: Router = Router::new()
//!     .route("/orders", get(|Authenticated(p): Authenticated| async move { p.client_id }))
//!     .layer(RequireScopes::new(verifier, ["orders:read"]));
//! # let _ = app; Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod cache;
pub mod refresh;
mod server;
pub mod source;
mod token_source;
mod verify;

pub use cache::{CacheError, TokenCache};
pub use server::{Authenticated, RequireScopes};
pub use source::{
    AgentEndpoint, ClientAuth, ClientIdentity, Fetch, FetchError, Fetched, TokenEndpoint, TokenKey,
    mtls_client,
};
pub use token_source::{SourceError, TokenSource};
pub use verify::{Principal, Verifier, VerifyError};
