//! Prometheus metrics of the gateway, with bounded label sets: APIs and operations come from the
//! configuration and status classes and rejection reasons are fixed, never client ids or paths.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::GatewayError;

/// Labels of a forwarded request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The API as configured.
    pub api: String,
    /// The operation.
    pub operation: String,
    /// `2xx` … `5xx`.
    pub class: &'static str,
}

/// Labels of a refused request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectionLabels {
    /// Why it was refused.
    pub reason: &'static str,
}

/// Labels of the latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabels {
    /// The API as configured.
    pub api: String,
}

/// Labels of a policy evaluation.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PolicyLabels {
    /// The API as configured.
    pub api: String,
    /// `allow`, `deny` or `error`.
    pub outcome: &'static str,
    /// Whether the decision came from the per-caller cache.
    pub cached: &'static str,
}

/// The gateway's metric families (shared by every gateway generation).
#[derive(Debug, Clone)]
pub struct GatewayMetrics {
    /// Forwarded requests by API, operation and status class.
    pub requests: Family<RequestLabels, Counter>,
    /// Requests refused before forwarding, by reason.
    pub rejections: Family<RejectionLabels, Counter>,
    /// Time to the response head of forwarded requests, by API.
    pub latency: Family<ApiLabels, Histogram>,
    /// Policy decisions by API and outcome.
    pub policy_decisions: Family<PolicyLabels, Counter>,
    /// Time to evaluate a policy (cache hits excluded).
    pub policy_latency: Histogram,
    /// Decision-log entries dropped because the log was full.
    pub decision_log_dropped: Counter,
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            rejections: Family::default(),
            latency: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
            }),
            policy_decisions: Family::default(),
            policy_latency: Histogram::new(exponential_buckets(0.000_002, 2.0, 16)),
            decision_log_dropped: Counter::default(),
        }
    }
}

impl GatewayMetrics {
    /// Registers the families.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "gateway_requests",
            "Requests forwarded by the gateway",
            self.requests.clone(),
        );
        registry.register(
            "gateway_rejections",
            "Requests refused by the gateway before forwarding",
            self.rejections.clone(),
        );
        registry.register(
            "gateway_request_duration_seconds",
            "Time from request to the upstream's response head",
            self.latency.clone(),
        );
        registry.register(
            "gateway_policy_decisions",
            "Rego policy decisions by API and outcome",
            self.policy_decisions.clone(),
        );
        registry.register(
            "gateway_policy_evaluation_duration_seconds",
            "Time to evaluate one Rego policy",
            self.policy_latency.clone(),
        );
        registry.register(
            "gateway_decision_log_dropped",
            "Policy decisions not logged because the decision log was full",
            self.decision_log_dropped.clone(),
        );
    }

    /// Counts a refusal.
    pub fn rejected(&self, e: &GatewayError) {
        let reason = match e {
            GatewayError::MissingCredentials(_) => "missing_credentials",
            GatewayError::InvalidCredentials(_) => "invalid_credentials",
            GatewayError::InsufficientScope { .. } => "insufficient_scope",
            GatewayError::NotSubscribed => "not_subscribed",
            GatewayError::RateLimited { .. } => "rate_limited",
            GatewayError::PolicyDenied { .. } => "policy_denied",
            GatewayError::NotFound => "no_route",
            GatewayError::MethodNotAllowed => "method_not_allowed",
            GatewayError::PayloadTooLarge => "payload_too_large",
            GatewayError::BadGateway => "upstream_unavailable",
            GatewayError::GatewayTimeout => "upstream_timeout",
            GatewayError::Unavailable => "control_plane_unavailable",
            _ => "internal",
        };
        self.rejections
            .get_or_create(&RejectionLabels { reason })
            .inc();
    }
}

/// The label of a status class.
pub fn class_label(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}
