//! Token minting and verification micro-benchmarks. Run with `cargo bench -p gatehouse-keys`
//! (not part of CI). Target: ≥ 15k ES256 at+jwt mints per second on 2 cores.
#![expect(
    clippy::unwrap_used,
    reason = "benchmark setup; any failure should abort the run"
)]

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use criterion::{Criterion, criterion_main};
use gatehouse_core::{Alg, KeyState, Kid, UnixTime};
use gatehouse_keys::{KeyRing, MasterKey, SigningKey, TYP_ACCESS_TOKEN, new_key_record};

/// A realistic access-token claims set (~300 bytes).
fn claims() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "iss": "https://gatehouse.example.com",
        "sub": "app_5xq3Jt0mYwR2cVb7nLd9Ke",
        "aud": "https://orders.api.example.com",
        "client_id": "app_5xq3Jt0mYwR2cVb7nLd9Ke",
        "scope": "orders:read orders:write inventory:read",
        "iat": 1_700_000_000,
        "nbf": 1_700_000_000,
        "exp": 1_700_000_900,
        "jti": "jti_Qm8v2LrTz0aXcYb4NpWe7s",
        "tenant": "acme-corp",
        "plan": "gold",
        "env": "production",
    }))
    .unwrap()
}

fn mint(c: &mut Criterion) {
    let claims = claims();
    let mut group = c.benchmark_group("mint_at_jwt");
    for alg in Alg::ALL {
        let (key, _) = SigningKey::generate(alg, Kid::parse("bench-key").unwrap()).unwrap();
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| key.sign_jwt(TYP_ACCESS_TOKEN, black_box(&claims)).unwrap())
        });
    }
    group.finish();
}

fn verify(c: &mut Criterion) {
    let master = MasterKey::generate();
    let (record, _) = new_key_record(Alg::ES256, KeyState::Active, UnixTime(0), &master).unwrap();
    let ring = KeyRing::from_records(&[record], &master, UnixTime(0)).unwrap();
    let token = ring
        .signer(Alg::ES256)
        .unwrap()
        .sign_jwt(TYP_ACCESS_TOKEN, &claims())
        .unwrap();
    c.bench_function("verify_es256_ring", |b| {
        b.iter(|| ring.verify(black_box(&token)).unwrap())
    });
}

fn baseline(c: &mut Criterion) {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let rng = SystemRandom::new();
    let msg = [7u8; 32];
    c.bench_function("raw_es256_sign_32_bytes", |b| {
        b.iter(|| pair.sign(&rng, black_box(&msg)).unwrap())
    });
}

/// Private, so the undocumented `pub fn` that `criterion_group!` generates is not exported.
mod group {
    criterion::criterion_group!(benches, super::mint, super::verify, super::baseline);
}
criterion_main!(group::benches);
