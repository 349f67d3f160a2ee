//! `gatehouse client api-key create|list|revoke`.

use gatehouse_proto::admin::{ApiKeyView, CreateApiKey, CreatedApiKey, List};
use reqwest::Method;
use serde_json::json;

use super::{Output, Result, enc};
use crate::admin_client::AdminClient;
use crate::cli::ApiKeyCmd;

/// Runs one `client api-key` subcommand.
pub(super) async fn run(c: &AdminClient, cmd: &ApiKeyCmd) -> Result<Output> {
    match cmd {
        ApiKeyCmd::Create {
            client_id,
            expires_in,
        } => {
            let body = CreateApiKey {
                expires_in: expires_in.clone(),
            };
            let path = format!("/admin/v1/clients/{}/api-keys", enc(client_id));
            let created: CreatedApiKey = c.call(Method::POST, &path, Some(&body)).await?;
            let expires = created
                .expires_at
                .map_or_else(|| "never".to_owned(), |t| t.to_string());
            let human = format!(
                "key_id:  {}\napi_key: {}\nexpires: {expires}\n(shown once: store it now)",
                created.id, created.api_key
            );
            Ok(Output::new(
                serde_json::to_value(&created).unwrap_or_default(),
                human,
            ))
        }
        ApiKeyCmd::List { client_id } => {
            let path = format!("/admin/v1/clients/{}/api-keys", enc(client_id));
            let list: List<ApiKeyView> = c.call::<(), _>(Method::GET, &path, None).await?;
            let human = list.items.iter().map(line).collect::<Vec<_>>().join("\n");
            Ok(Output::new(
                serde_json::to_value(&list).unwrap_or_default(),
                human,
            ))
        }
        ApiKeyCmd::Revoke { client_id, key_id } => {
            let path = format!(
                "/admin/v1/clients/{}/api-keys/{}/revoke",
                enc(client_id),
                enc(key_id)
            );
            let _: serde_json::Value = c.call::<(), _>(Method::POST, &path, None).await?;
            Ok(Output::new(
                json!({"revoked": {"client_id": client_id, "key_id": key_id}}),
                format!("revoked API key {key_id} of {client_id}"),
            ))
        }
    }
}

fn line(k: &ApiKeyView) -> String {
    let opt = |t: Option<i64>| t.map_or_else(|| "-".to_owned(), |t| t.to_string());
    format!(
        "{:<26} {:<18} {:<7} created={} expires={} revoked={}",
        k.id,
        k.prefix,
        if k.valid { "valid" } else { "invalid" },
        k.created_at,
        opt(k.expires_at),
        opt(k.revoked_at)
    )
}
