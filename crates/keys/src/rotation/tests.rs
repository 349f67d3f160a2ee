use std::time::Duration;

use gatehouse_core::{Alg, KeyRecord, KeyState, Kid, UnixTime};
use proptest::prelude::*;

use super::*;

const DAY: i64 = 86_400;
const POLICY: RotationPolicy = RotationPolicy {
    period: Duration::from_secs(30 * 86_400),
    publish_ahead: Duration::from_secs(86_400),
    retire_grace: Duration::from_secs(3_600),
};

fn kid(s: &str) -> Kid {
    Kid::parse(s).unwrap()
}

fn rec(
    kid_str: &str,
    alg: Alg,
    state: KeyState,
    created: i64,
    activated: Option<i64>,
) -> KeyRecord {
    KeyRecord {
        kid: kid(kid_str),
        alg,
        state,
        private_key_enc: Vec::new(),
        public_jwk: serde_json::Value::Null,
        created_at: UnixTime(created),
        activated_at: activated.map(UnixTime),
        retired_at: None,
        publish_until: None,
    }
}

fn active(kid_str: &str, activated: i64) -> KeyRecord {
    rec(
        kid_str,
        Alg::ES256,
        KeyState::Active,
        activated - DAY,
        Some(activated),
    )
}

fn next(kid_str: &str, created: i64) -> KeyRecord {
    rec(kid_str, Alg::ES256, KeyState::Next, created, None)
}

fn create(state: KeyState) -> KeyAction {
    KeyAction::Create {
        alg: Alg::ES256,
        state,
    }
}

fn activate(k: &str) -> KeyAction {
    KeyAction::Activate { kid: kid(k) }
}

fn retire(k: &str, until: i64) -> KeyAction {
    KeyAction::Retire {
        kid: kid(k),
        publish_until: UnixTime(until),
    }
}

fn plan_es256(records: &[KeyRecord], now: i64) -> Vec<KeyAction> {
    plan(records, &[Alg::ES256], UnixTime(now), &POLICY)
}

#[test]
fn empty_store_creates_an_active_and_a_next_key_per_alg() {
    let actions = plan(&[], &[Alg::ES256, Alg::EdDSA], UnixTime(0), &POLICY);
    assert_eq!(
        actions,
        [
            create(KeyState::Active),
            create(KeyState::Next),
            KeyAction::Create {
                alg: Alg::EdDSA,
                state: KeyState::Active
            },
            KeyAction::Create {
                alg: Alg::EdDSA,
                state: KeyState::Next
            },
        ]
    );
}

#[test]
fn duplicate_algs_are_planned_once() {
    assert_eq!(
        plan(&[], &[Alg::ES256, Alg::ES256], UnixTime(0), &POLICY).len(),
        2
    );
}

#[test]
fn without_active_key_the_oldest_next_is_activated_at_once() {
    let records = [next("n2", 500), next("n1", 400)];
    assert_eq!(plan_es256(&records, 501), [activate("n1")]);
    assert_eq!(
        plan_es256(&records[..1], 501),
        [activate("n2"), create(KeyState::Next)]
    );
}

#[test]
fn steady_state_plans_nothing() {
    assert_eq!(
        plan_es256(&[active("a", 1_000), next("n", 1_000)], 1_000 + 29 * DAY),
        []
    );
}

#[test]
fn missing_next_key_is_created() {
    assert_eq!(
        plan_es256(&[active("a", 1_000)], 1_000),
        [create(KeyState::Next)]
    );
}

#[test]
fn due_rotation_activates_published_next_and_retires_active() {
    let now = 1_000 + 30 * DAY;
    let records = [active("a", 1_000), next("n", now - DAY)];
    assert_eq!(
        plan_es256(&records, now),
        [
            activate("n"),
            retire("a", now + 3_600),
            create(KeyState::Next)
        ]
    );
}

#[test]
fn due_rotation_waits_for_next_key_to_be_published_long_enough() {
    let now = 1_000 + 40 * DAY;
    let records = [active("a", 1_000), next("n", now - DAY + 1)];
    assert_eq!(plan_es256(&records, now), []);
    assert_eq!(
        plan_es256(&records, now + 1),
        [
            activate("n"),
            retire("a", now + 1 + 3_600),
            create(KeyState::Next)
        ]
    );
}

#[test]
fn rotation_is_not_due_one_second_early() {
    let records = [active("a", 1_000), next("n", 0)];
    assert_eq!(plan_es256(&records, 1_000 + 30 * DAY - 1), []);
}

#[test]
fn active_without_activated_at_counts_from_creation() {
    let records = [
        rec("a", Alg::ES256, KeyState::Active, 0, None),
        next("n", 0),
    ];
    assert_eq!(plan_es256(&records, 30 * DAY).first(), Some(&activate("n")));
}

#[test]
fn several_active_keys_keep_the_latest_activated() {
    let records = [
        active("old", 1_000),
        active("new", 2_000),
        active("mid", 1_500),
        next("n", 2_000),
    ];
    assert_eq!(
        plan_es256(&records, 3_000),
        [retire("old", 6_600), retire("mid", 6_600)]
    );
}

#[test]
fn surplus_next_keys_are_unpublished_keeping_the_oldest() {
    let records = [
        active("a", 1_000),
        next("n3", 300),
        next("n1", 100),
        next("n2", 200),
    ];
    assert_eq!(
        plan_es256(&records, 2_000),
        [retire("n2", 2_000), retire("n3", 2_000)]
    );
}

#[test]
fn retired_revoked_and_other_alg_keys_are_ignored() {
    let records = [
        rec("r", Alg::ES256, KeyState::Retired, 0, Some(0)),
        rec("x", Alg::ES256, KeyState::Revoked, 0, Some(0)),
        rec("e", Alg::EdDSA, KeyState::Active, 0, Some(0)),
    ];
    assert_eq!(
        plan_es256(&records, 10),
        [create(KeyState::Active), create(KeyState::Next)]
    );
}

#[test]
fn forced_rotation_ignores_period_and_publish_ahead() {
    let records = [active("a", 1_000), next("n", 1_999)];
    assert_eq!(
        plan_forced(&records, Alg::ES256, UnixTime(2_000), &POLICY),
        [activate("n"), retire("a", 5_600), create(KeyState::Next),]
    );
}

#[test]
fn forced_rotation_without_next_creates_the_active_key() {
    let records = [active("a", 1_000), active("b", 900)];
    assert_eq!(
        plan_forced(&records, Alg::ES256, UnixTime(2_000), &POLICY),
        [
            create(KeyState::Active),
            retire("b", 5_600),
            retire("a", 5_600),
            create(KeyState::Next),
        ]
    );
    assert_eq!(
        plan_forced(&[], Alg::ES256, UnixTime(0), &POLICY),
        [create(KeyState::Active), create(KeyState::Next),]
    );
}

/// Applies actions the way a store would, with generated kids `g0`, `g1`, ….
fn apply(records: &mut Vec<KeyRecord>, actions: &[KeyAction], now: i64) {
    for action in actions {
        match action {
            KeyAction::Create { alg, state } => {
                let id = format!("g{}", records.len());
                let activated = (*state == KeyState::Active).then_some(now);
                records.push(rec(&id, *alg, *state, now, activated));
            }
            KeyAction::Activate { kid } => {
                let r = records.iter_mut().find(|r| &r.kid == kid).unwrap();
                assert_eq!(r.state, KeyState::Next);
                r.state = KeyState::Active;
                r.activated_at = Some(UnixTime(now));
            }
            KeyAction::Retire { kid, publish_until } => {
                let r = records.iter_mut().find(|r| &r.kid == kid).unwrap();
                assert!(matches!(r.state, KeyState::Active | KeyState::Next));
                r.state = KeyState::Retired;
                r.publish_until = Some(*publish_until);
            }
        }
    }
}

fn count(records: &[KeyRecord], alg: Alg, state: KeyState) -> usize {
    records
        .iter()
        .filter(|r| r.alg == alg && r.state == state)
        .count()
}

fn arb_record() -> impl Strategy<Value = (usize, usize, i64, Option<i64>)> {
    (
        0usize..2,
        0usize..4,
        0i64..100 * DAY,
        proptest::option::of(0i64..100 * DAY),
    )
}

proptest! {
    #[test]
    fn plan_always_leaves_one_active_and_one_next_and_is_then_stable(
        specs in proptest::collection::vec(arb_record(), 0..8),
        now in 0i64..200 * DAY,
    ) {
        let states = [KeyState::Next, KeyState::Active, KeyState::Retired, KeyState::Revoked];
        let algs = [Alg::ES256, Alg::EdDSA];
        let mut records: Vec<KeyRecord> = specs
            .iter()
            .enumerate()
            .map(|(i, (a, s, created, activated))| rec(&format!("r{i}"), algs[*a], states[*s], *created, *activated))
            .collect();
        let actions = plan(&records, &algs, UnixTime(now), &POLICY);
        apply(&mut records, &actions, now);
        for alg in algs {
            prop_assert_eq!(count(&records, alg, KeyState::Active), 1);
            prop_assert_eq!(count(&records, alg, KeyState::Next), 1);
        }
        prop_assert_eq!(plan(&records, &algs, UnixTime(now), &POLICY), vec![]);
    }
}
