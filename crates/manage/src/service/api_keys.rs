//! API keys of applications: issued once, stored as digests, optionally expiring, revocable.
//! Several keys may be valid at once, so a key is rotated by creating the new one, moving
//! callers over, then revoking the old one.

use std::time::Duration;

use gatehouse_core::{ApiKey, ApiKeyId, UnixTime, parse_duration};
use gatehouse_keys::secret::{self, SecretKind};
use gatehouse_proto::admin::{ApiKeyView, CreatedApiKey};

use super::{ManageService, invalid, new_id};
use crate::ManageError;

/// Longest accepted key lifetime: two years.
const MAX_LIFETIME: Duration = Duration::from_secs(730 * 86400);
/// Shortest accepted key lifetime.
const MIN_LIFETIME: Duration = Duration::from_secs(60);
/// Random characters of a key kept (after its kind prefix) to recognise it in listings.
const PREFIX_CHARS: usize = 4;

/// The listing form of `key` at `now`.
pub(crate) fn api_key_view(key: &ApiKey, now: UnixTime) -> ApiKeyView {
    ApiKeyView {
        id: key.id.to_string(),
        prefix: key.prefix.clone(),
        created_at: key.created_at.0,
        expires_at: key.expires_at.map(|t| t.0),
        revoked_at: key.revoked_at.map(|t| t.0),
        valid: key.is_valid_at(now),
    }
}

fn lifetime(expires_in: &str) -> Result<Duration, ManageError> {
    let d = parse_duration(expires_in).map_err(|e| invalid(format!("expires_in: {e}")))?;
    if !(MIN_LIFETIME..=MAX_LIFETIME).contains(&d) {
        return Err(invalid("expires_in must be between 1m and 730d"));
    }
    Ok(d)
}

impl ManageService {
    /// Issues an API key for client `id`, valid for `expires_in` (forever when `None`). The key
    /// is in the answer only; the store keeps its digest.
    pub async fn create_api_key(
        &self,
        actor: &str,
        id: &str,
        expires_in: Option<&str>,
    ) -> Result<CreatedApiKey, ManageError> {
        let lifetime = expires_in.map(lifetime).transpose()?;
        let entry = self.get_client(id)?;
        let now = self.now();
        let key = secret::generate(SecretKind::ApiKey);
        let shown = SecretKind::ApiKey.prefix().len() + PREFIX_CHARS;
        let record = ApiKey {
            id: new_id::<ApiKeyId>("ak_")?,
            client_id: entry.client.id.clone(),
            digest: secret::digest(key.expose()),
            prefix: key.expose().get(..shown).unwrap_or_default().to_owned(),
            created_at: now,
            expires_at: lifetime.map(|d| now.plus(d)),
            revoked_at: None,
        };
        self.state.store.add_api_key(&record).await?;
        self.audit(
            actor,
            "api_key.create",
            record.id.as_str(),
            serde_json::json!({"client": record.client_id, "expires_at": record.expires_at}),
        )
        .await?;
        self.changed().await?;
        Ok(CreatedApiKey {
            id: record.id.to_string(),
            api_key: key.expose().to_owned(),
            prefix: record.prefix,
            expires_at: record.expires_at.map(|t| t.0),
        })
    }

    /// The API keys of client `id` (revoked and expired ones included), oldest first.
    pub async fn list_api_keys(&self, id: &str) -> Result<Vec<ApiKeyView>, ManageError> {
        let entry = self.get_client(id)?;
        let now = self.now();
        // The store, not the catalog: a key made on another replica is listed at once.
        let keys = self.state.store.list_api_keys().await?;
        Ok(keys
            .iter()
            .filter(|k| k.client_id == entry.client.id)
            .map(|k| api_key_view(k, now))
            .collect())
    }

    /// Revokes API key `key_id` of client `id` (`NotFound` when the client has no such key).
    /// Revoking a revoked key changes nothing: the first revocation time stays.
    pub async fn revoke_api_key(
        &self,
        actor: &str,
        id: &str,
        key_id: &str,
    ) -> Result<(), ManageError> {
        let entry = self.get_client(id)?;
        let not_found = || ManageError::NotFound(format!("api key '{key_id}' of client '{id}'"));
        let key_id = ApiKeyId::parse(key_id).map_err(|_| not_found())?;
        let keys = self.state.store.list_api_keys().await?;
        if !keys
            .iter()
            .any(|k| k.id == key_id && k.client_id == entry.client.id)
        {
            return Err(not_found());
        }
        self.state.store.revoke_api_key(&key_id, self.now()).await?;
        self.audit(
            actor,
            "api_key.revoke",
            key_id.as_str(),
            serde_json::json!({"client": entry.client.id}),
        )
        .await?;
        self.changed().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_outside_one_minute_to_two_years_are_invalid() {
        assert_eq!(lifetime("90d").unwrap(), Duration::from_secs(90 * 86400));
        assert_eq!(lifetime("730d").unwrap(), MAX_LIFETIME);
        for bad in ["731d", "30s", "0s", "soon", ""] {
            assert!(
                matches!(lifetime(bad), Err(ManageError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
