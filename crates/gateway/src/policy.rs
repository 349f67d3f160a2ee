//! The policy step: after authentication and the scope and subscription checks, every Rego
//! policy attached to the request's operation (global, then the API's, then the
//! operation's) must allow it. Evaluation is in process and lock-free on the hot path:
//! policies are compiled once per version (the compiled form is shared by every worker), and
//! a policy marked `per_caller` has its decisions cached per credential.
//!
//! Sampled allows, and every deny and error, go to the decision log, which is flushed with
//! the usage counts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use gatehouse_core::{
    DecisionRecord, PolicyCaching, PolicyFailure, PolicyId, PolicyRecord, UnixTime,
};
use gatehouse_policy::input::{
    ApiInput, CertificateInput, Input, PrincipalInput, RequestInput, SubscriptionInput,
};
use gatehouse_policy::{Policy, Verdict};
use gatehouse_store::Catalog;
use http::{HeaderName, HeaderValue};
use parking_lot::{Mutex, RwLock};

use crate::GatewayError;
use crate::metrics::{GatewayMetrics, PolicyLabels};
use crate::proxy::{Principal, RequestInfo};
use crate::spec::CredentialKind;

/// Most compiled policy versions kept.
const MAX_COMPILED: usize = 4096;
/// Most cached per-caller decisions.
const MAX_CACHED_VERDICTS: usize = 100_000;
/// How long a per-caller decision is kept for credentials without an expiry.
const VERDICT_TTL_SECS: i64 = 60;
/// Most decisions held between two flushes.
const MAX_LOGGED: usize = 10_000;

/// A compiled policy, or why it could not be compiled here.
type Compiled = Arc<Result<Policy, String>>;

/// A cached per-caller decision.
#[derive(Debug, Clone)]
struct CachedVerdict {
    verdict: Verdict,
    expires: UnixTime,
    /// The catalog it was decided with: a catalog change (a subscription, the policy)
    /// invalidates it. A `Weak` keeps the allocation, so the address cannot be reused.
    catalog: Weak<Catalog>,
}

/// Decisions waiting for the next flush.
#[derive(Debug, Default)]
pub struct DecisionLog {
    entries: Mutex<Vec<DecisionRecord>>,
}

impl DecisionLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&self, record: DecisionRecord, metrics: &GatewayMetrics) {
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_LOGGED {
            metrics.decision_log_dropped.inc();
            return;
        }
        entries.push(record);
    }

    /// Takes every logged decision.
    pub fn drain(&self) -> Vec<DecisionRecord> {
        std::mem::take(&mut *self.entries.lock())
    }
}

/// Compiled policies, cached decisions, the decision log.
#[derive(Debug)]
pub(crate) struct PolicyEnforcer {
    compiled: RwLock<HashMap<(PolicyId, u32), Compiled>>,
    verdicts: RwLock<HashMap<[u8; 32], CachedVerdict>>,
    log: Arc<DecisionLog>,
    sampled: AtomicU64,
}

/// What the policies decided for a request that may proceed.
pub(crate) type Allowed = Vec<(HeaderName, HeaderValue)>;

/// Everything the policies of one request see.
pub(crate) struct Subject<'a> {
    pub(crate) api_name: &'a str,
    pub(crate) api_id: &'a gatehouse_core::ApiId,
    pub(crate) audience: &'a str,
    pub(crate) operation: &'a str,
    pub(crate) params: &'a [(String, String)],
    pub(crate) principal: Option<&'a Principal>,
    pub(crate) request: &'a RequestInfo<'a>,
    /// The API-key header of this API (never passed to a policy).
    pub(crate) api_key_header: &'a str,
    pub(crate) catalog: &'a Arc<Catalog>,
    pub(crate) now: UnixTime,
}

impl PolicyEnforcer {
    pub(crate) fn new(log: Arc<DecisionLog>) -> Self {
        Self {
            compiled: RwLock::new(HashMap::new()),
            verdicts: RwLock::new(HashMap::new()),
            log,
            sampled: AtomicU64::new(0),
        }
    }

    fn compiled(&self, p: &PolicyRecord) -> Compiled {
        let key = (p.id.clone(), p.version);
        if let Some(c) = self.compiled.read().get(&key) {
            return Arc::clone(c);
        }
        // Cold path: once per policy version and gateway. Every upload compiled at the
        // control plane, so a failure here means this gateway's engine differs.
        let compiled =
            Arc::new(Policy::compile(&p.module, p.data.as_ref()).map_err(|e| e.to_string()));
        let mut map = self.compiled.write();
        if map.len() >= MAX_COMPILED {
            map.clear();
        }
        map.insert(key, Arc::clone(&compiled));
        compiled
    }

    /// Runs every policy of `policies` that applies to the request; the headers the
    /// allowing policies add, or the denial.
    pub(crate) fn enforce(
        &self,
        policies: &[Arc<PolicyRecord>],
        s: &Subject<'_>,
        metrics: &GatewayMetrics,
    ) -> Result<Allowed, GatewayError> {
        let mut added = Vec::new();
        let mut full: Option<gatehouse_policy::Value> = None;
        let mut caller_only: Option<gatehouse_policy::Value> = None;
        for p in policies
            .iter()
            .filter(|p| p.applies_to(s.api_id, s.operation))
        {
            let per_caller = p.caching == PolicyCaching::PerCaller && s.principal.is_some();
            let cache_key = per_caller.then(|| verdict_key(p, s));
            let cached = cache_key.as_ref().and_then(|k| self.cached(k, s));
            let from_cache = cached.is_some();
            let verdict = match cached {
                Some(v) => Ok(v),
                None => {
                    let input = if per_caller {
                        caller_only.get_or_insert_with(|| input(s, policies, false))
                    } else {
                        full.get_or_insert_with(|| input(s, policies, true))
                    };
                    let v = self.evaluate(p, input.clone(), metrics);
                    if let (Some(key), Ok(v)) = (&cache_key, &v) {
                        self.remember(*key, v, s);
                    }
                    v
                }
            };
            let labels = |outcome| PolicyLabels {
                api: s.api_name.to_owned(),
                outcome,
                cached: if from_cache { "true" } else { "false" },
            };
            match verdict {
                Ok(v) if v.allow => {
                    metrics
                        .policy_decisions
                        .get_or_create(&labels("allow"))
                        .inc();
                    if self.sample(p.log_permille) {
                        self.log(p, s, "allow", v.reason.clone(), metrics);
                    }
                    added.extend(v.headers);
                }
                Ok(v) => {
                    metrics
                        .policy_decisions
                        .get_or_create(&labels("deny"))
                        .inc();
                    self.log(p, s, "deny", v.reason.clone(), metrics);
                    return Err(GatewayError::PolicyDenied {
                        status: v.status.unwrap_or(403),
                        reason: v.reason,
                    });
                }
                Err(e) => {
                    metrics
                        .policy_decisions
                        .get_or_create(&labels("error"))
                        .inc();
                    tracing::warn!(policy = %p.id, version = p.version, api = s.api_name, error = %e, "policy evaluation failed");
                    self.log(p, s, "error", Some(e), metrics);
                    if p.on_error == PolicyFailure::Deny {
                        return Err(GatewayError::PolicyDenied {
                            status: 403,
                            reason: Some("the access policy could not be evaluated".to_owned()),
                        });
                    }
                }
            }
        }
        Ok(added)
    }

    #[expect(
        clippy::disallowed_methods,
        reason = "the evaluation-time histogram measures real elapsed time"
    )]
    fn evaluate(
        &self,
        p: &PolicyRecord,
        input: gatehouse_policy::Value,
        metrics: &GatewayMetrics,
    ) -> Result<Verdict, String> {
        let compiled = self.compiled(p);
        let policy = compiled.as_ref().as_ref().map_err(Clone::clone)?;
        let started = std::time::Instant::now();
        let v = policy.evaluate(input).map_err(|e| e.to_string());
        metrics
            .policy_latency
            .observe(started.elapsed().as_secs_f64());
        v
    }

    fn cached(&self, key: &[u8; 32], s: &Subject<'_>) -> Option<Verdict> {
        let map = self.verdicts.read();
        let c = map.get(key)?;
        (c.expires > s.now && std::ptr::eq(c.catalog.as_ptr(), Arc::as_ptr(s.catalog)))
            .then(|| c.verdict.clone())
    }

    fn remember(&self, key: [u8; 32], verdict: &Verdict, s: &Subject<'_>) {
        let expires = s
            .principal
            .and_then(|p| p.token.as_ref())
            .map_or(UnixTime(s.now.0 + VERDICT_TTL_SECS), |t| UnixTime(t.exp));
        let mut map = self.verdicts.write();
        if map.len() >= MAX_CACHED_VERDICTS {
            let now = s.now;
            map.retain(|_, c| c.expires > now && c.catalog.strong_count() > 0);
            if map.len() >= MAX_CACHED_VERDICTS {
                map.clear();
            }
        }
        map.insert(
            key,
            CachedVerdict {
                verdict: verdict.clone(),
                expires,
                catalog: Arc::downgrade(s.catalog),
            },
        );
    }

    fn sample(&self, permille: u16) -> bool {
        if permille == 0 {
            return false;
        }
        if permille >= 1000 {
            return true;
        }
        // A multiplicative hash of a counter spreads the sampled decisions evenly.
        let n = self.sampled.fetch_add(1, Ordering::Relaxed);
        (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 1000 < u64::from(permille)
    }

    fn log(
        &self,
        p: &PolicyRecord,
        s: &Subject<'_>,
        outcome: &str,
        reason: Option<String>,
        metrics: &GatewayMetrics,
    ) {
        let client_id = s
            .principal
            .and_then(|pr| gatehouse_core::ClientId::parse(&pr.client_id).ok());
        self.log.push(
            DecisionRecord {
                at: s.now,
                policy_id: p.id.clone(),
                version: p.version,
                api_id: s.api_id.clone(),
                operation: s.operation.to_owned(),
                client_id,
                outcome: outcome.to_owned(),
                reason: reason.map(|r| truncate(r, 1024)),
                method: s.request.method.as_str().to_owned(),
                path: truncate(s.request.path.to_owned(), 4096),
            },
            metrics,
        );
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The cache key of a per-caller decision: the credential, the policy version and the
/// operation.
fn verdict_key(p: &PolicyRecord, s: &Subject<'_>) -> [u8; 32] {
    let mut h = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut field = |b: &[u8]| {
        h.update(&u64::try_from(b.len()).unwrap_or(u64::MAX).to_le_bytes());
        h.update(b);
    };
    field(p.id.as_str().as_bytes());
    field(&p.version.to_le_bytes());
    field(s.api_id.as_str().as_bytes());
    field(s.operation.as_bytes());
    if let Some(pr) = s.principal {
        field(pr.kind.as_str().as_bytes());
        field(pr.client_id.as_bytes());
        // A token's own id: two tokens of one client may carry different claims.
        field(pr.token.as_ref().map_or("", |t| t.jti.as_str()).as_bytes());
        field(
            pr.certificate
                .as_ref()
                .map_or("", |c| c.serial.as_str())
                .as_bytes(),
        );
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(h.finish().as_ref());
    out
}

/// The input document; `with_request` false leaves out `request` and `time` (decisions
/// cached per caller must not depend on them).
fn input(
    s: &Subject<'_>,
    policies: &[Arc<PolicyRecord>],
    with_request: bool,
) -> gatehouse_policy::Value {
    let headers: Vec<(&str, &str)> = if with_request {
        let mut wanted: Vec<&str> = policies
            .iter()
            .filter(|p| p.applies_to(s.api_id, s.operation))
            .flat_map(|p| p.headers.iter().map(String::as_str))
            .filter(|h| !h.eq_ignore_ascii_case(s.api_key_header))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        wanted
            .into_iter()
            .filter_map(|name| {
                let v = s.request.headers.get(name)?.to_str().ok()?;
                Some((name, v))
            })
            .collect()
    } else {
        Vec::new()
    };
    let thumbprint = s
        .principal
        .and_then(|p| p.certificate.as_ref())
        .map(|c| hex(&c.thumbprint));
    let principal = s.principal.map(|p| {
        let sub = p.entry.subscriptions.get(s.api_id);
        PrincipalInput {
            client_id: &p.client_id,
            application: &p.entry.client.name,
            subject: &p.subject,
            credential: p.kind.as_str(),
            scopes: p.scopes.iter().map(|s| s.as_str()).collect(),
            claims: p.token.as_ref().map(|t| &t.claims),
            subscription: sub.map(|sub| SubscriptionInput {
                status: sub.status.as_str(),
                scopes: sub.scopes.iter().map(|s| s.as_str()).collect(),
                plan: (!sub.plan.is_empty()).then_some(sub.plan.as_str()),
            }),
            certificate: p.certificate.as_ref().map(|c| CertificateInput {
                subject: &c.subject,
                spiffe_id: c
                    .san_uris
                    .iter()
                    .find(|u| u.starts_with("spiffe://"))
                    .map(String::as_str),
                dns: c.san_dns.iter().map(String::as_str).collect(),
                uris: c.san_uris.iter().map(String::as_str).collect(),
                serial: &c.serial,
                sha256: thumbprint.as_deref().unwrap_or(""),
            }),
            metadata: Some(&p.entry.client.metadata),
        }
    });
    Input {
        request: with_request.then(|| RequestInput {
            method: s.request.method.as_str(),
            path: s.request.path,
            params: s.params,
            query: s.request.query,
            headers,
        }),
        principal,
        api: ApiInput {
            name: s.api_name,
            audience: s.audience,
        },
        operation: s.operation,
        time_unix: with_request.then_some(s.now.0),
    }
    .to_value()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

impl CredentialKind {
    /// The word policies see in `input.principal.credential`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::ApiKey => "api_key",
            Self::Mtls => "mtls",
            Self::Basic => "basic",
        }
    }
}
