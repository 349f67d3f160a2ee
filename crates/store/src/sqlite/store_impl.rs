//! [`Store`] for [`SqliteStore`]. The PostgreSQL twin is `postgres/store_impl.rs`; both are
//! held to the same contract by the conformance suite in `tests/conformance`.

use async_trait::async_trait;
use gatehouse_core::{
    Api, ApiId, ApiKey, ApiKeyId, AuditEvent, CaRecord, CertificateRecord, Client, ClientId,
    ClientSecret, DecisionRecord, KeyRecord, KeyState, Kid, PolicyId, PolicyRecord, RevokedToken,
    SecretId, Subscription, UnixTime, UsageQuery, UsageRecord,
};
use sqlx::Sqlite;

use super::SqliteStore;
use crate::conflict::{Unique, duplicate_id, write_error};
use crate::policies;
use crate::rows::{
    AdminTokenRow, ApiKeyRow, ApiRow, AuditRow, CaRow, CertificateRow, ClientRow, KeyRow,
    RevokedRow, SecretRow, SubscriptionRow, TransitionStamps, decode_all, encode_detail,
};
use crate::usage::{self, UsageRow};
use crate::{Store, StoreError};

/// `NotFound` unless the statement touched a row.
fn found(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

fn api_conflict(api: &Api) -> impl FnOnce(Unique) -> String + '_ {
    move |rule| match rule {
        Unique::ApiName => format!("api name '{}' already exists", api.name),
        Unique::ApiAudience => format!("api audience '{}' already exists", api.audience),
        _ => duplicate_id("api", &api.id),
    }
}

/// A duplicate id names the key; a duplicate digest does not repeat any part of it.
fn api_key_conflict(key: &ApiKey, rule: Unique) -> String {
    match rule {
        Unique::ApiKeyDigest => "an api key with the same digest already exists".to_owned(),
        _ => duplicate_id("api key", &key.id),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_api(&self, api: &Api) -> Result<(), StoreError> {
        let r = ApiRow::encode(api)?;
        sqlx::query(
            "INSERT INTO apis (id, name, audience, scopes, token_ttl_secs, alg, claims, \
             copy_metadata, resource_servers, owners, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.id)
        .bind(r.name)
        .bind(r.audience)
        .bind(r.scopes)
        .bind(r.token_ttl_secs)
        .bind(r.alg)
        .bind(r.claims)
        .bind(r.copy_metadata)
        .bind(r.resource_servers)
        .bind(r.owners)
        .bind(r.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| write_error(e, api_conflict(api)))?;
        Ok(())
    }

    async fn update_api(&self, api: &Api) -> Result<(), StoreError> {
        let r = ApiRow::encode(api)?;
        let done = sqlx::query(
            "UPDATE apis SET name = ?, audience = ?, scopes = ?, token_ttl_secs = ?, alg = ?, \
             claims = ?, copy_metadata = ?, resource_servers = ?, owners = ?, created_at = ? WHERE id = ?",
        )
        .bind(r.name)
        .bind(r.audience)
        .bind(r.scopes)
        .bind(r.token_ttl_secs)
        .bind(r.alg)
        .bind(r.claims)
        .bind(r.copy_metadata)
        .bind(r.resource_servers)
        .bind(r.owners)
        .bind(r.created_at)
        .bind(r.id)
        .execute(&self.pool)
        .await
        .map_err(|e| write_error(e, api_conflict(api)))?;
        found(done.rows_affected())
    }

    async fn delete_api(&self, id: &ApiId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM apis WHERE id = ?")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        found(done.rows_affected())
    }

    async fn list_apis(&self) -> Result<Vec<Api>, StoreError> {
        let rows: Vec<ApiRow> = sqlx::query_as("SELECT * FROM apis ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        decode_all(rows)
    }

    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let r = ClientRow::encode(client)?;
        sqlx::query(
            "INSERT INTO clients (id, name, auth_method, jwks, jwks_uri, metadata, claims, \
             tokens_not_before, tls_auth, dns_names, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.id)
        .bind(r.name)
        .bind(r.auth_method)
        .bind(r.jwks)
        .bind(r.jwks_uri)
        .bind(r.metadata)
        .bind(r.claims)
        .bind(r.tokens_not_before)
        .bind(r.tls_auth)
        .bind(r.dns_names)
        .bind(r.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| write_error(e, |_| duplicate_id("client", &client.id)))?;
        Ok(())
    }

    async fn update_client(&self, client: &Client) -> Result<(), StoreError> {
        let r = ClientRow::encode(client)?;
        let done = sqlx::query(
            "UPDATE clients SET name = ?, auth_method = ?, jwks = ?, jwks_uri = ?, metadata = ?, \
             claims = ?, tokens_not_before = ?, tls_auth = ?, dns_names = ?, created_at = ? \
             WHERE id = ?",
        )
        .bind(r.name)
        .bind(r.auth_method)
        .bind(r.jwks)
        .bind(r.jwks_uri)
        .bind(r.metadata)
        .bind(r.claims)
        .bind(r.tokens_not_before)
        .bind(r.tls_auth)
        .bind(r.dns_names)
        .bind(r.created_at)
        .bind(r.id)
        .execute(&self.pool)
        .await?;
        found(done.rows_affected())
    }

    async fn delete_client(&self, id: &ClientId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM clients WHERE id = ?")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        found(done.rows_affected())
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows: Vec<ClientRow> = sqlx::query_as("SELECT * FROM clients ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        decode_all(rows)
    }

    async fn add_client_secret(&self, secret: &ClientSecret) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO client_secrets (id, client_id, digest, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(secret.id.as_str())
        .bind(secret.client_id.as_str())
        .bind(secret.digest.as_slice())
        .bind(secret.created_at.0)
        .bind(secret.expires_at.map(|t| t.0))
        .execute(&self.pool)
        .await
        .map_err(|e| write_error(e, |_| duplicate_id("client secret", &secret.id)))?;
        Ok(())
    }

    async fn expire_client_secrets(
        &self,
        client: &ClientId,
        keep: &SecretId,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE client_secrets SET expires_at = ?1 WHERE client_id = ?2 AND id <> ?3 \
             AND (expires_at IS NULL OR expires_at > ?1)",
        )
        .bind(at.0)
        .bind(client.as_str())
        .bind(keep.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_client_secrets(&self) -> Result<Vec<ClientSecret>, StoreError> {
        let rows: Vec<SecretRow> =
            sqlx::query_as("SELECT * FROM client_secrets ORDER BY created_at, id")
                .fetch_all(&self.pool)
                .await?;
        decode_all(rows)
    }

    async fn add_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let r = ApiKeyRow::encode(key);
        sqlx::query(
            "INSERT INTO api_keys (id, client_id, digest, prefix, created_at, expires_at, \
             revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.id)
        .bind(r.client_id)
        .bind(r.digest)
        .bind(r.prefix)
        .bind(r.created_at)
        .bind(r.expires_at)
        .bind(r.revoked_at)
        .execute(&self.pool)
        .await
        .map_err(|e| write_error(e, |rule| api_key_conflict(key, rule)))?;
        Ok(())
    }

    async fn revoke_api_key(&self, id: &ApiKeyId, at: UnixTime) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
                .bind(at.0)
                .bind(id.as_str())
                .execute(&self.pool)
                .await?;
        found(done.rows_affected())
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows: Vec<ApiKeyRow> = sqlx::query_as("SELECT * FROM api_keys ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        decode_all(rows)
    }

    async fn add_usage(&self, batch_id: &str, records: &[UsageRecord]) -> Result<(), StoreError> {
        let rows = usage::encode_batch(batch_id, records)?;
        let mut tx = self.pool.begin().await?;
        // Claiming the batch id first also takes the write lock (SQLite) or waits for a
        // concurrent sender of the same batch (PostgreSQL).
        let claimed = sqlx::query(
            "INSERT INTO usage_batches (batch_id, received_at) \
             VALUES (?, CAST(strftime('%s', 'now') AS INTEGER)) ON CONFLICT (batch_id) DO NOTHING",
        )
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            // Seen before: dropping `tx` rolls back, nothing is added twice.
            return Ok(());
        }
        let mut skipped = 0usize;
        for row in &rows {
            let done = usage::upsert::<Sqlite>(row)
                .build()
                .execute(&mut *tx)
                .await?;
            skipped += usize::from(done.rows_affected() == 0);
        }
        tx.commit().await?;
        if skipped > 0 {
            tracing::debug!(
                batch_id,
                skipped,
                "usage of deleted APIs or applications dropped"
            );
        }
        Ok(())
    }

    async fn query_usage(&self, query: &UsageQuery) -> Result<Vec<UsageRecord>, StoreError> {
        let rows: Vec<UsageRow> = usage::select::<Sqlite>(query)
            .build_query_as()
            .fetch_all(&self.pool)
            .await?;
        decode_all(rows)
    }

    async fn upsert_subscription(&self, sub: &Subscription) -> Result<Subscription, StoreError> {
        let r = SubscriptionRow::encode(sub);
        let row: SubscriptionRow = sqlx::query_as(
            "INSERT INTO subscriptions (id, client_id, api_id, plan, scopes, status, created_at, \
             updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (client_id, api_id) DO UPDATE SET plan = excluded.plan, \
             scopes = excluded.scopes, status = excluded.status, updated_at = excluded.updated_at \
             RETURNING *",
        )
        .bind(r.id)
        .bind(r.client_id)
        .bind(r.api_id)
        .bind(r.plan)
        .bind(r.scopes)
        .bind(r.status)
        .bind(r.created_at)
        .bind(r.updated_at)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| write_error(e, |_| duplicate_id("subscription", &sub.id)))?;
        Subscription::try_from(row)
    }

    async fn delete_subscription(&self, client: &ClientId, api: &ApiId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM subscriptions WHERE client_id = ? AND api_id = ?")
            .bind(client.as_str())
            .bind(api.as_str())
            .execute(&self.pool)
            .await?;
        found(done.rows_affected())
    }

    async fn list_subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let rows: Vec<SubscriptionRow> =
            sqlx::query_as("SELECT * FROM subscriptions ORDER BY created_at, id")
                .fetch_all(&self.pool)
                .await?;
        decode_all(rows)
    }

    async fn insert_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        let r = KeyRow::encode(key)?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, state, private_key_enc, public_jwk, created_at, \
             activated_at, retired_at, publish_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.kid)
        .bind(r.alg)
        .bind(r.state)
        .bind(r.private_key_enc)
        .bind(r.public_jwk)
        .bind(r.created_at)
        .bind(r.activated_at)
        .bind(r.retired_at)
        .bind(r.publish_until)
        .execute(&self.pool)
        .await
        .map_err(|e| write_error(e, |_| duplicate_id("key", &key.kid)))?;
        Ok(())
    }

    async fn transition_key(
        &self,
        kid: &Kid,
        from: KeyState,
        to: KeyState,
        at: UnixTime,
        publish_until: Option<UnixTime>,
    ) -> Result<bool, StoreError> {
        let s = TransitionStamps::new(to, at, publish_until);
        let done = sqlx::query(
            "UPDATE signing_keys SET state = ?, activated_at = COALESCE(?, activated_at), \
             retired_at = COALESCE(?, retired_at, ?), publish_until = COALESCE(?, publish_until) \
             WHERE kid = ? AND state = ?",
        )
        .bind(to.as_str())
        .bind(s.activated)
        .bind(s.retired)
        .bind(s.retired_if_unset)
        .bind(s.publish_until)
        .bind(kid.as_str())
        .bind(from.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_keys(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM signing_keys WHERE state IN ('retired', 'revoked') \
             AND publish_until IS NOT NULL AND publish_until < ?",
        )
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn list_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let rows: Vec<KeyRow> =
            sqlx::query_as("SELECT * FROM signing_keys ORDER BY created_at, kid")
                .fetch_all(&self.pool)
                .await?;
        decode_all(rows)
    }

    async fn revoke_token(&self, revoked: &RevokedToken) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO revoked_tokens (jti, client_id, expires_at, revoked_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(revoked.jti.as_str())
        .bind(revoked.client_id.as_str())
        .bind(revoked.expires_at.0)
        .bind(revoked.revoked_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_revoked_tokens(&self, now: UnixTime) -> Result<Vec<RevokedToken>, StoreError> {
        let rows: Vec<RevokedRow> = sqlx::query_as(
            "SELECT * FROM revoked_tokens WHERE expires_at > ? ORDER BY revoked_at, jti",
        )
        .bind(now.0)
        .fetch_all(&self.pool)
        .await?;
        decode_all(rows)
    }

    async fn purge_usage_batches(&self, before: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM usage_batches WHERE received_at < ?")
            .bind(before.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn purge_revoked_tokens(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < ?")
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn load_ca(&self) -> Result<Option<CaRecord>, StoreError> {
        let row: Option<CaRow> = sqlx::query_as(
            "SELECT chain_pem, private_key_enc, created_at FROM certificate_authority WHERE id = 'ca'",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(CaRecord::from))
    }

    async fn insert_ca_if_absent(&self, ca: &CaRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO certificate_authority (id, chain_pem, private_key_enc, created_at) \
             VALUES ('ca', ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&ca.chain_pem)
        .bind(&ca.private_key_enc)
        .bind(ca.created_at.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn replace_ca(&self, ca: &CaRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO certificate_authority (id, chain_pem, private_key_enc, created_at) \
             VALUES ('ca', ?, ?, ?) ON CONFLICT (id) DO UPDATE SET \
             chain_pem = excluded.chain_pem, private_key_enc = excluded.private_key_enc, \
             created_at = excluded.created_at",
        )
        .bind(&ca.chain_pem)
        .bind(&ca.private_key_enc)
        .bind(ca.created_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_certificate(&self, cert: &CertificateRecord) -> Result<(), StoreError> {
        let r = CertificateRow::encode(cert)?;
        sqlx::query(
            "INSERT INTO issued_certificates (serial, client_id, spiffe_id, dns_names, \
             not_before, not_after, issued_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.serial)
        .bind(r.client_id)
        .bind(r.spiffe_id)
        .bind(r.dns_names)
        .bind(r.not_before)
        .bind(r.not_after)
        .bind(r.issued_at)
        .bind(r.revoked_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            write_error(e, |_| {
                format!("certificate serial '{}' already exists", cert.serial)
            })
        })?;
        Ok(())
    }

    async fn revoke_certificate(&self, serial: &str, at: UnixTime) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE issued_certificates SET revoked_at = COALESCE(revoked_at, ?) WHERE serial = ?",
        )
        .bind(at.0)
        .bind(serial)
        .execute(&self.pool)
        .await?;
        found(done.rows_affected())
    }

    async fn list_certificates(
        &self,
        client: Option<&ClientId>,
    ) -> Result<Vec<CertificateRecord>, StoreError> {
        let rows: Vec<CertificateRow> = match client {
            Some(c) => {
                sqlx::query_as(
                    "SELECT * FROM issued_certificates WHERE client_id = ? \
                     ORDER BY issued_at, serial",
                )
                .bind(c.as_str())
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as("SELECT * FROM issued_certificates ORDER BY issued_at, serial")
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        decode_all(rows)
    }

    async fn list_revoked_certificates(
        &self,
        now: UnixTime,
    ) -> Result<Vec<CertificateRecord>, StoreError> {
        let rows: Vec<CertificateRow> = sqlx::query_as(
            "SELECT * FROM issued_certificates WHERE revoked_at IS NOT NULL AND not_after > ? \
             ORDER BY issued_at, serial",
        )
        .bind(now.0)
        .fetch_all(&self.pool)
        .await?;
        decode_all(rows)
    }

    async fn purge_certificates(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM issued_certificates WHERE not_after < ?")
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn replace_admin_token(&self, digest: &[u8; 32], at: UnixTime) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM admin_tokens")
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO admin_tokens (digest, created_at) VALUES (?, ?)")
            .bind(digest.as_slice())
            .bind(at.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn admin_token_digests(&self) -> Result<Vec<[u8; 32]>, StoreError> {
        let rows: Vec<AdminTokenRow> =
            sqlx::query_as("SELECT digest FROM admin_tokens ORDER BY created_at, digest")
                .fetch_all(&self.pool)
                .await?;
        decode_all(rows)
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_events (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(event.at.0)
        .bind(event.actor.as_str())
        .bind(event.action.as_str())
        .bind(event.target.as_str())
        .bind(encode_detail(event)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_audit(
        &self,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let rows: Vec<AuditRow> =
            sqlx::query_as("SELECT * FROM audit_events WHERE id < ? ORDER BY id DESC LIMIT ?")
                .bind(before.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
        decode_all(rows)
    }

    async fn put_policy(&self, policy: &PolicyRecord) -> Result<(), StoreError> {
        let row = policies::PolicyRow::encode(policy)?;
        let conflict = |_: Unique| format!("a policy is already attached to {}", row.attachment);
        let mut tx = self.pool.begin().await?;
        if row.version == 1 {
            policies::insert::<Sqlite>(&row)
                .build()
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, conflict))?;
        } else {
            let done = policies::update::<Sqlite>(&row)
                .build()
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, conflict))?;
            if done.rows_affected() == 0 {
                let exists: Option<(i64,)> =
                    sqlx::query_as("SELECT version FROM policies WHERE id = ?")
                        .bind(&row.id)
                        .fetch_optional(&mut *tx)
                        .await?;
                return Err(match exists {
                    None => StoreError::NotFound,
                    Some(_) => StoreError::Conflict(format!(
                        "policy {} changed since version {}",
                        row.id,
                        row.version - 1
                    )),
                });
            }
        }
        policies::insert_version::<Sqlite>(&row)
            .build()
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_policy(&self, id: &PolicyId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM policies WHERE id = ?")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        found(done.rows_affected())
    }

    async fn list_policies(&self) -> Result<Vec<PolicyRecord>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT body FROM policies")
            .fetch_all(&self.pool)
            .await?;
        let mut all = rows
            .iter()
            .map(|(body,)| policies::decode_policy("policies", body))
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    async fn policy_versions(&self, id: &PolicyId) -> Result<Vec<PolicyRecord>, StoreError> {
        let rows: Vec<(String,)> = policies::versions::<Sqlite>(id)
            .build_query_as()
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|(body,)| policies::decode_policy("policy_versions", body))
            .collect()
    }

    async fn add_decisions(&self, records: &[DecisionRecord]) -> Result<(), StoreError> {
        let rows = policies::encode_decisions(records)?;
        for chunk in rows.chunks(500) {
            let all = policies::insert_decisions::<Sqlite>(chunk)
                .build()
                .execute(&self.pool)
                .await;
            match all.map_err(|e| write_error(e, |_| String::new())) {
                Ok(_) => {}
                // An API deleted since: insert one by one, dropping its decisions.
                Err(StoreError::NotFound) => {
                    for one in chunk {
                        let r = policies::insert_decisions::<Sqlite>(std::slice::from_ref(one))
                            .build()
                            .execute(&self.pool)
                            .await;
                        if let Err(e) = r {
                            match write_error(e, |_| String::new()) {
                                StoreError::NotFound => {}
                                other => return Err(other),
                            }
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn list_decisions(
        &self,
        api: Option<&ApiId>,
        since: UnixTime,
        limit: u32,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        let rows: Vec<(String,)> =
            policies::select_decisions::<Sqlite>(api.map(ApiId::as_str), since, limit)
                .build_query_as()
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|(body,)| policies::decode_decision(body))
            .collect()
    }

    async fn purge_decisions(&self, before: UnixTime) -> Result<u64, StoreError> {
        let done = policies::purge_decisions::<Sqlite>(before)
            .build()
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError> {
        self.vacuum_into(path).await
    }
}
