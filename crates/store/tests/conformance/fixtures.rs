//! Records for the conformance tests. The "rich" ones carry awkward values on purpose (nested
//! JSON, big and fractional numbers, `\u0000`, non-ASCII text, every byte value) so a backend
//! that rewrites anything on the way through fails the exact round trip.

use gatehouse_core::{
    Alg, Api, ApiId, ApiKey, ApiKeyId, Audience, AuditEvent, AuthMethod, ClaimMap, Client,
    ClientId, ClientSecret, KeyRecord, KeyState, Kid, LATENCY_BUCKETS, RevokedToken, ScopeSet,
    SecretId, Subscription, SubscriptionId, SubscriptionStatus, UnixTime, UsageRecord,
};
use gatehouse_store::StoreError;
use serde_json::{Value, json};

/// A scope set from a space-separated list.
pub(crate) fn scopes(s: &str) -> ScopeSet {
    ScopeSet::parse_space_separated(s).unwrap()
}

/// A JSON object as a claim map.
pub(crate) fn claims(v: Value) -> ClaimMap {
    match v {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// JSON that a lossy backend would change: key order, numbers, escapes, non-ASCII.
pub(crate) fn awkward_json() -> Value {
    json!({
        "z": 1, "a": [1, -1, 0.1, 1e300, u64::MAX, i64::MIN, true, null],
        "nested": { "empty": {}, "list": [], "s": "" },
        "nul": "a\u{0}b", "text": "héllo ✓ 𝄞 'quoted' \"double\" \\ back",
        "float": 2.5, "one": 1.0
    })
}

/// A plain API named `name`, audience `https://{name}.example`.
pub(crate) fn api(id: &str, name: &str, created_at: i64) -> Api {
    Api {
        id: ApiId::parse(id).unwrap(),
        name: name.to_owned(),
        audience: Audience::parse(&format!("https://{name}.example")).unwrap(),
        scopes: scopes(&format!("{name}:read {name}:write")),
        token_ttl_secs: 300,
        alg: Alg::ES256,
        claims: ClaimMap::new(),
        copy_metadata: Vec::new(),
        resource_servers: Vec::new(),
        owners: Vec::new(),
        created_at: UnixTime(created_at),
    }
}

/// An API with every field set to something unusual.
pub(crate) fn rich_api(id: &str) -> Api {
    Api {
        name: "Orders ünïcode 'quoted'".to_owned(),
        audience: Audience::parse("urn:example:orders").unwrap(),
        scopes: scopes(
            "orders:read https://orders.example/.default a!#$%&'()*+,-./:;<=>?@[]^_`{|}~",
        ),
        token_ttl_secs: i64::MAX as u64,
        alg: Alg::PS256,
        claims: claims(awkward_json()),
        copy_metadata: vec!["tenant".to_owned(), "région".to_owned(), String::new()],
        resource_servers: vec![ClientId::parse("app_rs").unwrap()],
        owners: vec![ClientId::parse("app_owner").unwrap()],
        created_at: UnixTime(-5),
        ..api(id, "unused", 0)
    }
}

/// A plain client.
pub(crate) fn client(id: &str, created_at: i64) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        name: format!("client {id}"),
        auth_method: AuthMethod::ClientSecretBasic,
        jwks: None,
        jwks_uri: None,
        metadata: ClaimMap::new(),
        claims: ClaimMap::new(),
        tokens_not_before: None,
        tls: Default::default(),
        dns_names: Vec::new(),
        created_at: UnixTime(created_at),
    }
}

/// A client with every optional field set.
pub(crate) fn rich_client(id: &str) -> Client {
    Client {
        auth_method: AuthMethod::PrivateKeyJwt,
        jwks: Some(json!({ "keys": [{ "kty": "EC", "crv": "P-256", "x": "f83O", "y": "x_FE" }] })),
        jwks_uri: Some("https://billing.example/.well-known/jwks.json?x=1&y='2'".to_owned()),
        metadata: claims(json!({ "tenant": "acme", "tier": 3, "tags": ["a", "b"] })),
        claims: claims(awkward_json()),
        tokens_not_before: Some(UnixTime(i64::MAX)),
        tls: gatehouse_core::ClientTls {
            subject_dn: Some("O=Example, CN=billing".into()),
            san_uri: Some("spiffe://prod.example/app/c2".into()),
            san_dns: None,
            thumbprints: vec!["x".into()],
            bound_tokens: true,
        },
        dns_names: vec!["billing.internal".into()],
        created_at: UnixTime(i64::MIN),
        ..client(id, 0)
    }
}

/// A 32-byte digest whose bytes start at `seed` and wrap.
pub(crate) fn digest(seed: u8) -> [u8; 32] {
    std::array::from_fn(|i| seed.wrapping_add(u8::try_from(i).unwrap().wrapping_mul(37)))
}

/// A secret of `client`.
pub(crate) fn secret(
    id: &str,
    client: &str,
    created_at: i64,
    expires_at: Option<i64>,
) -> ClientSecret {
    ClientSecret {
        id: SecretId::parse(id).unwrap(),
        client_id: ClientId::parse(client).unwrap(),
        digest: digest(created_at.to_le_bytes()[0]),
        created_at: UnixTime(created_at),
        expires_at: expires_at.map(UnixTime),
    }
}

/// An API key of `client`, its digest seeded by `seed`, neither expiring nor revoked.
pub(crate) fn api_key(id: &str, client: &str, seed: u8, created_at: i64) -> ApiKey {
    ApiKey {
        id: ApiKeyId::parse(id).unwrap(),
        client_id: ClientId::parse(client).unwrap(),
        digest: digest(seed),
        prefix: format!("gatehouse_ak_{id}"),
        created_at: UnixTime(created_at),
        expires_at: None,
        revoked_at: None,
    }
}

/// A subscription of `client` to `api`, created and updated at `at`.
pub(crate) fn sub(
    id: &str,
    client: &str,
    api: &str,
    status: SubscriptionStatus,
    at: i64,
) -> Subscription {
    Subscription {
        id: SubscriptionId::parse(id).unwrap(),
        client_id: ClientId::parse(client).unwrap(),
        api_id: ApiId::parse(api).unwrap(),
        plan: "default".to_owned(),
        scopes: scopes("orders:read"),
        status,
        created_at: UnixTime(at),
        updated_at: UnixTime(at),
    }
}

/// A signing key in `state`.
pub(crate) fn key(kid: &str, state: KeyState, created_at: i64) -> KeyRecord {
    KeyRecord {
        kid: Kid::parse(kid).unwrap(),
        alg: Alg::ES256,
        state,
        private_key_enc: (0..=255u8).chain([0, 0, 255]).collect(),
        public_jwk: json!({ "kid": kid, "alg": "ES256", "use": "sig", "kty": "EC" }),
        created_at: UnixTime(created_at),
        activated_at: None,
        retired_at: None,
        publish_until: None,
    }
}

/// A revoked token.
pub(crate) fn revoked(jti: &str, client: &str, expires_at: i64, revoked_at: i64) -> RevokedToken {
    RevokedToken {
        jti: jti.to_owned(),
        client_id: ClientId::parse(client).unwrap(),
        expires_at: UnixTime(expires_at),
        revoked_at: UnixTime(revoked_at),
    }
}

/// An audit event (id 0: assigned by the store).
pub(crate) fn audit(at: i64, action: &str) -> AuditEvent {
    AuditEvent {
        id: 0,
        at: UnixTime(at),
        actor: "admin-token".to_owned(),
        action: action.to_owned(),
        target: "api_1".to_owned(),
        detail: json!({ "n": at }),
    }
}

/// The message of a [`StoreError::Conflict`], or a panic naming what came instead.
pub(crate) fn conflict_message<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Conflict(msg)) => msg,
        other => panic!("expected Conflict, got {other:?}"),
    }
}

/// Asserts that `result` is [`StoreError::NotFound`].
pub(crate) fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "expected NotFound, got {result:?}"
    );
}

/// A usage record: `count` requests, all in the latency bucket `count % LATENCY_BUCKETS`.
pub(crate) fn usage(
    minute: i64,
    api: &str,
    client: &str,
    operation: &str,
    status_class: u8,
    count: u64,
) -> UsageRecord {
    let mut latency_buckets = vec![0; LATENCY_BUCKETS];
    latency_buckets[usize::try_from(count).unwrap_or(0) % LATENCY_BUCKETS] = count;
    UsageRecord {
        minute: UnixTime(minute),
        api_id: ApiId::parse(api).unwrap(),
        client_id: ClientId::parse(client).unwrap(),
        operation: operation.to_owned(),
        status_class,
        count,
        latency_buckets,
    }
}

/// Asserts that `result` is [`StoreError::Invalid`], returning its message.
pub(crate) fn invalid_message<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Invalid(msg)) => msg,
        other => panic!("expected Invalid, got {other:?}"),
    }
}
