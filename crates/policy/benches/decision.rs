//! What a policy costs the gateway per request: building the input document, evaluating the
//! RBAC-on-claims policy in `bench/policies/rbac.rego`, and both together.
#![expect(
    clippy::expect_used,
    reason = "benchmark setup; any failure should abort the run"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_main};
use gatehouse_policy::Policy;
use gatehouse_policy::input::{ApiInput, Input, PrincipalInput, RequestInput};

const RBAC: &str = include_str!("../../../bench/policies/rbac.rego");

fn claims() -> serde_json::Map<String, serde_json::Value> {
    let serde_json::Value::Object(map) = serde_json::json!({
        "iss": "https://gatehouse.example",
        "sub": "user-8c1f",
        "aud": "https://orders.example",
        "exp": 1_800_000_600_i64,
        "iat": 1_800_000_000_i64,
        "jti": "2b6f1a0e-58c4-4b8e-9d7e-5f0b7d1c9a11",
        "client_id": "shop-frontend",
        "scope": "orders:read profile",
        "tenant": "acme",
        "roles": ["orders.reader", "support"],
    }) else {
        unreachable!("a JSON object literal")
    };
    map
}

fn input<'a>(
    claims: &'a serde_json::Map<String, serde_json::Value>,
    params: &'a [(String, String)],
) -> Input<'a> {
    Input {
        request: Some(RequestInput {
            method: "GET",
            path: "/tenants/acme/orders/42",
            params,
            query: Some("expand=items&limit=10"),
            headers: vec![("x-request-id", "7f3e2a9c"), ("accept", "application/json")],
        }),
        principal: Some(PrincipalInput {
            client_id: "shop-frontend",
            application: "Shop frontend",
            subject: "user-8c1f",
            credential: "bearer",
            scopes: vec!["orders:read", "profile"],
            claims: Some(claims),
            subscription: None,
            certificate: None,
            metadata: None,
        }),
        api: ApiInput {
            name: "orders",
            audience: "https://orders.example",
        },
        operation: "getOrder",
        time_unix: Some(1_800_000_100),
    }
}

fn bench(c: &mut Criterion) {
    let policy = Policy::compile(RBAC, None).expect("bench/policies/rbac.rego compiles");
    let claims = claims();
    let params = vec![
        ("tenant".to_owned(), "acme".to_owned()),
        ("id".to_owned(), "42".to_owned()),
    ];
    let input = input(&claims, &params);
    let value = input.to_value();
    assert!(policy.evaluate(value.clone()).expect("evaluates").allow);

    c.bench_function("input_build", |b| b.iter(|| black_box(&input).to_value()));
    c.bench_function("evaluate", |b| {
        b.iter(|| policy.evaluate(black_box(value.clone())))
    });
    c.bench_function("input_and_evaluate", |b| {
        b.iter(|| policy.evaluate(black_box(&input).to_value()))
    });
}

/// Private, so the undocumented `pub fn` that `criterion_group!` generates is not exported.
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
