//! Prometheus metrics of the authorization server.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a token request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrantLabels {
    /// Client id (`unknown` when the id is not registered, to bound cardinality).
    pub client: String,
    /// Authentication method (`none` if none was presented).
    pub method: &'static str,
    /// `ok` or the OAuth error code.
    pub result: &'static str,
}

/// Labels of introspection and revocation requests.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    /// `introspect` or `revoke`.
    pub endpoint: &'static str,
    /// `ok` or the OAuth error code.
    pub result: &'static str,
}

/// The authorization server's metric families.
#[derive(Debug, Clone)]
pub struct OAuthMetrics {
    /// Token requests by client, method and result.
    pub grants: Family<GrantLabels, Counter>,
    /// Token endpoint latency in seconds.
    pub token_latency: Histogram,
    /// Introspection and revocation requests.
    pub endpoints: Family<EndpointLabels, Counter>,
}

impl Default for OAuthMetrics {
    fn default() -> Self {
        Self {
            grants: Family::default(),
            token_latency: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            endpoints: Family::default(),
        }
    }
}

impl OAuthMetrics {
    /// Registers the families.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "oauth_token_requests",
            "Token requests by client, auth method and result",
            self.grants.clone(),
        );
        registry.register(
            "oauth_token_request_duration_seconds",
            "Time to answer a token request",
            self.token_latency.clone(),
        );
        registry.register(
            "oauth_endpoint_requests",
            "Introspection and revocation requests",
            self.endpoints.clone(),
        );
    }
}
