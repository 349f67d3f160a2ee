use std::collections::HashMap;

use gatehouse_core::{
    Alg, Api, ApiId, Audience, AuthMethod, ClaimMap, Client, ClientId, ScopeSet, Subscription,
    SubscriptionId, SubscriptionStatus, UnixTime,
};
use gatehouse_store::{Catalog, ClientEntry};

use super::*;

fn api(id: &str, aud: &str, scopes: &str, alg: Alg) -> Api {
    Api {
        id: ApiId::parse(id).unwrap(),
        name: id.to_owned(),
        audience: Audience::parse(aud).unwrap(),
        scopes: ScopeSet::parse_space_separated(scopes).unwrap(),
        token_ttl_secs: 900,
        alg,
        claims: ClaimMap::new(),
        copy_metadata: vec![],
        resource_servers: vec![],
        owners: vec![],
        created_at: UnixTime(0),
    }
}

fn sub(client: &str, api: &str, scopes: &str, status: SubscriptionStatus) -> Subscription {
    Subscription {
        id: SubscriptionId::parse(&format!("s_{client}_{api}")).unwrap(),
        client_id: ClientId::parse(client).unwrap(),
        api_id: ApiId::parse(api).unwrap(),
        plan: "default".into(),
        scopes: ScopeSet::parse_space_separated(scopes).unwrap(),
        status,
        created_at: UnixTime(0),
        updated_at: UnixTime(0),
    }
}

fn client(id: &str) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        name: id.into(),
        auth_method: AuthMethod::ClientSecretBasic,
        jwks: None,
        jwks_uri: None,
        metadata: ClaimMap::new(),
        claims: ClaimMap::new(),
        tokens_not_before: None,
        tls: Default::default(),
        dns_names: Vec::new(),
        created_at: UnixTime(0),
    }
}

/// orders (ES256, read/write), billing (ES256, pay), audit (EdDSA, read); client c granted on
/// orders (read) and billing (pay) and, pending only, audit.
fn fixture() -> (Catalog, std::sync::Arc<ClientEntry>) {
    let apis = vec![
        api(
            "orders",
            "https://orders.example",
            "orders:read orders:write",
            Alg::ES256,
        ),
        api("billing", "https://billing.example", "pay", Alg::ES256),
        api("audit", "https://audit.example", "audit:read", Alg::EdDSA),
        api("other", "https://other.example", "x", Alg::ES256),
    ];
    let subs = vec![
        sub("c", "orders", "orders:read", SubscriptionStatus::Approved),
        sub("c", "billing", "pay", SubscriptionStatus::Approved),
        sub("c", "audit", "audit:read", SubscriptionStatus::Pending),
    ];
    let cat = Catalog::build(apis, vec![client("c")], vec![], subs, HashMap::new());
    let entry = std::sync::Arc::clone(cat.client("c").unwrap());
    (cat, entry)
}

fn params<'a>(resources: &[&'a str], scope: Option<&'a str>) -> TokenParams<'a> {
    TokenParams {
        resources: resources.to_vec(),
        audience: None,
        scope,
    }
}

#[test]
fn resource_with_grant_gets_all_granted_scopes() {
    let (cat, c) = fixture();
    let t = resolve(&params(&["https://orders.example"], None), &c, &cat).unwrap();
    assert_eq!(t.apis.len(), 1);
    assert_eq!(t.scopes.to_space_separated(), "orders:read");
}

#[test]
fn unknown_resource_is_invalid_target() {
    let (cat, c) = fixture();
    let e = resolve(&params(&["https://nope.example"], None), &c, &cat).unwrap_err();
    assert!(matches!(e, OAuthError::InvalidTarget(_)), "{e:?}");
}

#[test]
fn resource_without_grant_is_invalid_target() {
    let (cat, c) = fixture();
    let e = resolve(&params(&["https://other.example"], None), &c, &cat).unwrap_err();
    assert!(
        matches!(e, OAuthError::InvalidTarget(ref m) if m.contains("no grant")),
        "{e:?}"
    );
}

#[test]
fn pending_subscription_grants_nothing() {
    let (cat, c) = fixture();
    let e = resolve(&params(&["https://audit.example"], None), &c, &cat).unwrap_err();
    assert!(matches!(e, OAuthError::InvalidTarget(_)), "{e:?}");
}

#[test]
fn malformed_resource_is_invalid_target() {
    let (cat, c) = fixture();
    for bad in ["orders", "https://orders.example#frag"] {
        let e = resolve(&params(&[bad], None), &c, &cat).unwrap_err();
        assert!(matches!(e, OAuthError::InvalidTarget(_)), "{bad}: {e:?}");
    }
}

#[test]
fn ungranted_scope_is_invalid_scope() {
    let (cat, c) = fixture();
    let e = resolve(
        &params(&["https://orders.example"], Some("orders:write")),
        &c,
        &cat,
    )
    .unwrap_err();
    assert!(matches!(e, OAuthError::InvalidScope(_)), "{e:?}");
}

#[test]
fn two_resources_give_both_audiences_and_union_of_scopes() {
    let (cat, c) = fixture();
    let t = resolve(
        &params(&["https://orders.example", "https://billing.example"], None),
        &c,
        &cat,
    )
    .unwrap();
    assert_eq!(t.apis.len(), 2);
    assert_eq!(t.scopes.to_space_separated(), "orders:read pay");
}

#[test]
fn dot_default_scope_selects_the_api_and_all_its_grants() {
    let (cat, c) = fixture();
    let t = resolve(
        &params(&[], Some("https://billing.example/.default")),
        &c,
        &cat,
    )
    .unwrap();
    assert_eq!(t.apis[0].id.as_str(), "billing");
    assert_eq!(t.scopes.to_space_separated(), "pay");
}

#[test]
fn dot_default_for_ungranted_api_is_invalid_scope() {
    let (cat, c) = fixture();
    let e = resolve(
        &params(&[], Some("https://other.example/.default")),
        &c,
        &cat,
    )
    .unwrap_err();
    assert!(matches!(e, OAuthError::InvalidScope(_)), "{e:?}");
}

#[test]
fn no_resource_and_several_grants_asks_for_a_resource() {
    let (cat, c) = fixture();
    let e = resolve(&params(&[], None), &c, &cat).unwrap_err();
    assert!(
        matches!(e, OAuthError::InvalidRequest(ref m) if m.contains("resource")),
        "{e:?}"
    );
}

#[test]
fn no_resource_but_scope_picks_the_one_api_that_grants_it() {
    let (cat, c) = fixture();
    let t = resolve(&params(&[], Some("pay")), &c, &cat).unwrap();
    assert_eq!(t.apis[0].id.as_str(), "billing");
}

#[test]
fn resource_and_audience_together_are_refused() {
    let (cat, c) = fixture();
    let p = TokenParams {
        resources: vec!["https://orders.example"],
        audience: Some("https://orders.example"),
        scope: None,
    };
    assert!(matches!(
        resolve(&p, &c, &cat),
        Err(OAuthError::InvalidRequest(_))
    ));
}

#[test]
fn audience_parameter_works_like_resource() {
    let (cat, c) = fixture();
    let p = TokenParams {
        resources: vec![],
        audience: Some("https://orders.example"),
        scope: None,
    };
    assert_eq!(resolve(&p, &c, &cat).unwrap().apis[0].id.as_str(), "orders");
}

#[test]
fn custom_claims_merge_api_metadata_and_client_claims_without_registered_names() {
    let (_, c) = fixture();
    let mut a = api("orders", "https://orders.example", "r", Alg::ES256);
    a.claims.insert("env".into(), "prod".into());
    a.claims.insert("iss".into(), "evil".into());
    a.copy_metadata = vec!["tenant".into(), "missing".into()];
    let mut entry = (*c).clone();
    entry.client.metadata.insert("tenant".into(), "acme".into());
    entry.client.claims.insert("team".into(), "payments".into());
    let t = Target {
        apis: vec![std::sync::Arc::new(a)],
        scopes: ScopeSet::default(),
    };
    let claims = custom_claims(&t, &entry);
    assert_eq!(claims.get("env").unwrap(), "prod");
    assert_eq!(claims.get("tenant").unwrap(), "acme");
    assert_eq!(claims.get("team").unwrap(), "payments");
    assert!(!claims.contains_key("iss"));
    assert!(!claims.contains_key("missing"));
}
