//! The `gatehouse` binary's integration tests, compiled as one test binary: each module starts
//! the real server (in process on `127.0.0.1:0`, or the built binary) and talks to it with real
//! clients (reqwest, curl, nginx, Caddy). One binary instead of one per file keeps the debug
//! build's link step, and the disk it needs, small.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code fails loudly"
)]

mod common;

mod admin_api;
mod admin_api_keys;
mod agent;
mod ca_mtls;
mod client_sdk;
mod e2e_agent;
mod e2e_api_keys;
mod e2e_cli;
mod e2e_policy_cli;
mod e2e_postgres;
mod forward_auth;
mod gateway_api_keys;
mod gateway_basic;
mod gateway_basic_auth;
mod gateway_identity;
mod gateway_more;
mod gateway_mtls;
mod gateway_overrides;
mod gateway_policy;
mod gateway_reload;
mod gateway_standalone;
mod gateway_upstream_tls;
mod gateway_usage;
mod gateway_websocket;
mod key_rotation;
mod oauth_errors;
mod oauth_introspect_revoke;
mod oauth_keys_discovery;
mod oauth_private_key_jwt;
mod oauth_token;
mod openapi;
mod portal_api;
mod portal_browser;
mod portal_pages;
mod resource_server;
mod revocations_feed;
