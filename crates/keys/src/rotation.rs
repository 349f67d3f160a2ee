//! Key rotation planning: pure functions from stored records and an explicit `now` to the
//! actions that bring each algorithm back to its steady state.
//!
//! Steady state per algorithm: exactly one `Active` key (signing) and exactly one `Next` key
//! (already published, so relying parties have cached it before it signs anything). A
//! rotation activates the `Next` key once it has been published for `publish_ahead`, retires
//! the old key (still published for `retire_grace`, so its tokens keep verifying until they
//! expire) and creates a new `Next` key.
//!
//! Actions are ordered activation first, then retirements, then creation. Applied one by one,
//! an interruption leaves two `Active` keys (the ring signs with the one activated latest)
//! rather than none.

use std::time::Duration;

use gatehouse_core::{Alg, KeyRecord, KeyState, Kid, UnixTime};

/// How often keys rotate and how long they are published around their signing life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// How long a key signs before it is rotated.
    pub period: Duration,
    /// How long a `Next` key is published before it may sign; at least the JWKS `max-age`.
    pub publish_ahead: Duration,
    /// How long a retired key stays published; at least the longest token TTL plus leeway.
    pub retire_grace: Duration,
}

/// One change to the stored keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAction {
    /// Make a `Next` key `Active` (set `activated_at = now`).
    Activate {
        /// The key to activate.
        kid: Kid,
    },
    /// Generate a key of `alg` in `state` (see [`crate::new_key_record`]).
    Create {
        /// Algorithm of the new key.
        alg: Alg,
        /// `Active` or `Next`.
        state: KeyState,
    },
    /// Stop signing with a key (set `retired_at = now`) and unpublish it after `publish_until`.
    Retire {
        /// The key to retire.
        kid: Kid,
        /// When it leaves the JWKS (`now` for surplus `Next` keys that never signed).
        publish_until: UnixTime,
    },
}

/// Plans the scheduled maintenance for each algorithm in `algs` (duplicates ignored):
///
/// - several `Active` keys: keep the one activated latest, retire the others;
/// - no `Active` key: activate the oldest `Next` key, or create an `Active` one;
/// - the `Active` key has signed for `period` and a `Next` key has been published for
///   `publish_ahead`: activate that `Next` key and retire the old one;
/// - afterwards exactly one `Next` key remains: create one if none is left, retire surplus
///   ones (keeping the oldest) with `publish_until = now`.
///
/// Retired keys stay published until `now + retire_grace`. Records of other algorithms, and
/// `Retired` and `Revoked` records, are left alone.
pub fn plan(
    records: &[KeyRecord],
    algs: &[Alg],
    now: UnixTime,
    policy: &RotationPolicy,
) -> Vec<KeyAction> {
    let mut actions = Vec::new();
    for (i, alg) in algs.iter().enumerate() {
        if !algs.iter().take(i).any(|a| a == alg) {
            plan_alg(records, *alg, now, policy, false, &mut actions);
        }
    }
    actions
}

/// Plans a manual rotation of `alg`, regardless of `period` and `publish_ahead`: activate the
/// oldest `Next` key (or create an `Active` one if there is none), retire every current
/// `Active` key, and leave exactly one `Next` key.
///
/// A `Next` key activated before relying parties refreshed their JWKS cache makes them reject
/// new tokens until they do; schedule rotations with [`plan`] when there is no emergency.
pub fn plan_forced(
    records: &[KeyRecord],
    alg: Alg,
    now: UnixTime,
    policy: &RotationPolicy,
) -> Vec<KeyAction> {
    let mut actions = Vec::new();
    plan_alg(records, alg, now, policy, true, &mut actions);
    actions
}

fn plan_alg(
    records: &[KeyRecord],
    alg: Alg,
    now: UnixTime,
    policy: &RotationPolicy,
    force: bool,
    out: &mut Vec<KeyAction>,
) {
    let of_state = |state: KeyState| {
        records
            .iter()
            .filter(move |r| r.alg == alg && r.state == state)
    };
    let mut actives: Vec<&KeyRecord> = of_state(KeyState::Active).collect();
    actives.sort_by(|a, b| activation_order(a).cmp(&activation_order(b)));
    let mut nexts: Vec<&KeyRecord> = of_state(KeyState::Next).collect();
    nexts.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
    let current = actives.pop();
    let mut retire: Vec<&KeyRecord> = actives;

    let replace_current = match current {
        None => true,
        Some(cur) => force || activation_order(cur).0.plus(policy.period) <= now,
    };
    if replace_current {
        let ready = |n: &&KeyRecord| {
            force || current.is_none() || n.created_at.plus(policy.publish_ahead) <= now
        };
        let replacement = match nexts.iter().position(ready) {
            Some(i) => Some(KeyAction::Activate {
                kid: nexts.remove(i).kid.clone(),
            }),
            None if force || current.is_none() => Some(KeyAction::Create {
                alg,
                state: KeyState::Active,
            }),
            // Due, but no Next key has been published long enough yet: wait.
            None => None,
        };
        if let Some(action) = replacement {
            out.push(action);
            retire.extend(current);
        }
    }

    let publish_until = now.plus(policy.retire_grace);
    out.extend(retire.into_iter().map(|r| KeyAction::Retire {
        kid: r.kid.clone(),
        publish_until,
    }));
    let mut surplus = nexts.into_iter();
    if surplus.next().is_none() {
        out.push(KeyAction::Create {
            alg,
            state: KeyState::Next,
        });
    }
    out.extend(surplus.map(|r| KeyAction::Retire {
        kid: r.kid.clone(),
        publish_until: now,
    }));
}

/// Activation order: activation time (creation time if unset), then creation time, then `kid`.
fn activation_order(r: &KeyRecord) -> (UnixTime, UnixTime, &Kid) {
    (r.activated_at.unwrap_or(r.created_at), r.created_at, &r.kid)
}

#[cfg(test)]
mod tests;
