//! The key ring: an immutable snapshot of the signing keys in force at one moment.
//!
//! The server builds a ring from the stored records and swaps it whole (e.g. with `ArcSwap`)
//! after a rotation or revocation; nothing in a ring changes after it is built.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lc_rs::signature::ParsedPublicKey;
use gatehouse_core::{Alg, KeyRecord, KeyState, Kid, UnixTime};
use serde_json::Value;

use crate::jwk;
use crate::jwt::{VerifiedJwt, VerifyError};
use crate::material::{JwsAlg, PublicKeyMaterial};
use crate::record::{is_published, signing_key};
use crate::verifier::PinnedKeys;
use crate::{KeyError, MasterKey, SigningKey};

/// Signing keys (one per algorithm), verifiers for every published key, and the JWKS document,
/// all computed once. See [`KeyRing::from_records`].
#[derive(Clone)]
pub struct KeyRing {
    signers: BTreeMap<Alg, Arc<SigningKey>>,
    verifiers: PinnedKeys,
    entries: Vec<(Kid, Alg, KeyState)>,
    jwks: Value,
    jwks_bytes: Arc<[u8]>,
}

// === impl KeyRing ===

impl KeyRing {
    /// Builds the ring in force at `now`.
    ///
    /// - Published keys (see [`crate::is_published`]: `Next`, `Active`, and `Retired` until
    ///   `publish_until`) get a verifier and a JWKS entry, built from the stored public JWK.
    ///   Revoked keys are never published and never verify.
    /// - For each algorithm the `Active` key activated latest is decrypted into a signer, and
    ///   its private key must match its stored public JWK. Only those keys are decrypted:
    ///   promoting a `Next` key changes its record, so it arrives with the next ring anyway.
    ///
    /// Any inconsistent record (duplicate `kid`, unusable public JWK, undecryptable active
    /// key) fails the whole build, so the caller keeps serving its previous ring.
    pub fn from_records(
        records: &[KeyRecord],
        master: &MasterKey,
        now: UnixTime,
    ) -> Result<KeyRing, KeyError> {
        let mut published = published_keys(records, now)?;
        let signers = latest_active_signers(&published, master)?;
        let mut verifiers = PinnedKeys::default();
        for p in &published {
            verifiers.insert(p.record.kid.as_str().to_owned(), p.alg, p.verifier.clone());
        }
        published.sort_by(|a, b| {
            (a.record.created_at, &a.record.kid).cmp(&(b.record.created_at, &b.record.kid))
        });
        let keys: Vec<Value> = published
            .iter()
            .map(|p| p.material.to_jwk(p.record.kid.as_str(), p.alg))
            .collect();
        let jwks = serde_json::json!({ "keys": keys });
        let jwks_bytes =
            serde_json::to_vec(&jwks).map_err(|_| KeyError::Crypto("JWKS serialization failed"))?;
        let entries = records
            .iter()
            .map(|r| (r.kid.clone(), r.alg, r.state))
            .collect();
        Ok(KeyRing {
            signers,
            verifiers,
            entries,
            jwks,
            jwks_bytes: jwks_bytes.into(),
        })
    }

    /// The key that signs new tokens for `alg`: the `Active` key activated latest.
    pub fn signer(&self, alg: Alg) -> Option<&Arc<SigningKey>> {
        self.signers.get(&alg)
    }

    /// The JWKS document `{"keys":[...]}` of published keys, oldest first (then by `kid`).
    /// Public members only, rebuilt from parsed keys rather than copied from storage.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// [`KeyRing::jwks`] serialized, ready to serve.
    pub fn jwks_bytes(&self) -> &[u8] {
        &self.jwks_bytes
    }

    /// Verifies a token's signature with the published key its `kid` names; the header `alg`
    /// must be that key's algorithm.
    ///
    /// **Signatures only: `exp`, `nbf`, `iat`, `iss`, `aud`, `typ` and revocation are NOT
    /// checked.** Callers check them with their injected clock.
    pub fn verify(&self, token: &str) -> Result<VerifiedJwt, VerifyError> {
        self.verifiers.verify(token)
    }

    /// Every record the ring was built from (published or not): `kid`, algorithm and state.
    pub fn kids(&self) -> impl Iterator<Item = (&Kid, Alg, KeyState)> {
        self.entries
            .iter()
            .map(|(kid, alg, state)| (kid, *alg, *state))
    }
}

impl crate::JwsVerify for KeyRing {
    fn verify_jws(&self, token: &str) -> Result<VerifiedJwt, VerifyError> {
        self.verify(token)
    }

    fn knows_kid(&self, kid: &str) -> bool {
        self.verifiers.contains(kid)
    }
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("signers", &self.signers)
            .field("verifiers", &self.verifiers)
            .finish_non_exhaustive()
    }
}

/// A published record with its parsed public key.
struct Published<'a> {
    record: &'a KeyRecord,
    alg: JwsAlg,
    material: PublicKeyMaterial,
    verifier: ParsedPublicKey,
}

/// The records published at `now`, each with a verifier; fails on duplicate kids and on
/// unusable stored public keys.
fn published_keys(records: &[KeyRecord], now: UnixTime) -> Result<Vec<Published<'_>>, KeyError> {
    let mut published = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let bad = |reason| KeyError::BadRecord {
            kid: record.kid.clone(),
            reason,
        };
        if records.iter().skip(i + 1).any(|r| r.kid == record.kid) {
            return Err(bad("duplicate kid"));
        }
        if !is_published(record, now) {
            continue;
        }
        let material = stored_material(record)?;
        let alg = JwsAlg::from(record.alg);
        let verifier = material
            .verifier(alg)
            .ok_or(bad("stored public key is not a valid key"))?;
        published.push(Published {
            record,
            alg,
            material,
            verifier,
        });
    }
    Ok(published)
}

/// For each algorithm, the `Active` key activated latest, decrypted and checked against its
/// stored public key.
fn latest_active_signers(
    published: &[Published<'_>],
    master: &MasterKey,
) -> Result<BTreeMap<Alg, Arc<SigningKey>>, KeyError> {
    let mut latest: BTreeMap<Alg, &Published<'_>> = BTreeMap::new();
    for p in published
        .iter()
        .filter(|p| p.record.state == KeyState::Active)
    {
        let slot = latest.entry(p.record.alg).or_insert(p);
        if activation_order(p.record) > activation_order(slot.record) {
            *slot = p;
        }
    }
    let mut signers = BTreeMap::new();
    for (alg, p) in latest {
        let key = signing_key(p.record, master)?;
        if key.material() != &p.material {
            let reason = "private key does not match the stored public JWK";
            return Err(KeyError::BadRecord {
                kid: p.record.kid.clone(),
                reason,
            });
        }
        signers.insert(alg, Arc::new(key));
    }
    Ok(signers)
}

/// Orders Active keys: latest activation wins, then latest creation, then `kid`.
fn activation_order(r: &KeyRecord) -> (UnixTime, UnixTime, &Kid) {
    (r.activated_at.unwrap_or(r.created_at), r.created_at, &r.kid)
}

/// The stored public JWK, parsed and checked against the record.
fn stored_material(record: &KeyRecord) -> Result<PublicKeyMaterial, KeyError> {
    let bad = |reason| KeyError::BadRecord {
        kid: record.kid.clone(),
        reason,
    };
    let parsed = jwk::parse_public_jwk(&record.public_jwk).map_err(|p| bad(p.reason()))?;
    if parsed.kid.is_some_and(|kid| kid != record.kid.as_str()) {
        return Err(bad("stored public JWK has a different kid"));
    }
    let alg = JwsAlg::from(record.alg);
    if parsed.alg.is_some_and(|a| a != alg) || !parsed.material.supports(alg) {
        return Err(bad("stored public JWK does not fit the record's algorithm"));
    }
    Ok(parsed.material)
}

#[cfg(test)]
mod tests;
