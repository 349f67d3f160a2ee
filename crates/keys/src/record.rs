//! Between stored [`KeyRecord`]s and in-memory [`SigningKey`]s.

use gatehouse_core::{Alg, KeyRecord, KeyState, Kid, UnixTime};

use crate::secret::random_base62;
use crate::{KeyError, MasterKey, SigningKey};

/// Generates a key and its storage record: a random 16-character `kid`, the PKCS#8 private key
/// encrypted under `master` with the `kid` as associated data, the public JWK, `created_at =
/// now`, and `activated_at = now` when `state` is `Active`.
pub fn new_key_record(
    alg: Alg,
    state: KeyState,
    now: UnixTime,
    master: &MasterKey,
) -> Result<(KeyRecord, SigningKey), KeyError> {
    let kid = Kid::parse(&random_base62(16))
        .map_err(|_| KeyError::Crypto("generated kid is not a valid id"))?;
    let (key, der) = SigningKey::generate(alg, kid.clone())?;
    let private_key_enc = master
        .encrypt(&der, kid.as_str().as_bytes())
        .map_err(KeyError::Encrypt)?;
    let record = KeyRecord {
        kid,
        alg,
        state,
        private_key_enc,
        public_jwk: key.public_jwk(),
        created_at: now,
        activated_at: (state == KeyState::Active).then_some(now),
        retired_at: None,
        publish_until: None,
    };
    Ok((record, key))
}

/// Whether a key belongs in the JWKS (and verifies tokens) at `now`: `Next` and `Active`
/// always, `Retired` until its `publish_until` (exclusive; forever when unset), `Revoked`
/// never.
pub fn is_published(record: &KeyRecord, now: UnixTime) -> bool {
    match record.state {
        KeyState::Next | KeyState::Active => true,
        KeyState::Retired => record.publish_until.is_none_or(|until| now < until),
        KeyState::Revoked => false,
    }
}

/// Decrypts a record's private key (AAD = kid) and loads it.
pub(crate) fn signing_key(record: &KeyRecord, master: &MasterKey) -> Result<SigningKey, KeyError> {
    let der = master
        .decrypt(&record.private_key_enc, record.kid.as_str().as_bytes())
        .map_err(|source| KeyError::Decrypt {
            kid: record.kid.clone(),
            source,
        })?;
    SigningKey::from_pkcs8(record.alg, record.kid.clone(), &der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_active_record_round_trips_through_encryption() {
        let master = MasterKey::generate();
        let (record, key) =
            new_key_record(Alg::ES256, KeyState::Active, UnixTime(100), &master).unwrap();
        assert_eq!(record.kid.as_str().len(), 16);
        assert_eq!(record.activated_at, Some(UnixTime(100)));
        assert_eq!(record.created_at, UnixTime(100));
        assert_eq!(record.public_jwk, key.public_jwk());
        let loaded = signing_key(&record, &master).unwrap();
        assert_eq!(loaded.public_jwk(), key.public_jwk());
    }

    #[test]
    fn next_record_is_not_activated() {
        let master = MasterKey::generate();
        let (record, _) = new_key_record(Alg::EdDSA, KeyState::Next, UnixTime(5), &master).unwrap();
        assert_eq!(record.activated_at, None);
    }

    #[test]
    fn private_key_is_bound_to_its_kid() {
        let master = MasterKey::generate();
        let (mut record, _) =
            new_key_record(Alg::ES256, KeyState::Active, UnixTime(0), &master).unwrap();
        record.kid = Kid::parse("someotherkid").unwrap();
        assert!(matches!(
            signing_key(&record, &master),
            Err(KeyError::Decrypt { .. })
        ));
    }

    #[test]
    fn retired_key_is_published_until_publish_until_exclusive() {
        let master = MasterKey::generate();
        let (mut record, _) =
            new_key_record(Alg::ES256, KeyState::Retired, UnixTime(0), &master).unwrap();
        record.publish_until = Some(UnixTime(50));
        assert!(is_published(&record, UnixTime(49)));
        assert!(!is_published(&record, UnixTime(50)));
        record.publish_until = None;
        assert!(is_published(&record, UnixTime(1_000_000)));
        record.state = KeyState::Revoked;
        assert!(!is_published(&record, UnixTime(0)));
    }
}
