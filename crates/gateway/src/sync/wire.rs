//! The documents the sync protocol exchanges.

use gatehouse_core::{
    Api, ApiKey, Client, ClientSecret, DecisionRecord, Plan, PolicyRecord, Subscription, UnixTime,
    UsageRecord,
};
use gatehouse_store::Catalog;
use serde::{Deserialize, Serialize};

/// Version of the snapshot format; a gateway refuses a snapshot of another version.
pub const FORMAT: u32 = 1;

/// Everything a gateway decides with, as of one catalog and key ring.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`FORMAT`].
    pub format: u32,
    /// The issuer tokens must name.
    pub issuer: String,
    /// The published signing keys (JWK Set).
    pub jwks: serde_json::Value,
    /// APIs.
    pub apis: Vec<Api>,
    /// Clients (their `tokens_not_before` is the per-client revocation cut-off).
    pub clients: Vec<Client>,
    /// Client secret digests (for legacy Basic at the gateway).
    pub client_secrets: Vec<ClientSecret>,
    /// Subscriptions.
    pub subscriptions: Vec<Subscription>,
    /// API key digests.
    pub api_keys: Vec<ApiKey>,
    /// Revoked token ids, with the time they would have expired.
    pub revoked: Vec<(String, UnixTime)>,
    /// Serials (lowercase hex) of revoked certificates that have not expired.
    #[serde(default)]
    pub revoked_certificates: Vec<String>,
    /// The built-in CA's trust bundle (PEM) and trust domain, when it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<SyncedCa>,
    /// Rego policies (current versions), oldest first.
    #[serde(default)]
    pub policies: Vec<PolicyRecord>,
    /// Plans (their rate limits and daily quotas apply to subscribers), by id.
    #[serde(default)]
    pub plans: Vec<Plan>,
}

/// The built-in CA as the snapshot carries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncedCa {
    /// Root certificate(s), PEM.
    pub bundle: String,
    /// SPIFFE trust domain.
    pub trust_domain: String,
}

/// A batch of usage records pushed by a gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UsageBatch {
    /// Chosen by the gateway; a batch id already taken is acknowledged and not counted again.
    pub batch_id: String,
    /// The records.
    pub records: Vec<UsageRecord>,
    /// Logged policy decisions (delivered at least once: a retried batch may repeat them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<DecisionRecord>,
}

// === impl Snapshot ===

impl Snapshot {
    /// The snapshot of `catalog` with `jwks`, in a stable order (so equal data gives equal
    /// bytes, and equal ETags on every replica).
    pub fn of(
        catalog: &Catalog,
        issuer: &str,
        jwks: serde_json::Value,
        ca: Option<SyncedCa>,
    ) -> Self {
        let mut apis: Vec<Api> = catalog.apis().map(|a| (**a).clone()).collect();
        apis.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        let mut entries: Vec<_> = catalog.clients().collect();
        entries.sort_by(|a, b| a.client.id.as_str().cmp(b.client.id.as_str()));
        let mut clients = Vec::with_capacity(entries.len());
        let mut client_secrets = Vec::new();
        let mut subscriptions = Vec::new();
        let mut api_keys = Vec::new();
        for e in entries {
            clients.push(e.client.clone());
            client_secrets.extend(e.secrets.iter().cloned());
            let mut subs: Vec<_> = e.subscriptions.values().cloned().collect();
            subs.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
            subscriptions.extend(subs);
            api_keys.extend(e.api_keys.iter().cloned());
        }
        let mut revoked: Vec<(String, UnixTime)> =
            catalog.revoked().map(|(j, e)| (j.clone(), *e)).collect();
        revoked.sort();
        let mut revoked_certificates: Vec<String> =
            catalog.revoked_certificates().cloned().collect();
        revoked_certificates.sort();
        let policies = catalog.policies().iter().map(|p| (**p).clone()).collect();
        let mut plans: Vec<Plan> = catalog.all_plans().map(|p| (**p).clone()).collect();
        plans.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        Self {
            format: FORMAT,
            issuer: issuer.to_owned(),
            jwks,
            apis,
            clients,
            client_secrets,
            subscriptions,
            api_keys,
            revoked,
            revoked_certificates,
            ca,
            policies,
            plans,
        }
    }

    /// The catalog this snapshot describes.
    pub fn into_catalog(self) -> Catalog {
        Catalog::build(
            self.apis,
            self.clients,
            self.client_secrets,
            self.subscriptions,
            self.revoked,
        )
        .with_api_keys(self.api_keys)
        .with_revoked_certificates(self.revoked_certificates)
        .with_policies(self.policies)
        .with_portal(self.plans, Vec::new(), Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_survive_the_wire_and_older_snapshots_have_none() {
        let api = gatehouse_core::Api {
            id: gatehouse_core::ApiId::parse("api_o").unwrap(),
            name: "orders".into(),
            audience: gatehouse_core::Audience::parse("https://orders.example").unwrap(),
            scopes: gatehouse_core::ScopeSet::default(),
            token_ttl_secs: 60,
            alg: gatehouse_core::Alg::ES256,
            claims: gatehouse_core::ClaimMap::new(),
            copy_metadata: Vec::new(),
            resource_servers: Vec::new(),
            owners: Vec::new(),
            created_at: UnixTime(0),
        };
        let policy = PolicyRecord {
            id: gatehouse_core::PolicyId::parse("pol_1").unwrap(),
            api_id: Some(api.id.clone()),
            operation: Some("list".into()),
            version: 3,
            module: "package p\nallow := true\n".into(),
            data: Some(serde_json::json!({"a": [1]})),
            on_error: gatehouse_core::PolicyFailure::Allow,
            caching: gatehouse_core::PolicyCaching::PerCaller,
            headers: vec!["x-tenant".into()],
            log_permille: 5,
            created_at: UnixTime(1),
            updated_at: UnixTime(2),
            updated_by: "admin-token".into(),
        };
        let catalog = Catalog::build(vec![api], vec![], vec![], vec![], vec![])
            .with_policies(vec![policy.clone()]);
        let snap = Snapshot::of(
            &catalog,
            "https://issuer",
            serde_json::json!({"keys": []}),
            None,
        );
        let text = serde_json::to_string(&snap).expect("serialize");
        let back: Snapshot = serde_json::from_str(&text).expect("deserialize");
        let catalog = back.into_catalog();
        let api_id = gatehouse_core::ApiId::parse("api_o").unwrap();
        assert_eq!(*catalog.policies_for(&api_id)[0], policy);

        let mut old: serde_json::Value = serde_json::from_str(&text).unwrap();
        old.as_object_mut().unwrap().remove("policies");
        let old: Snapshot = serde_json::from_value(old).expect("an older snapshot parses");
        assert!(old.policies.is_empty());
    }

    #[test]
    fn the_certificate_deny_list_and_the_ca_survive_the_wire() {
        let catalog = Catalog::default().with_revoked_certificates(["0a1b".to_owned()]);
        let ca = SyncedCa {
            bundle: "-----BEGIN CERTIFICATE-----\n".into(),
            trust_domain: "prod.example".into(),
        };
        let snap = Snapshot::of(
            &catalog,
            "https://issuer",
            serde_json::json!({"keys": []}),
            Some(ca),
        );
        let text = serde_json::to_string(&snap).expect("serialize");
        let back: Snapshot = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(
            back.ca.as_ref().map(|c| c.trust_domain.as_str()),
            Some("prod.example")
        );
        let catalog = back.into_catalog();
        assert!(catalog.certificate_revoked("0a1b"));
        assert!(!catalog.certificate_revoked("0a1c"));
    }

    #[test]
    fn snapshots_of_older_control_planes_still_parse() {
        let old = serde_json::json!({
            "format": FORMAT, "issuer": "i", "jwks": {"keys": []}, "apis": [], "clients": [],
            "client_secrets": [], "subscriptions": [], "api_keys": [], "revoked": []
        });
        let snap: Snapshot = serde_json::from_value(old).expect("parses");
        assert!(snap.revoked_certificates.is_empty() && snap.ca.is_none());
    }
}
