//! The sync protocol between a standalone gateway (`gatehouse gateway`) and its control plane
//! (`gatehouse serve`).
//!
//! ```text
//! gateway                                           control plane
//!   POST /oauth2/token  (client credentials,  ───▶  a token for urn:gatehouse:control-plane
//!        resource=urn:gatehouse:control-plane,       with scope gateway:sync
//!        scope=gateway:sync)
//!   GET /gateway/v1/snapshot?wait=25          ───▶  200 + ETag: the snapshot, when it differs
//!       If-None-Match: "<etag>"                      from <etag>; otherwise held open until it
//!                                                    changes (answered at once) or `wait` ends
//!                                                    (304)
//!   POST /gateway/v1/usage {batch_id, records} ───▶  204; a batch id seen before is not counted
//!                                                    again (retries are safe)
//! ```
//!
//! A snapshot is everything the gateway decides with: APIs, clients with their secret and API
//! key digests, subscriptions, the `jti` deny list and per-client cut-offs, and the JWKS. Its
//! ETag is a digest of its content, so every control-plane replica on one database hands out
//! the same ETag for the same data. The control plane answers a held request within 200 ms
//! of a change (revocations, grants, key rotations), so a revocation reaches every gateway in
//! well under 2 s. The gateway keeps serving from its last snapshot when the control plane is
//! away, up to its staleness limit; past it, requests get 503.

mod client;
mod server;
mod wire;

pub use client::{RemoteControlPlane, SyncClient, SyncError, SyncSettings};
pub use server::{CONTROL_PLANE_AUDIENCE, SYNC_SCOPE, sync_router};
pub use wire::{FORMAT, Snapshot, UsageBatch};
