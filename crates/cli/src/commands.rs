//! Running CLI commands: validate arguments, call the admin API, and shape the output.
//! Each command returns one JSON value (printed with `--json`) and a human rendering.

use std::path::Path;

use gatehouse_core::{Env, ProcessEnv};
use gatehouse_proto::admin::{
    AdminTokenRotated, CreateApi, CreateClient, CreatedClient, GrantRequest, KeyView, List,
    RotateKeys, RotateSecret, RotatedSecret, TokensRevoked,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::admin_client::{AdminClient, problem_message, read_secret_file};
use crate::cli::{
    AdminTokenCmd, ApiCmd, Cli, ClientCmd, Command, GrantArgs, GrantCmd, KeysCmd, TokenArgs,
};
use crate::{CliError, fsutil};

mod api_keys;
mod certs;
mod people;
pub(crate) mod policies;

/// What a command produced.
#[derive(Debug)]
pub struct Output {
    /// The `--json` form: exactly one object.
    pub json: Value,
    /// The human form.
    pub human: String,
}

impl Output {
    fn new(json: Value, human: impl Into<String>) -> Self {
        Self {
            json,
            human: human.into(),
        }
    }

    /// An output from another module.
    pub fn new_pub(json: Value, human: impl Into<String>) -> Self {
        Self::new(json, human)
    }
}

type Result<T> = std::result::Result<T, CliError>;

/// Runs an admin command (everything but `serve`, `config`, `backup`, `restore`).
pub async fn run_admin(cli: &Cli) -> Result<Output> {
    let client = AdminClient::from_flags(cli.server.as_deref(), cli.admin_token_file.as_deref())?;
    match &cli.command {
        Command::Api { cmd } => api(&client, cmd).await,
        Command::Client { cmd } => client_cmd(&client, cmd).await,
        Command::Grant(args) => grant(&client, args).await,
        Command::Cert { cmd } => certs::run(&client, cmd).await,
        Command::Policy { cmd } => policies::run(&client, cmd).await,
        Command::Keys { cmd } => keys(&client, cmd).await,
        Command::AdminToken {
            cmd: AdminTokenCmd::Rotate,
        } => rotate_admin_token(&client, cli).await,
        Command::User { cmd } => people::user(&client, cmd).await,
        Command::Plan { cmd } => people::plan(&client, cmd).await,
        Command::Token(args) => token(&client, args).await,
        Command::Usage(args) => usage(&client, args).await,
        Command::Audit { limit } => {
            let v: Value = client
                .call::<(), _>(Method::GET, &format!("/admin/v1/audit?limit={limit}"), None)
                .await?;
            let human = items(&v)
                .iter()
                .map(|e| {
                    format!(
                        "{}  {:<22} {:<24} {}",
                        field(e, "at"),
                        s(field(e, "action")),
                        s(field(e, "target")),
                        s(field(e, "actor"))
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(v, human))
        }
        Command::Serve(_)
        | Command::Gateway(_)
        | Command::Agent(_)
        | Command::Config { .. }
        | Command::Backup(_)
        | Command::Restore(_) => Err(CliError::Usage("not an admin command".into())),
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// A member of a JSON object, or `null`.
fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
}

fn items(v: &Value) -> Vec<Value> {
    v.get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn enc(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Parses `NAME=VALUE` pairs; VALUE is JSON when it parses as JSON, else a string.
fn pairs(flag: &str, list: &[String]) -> Result<serde_json::Map<String, Value>> {
    let mut out = serde_json::Map::new();
    for item in list {
        let (k, v) = item
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| CliError::Usage(format!("--{flag} {item:?}: expected NAME=VALUE")))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()));
        out.insert(k.to_owned(), value);
    }
    Ok(out)
}

fn api_line(a: &Value) -> String {
    format!(
        "{:<28} {:<16} {:<32} {:<6} ttl={}s scopes={}",
        s(field(a, "id")),
        s(field(a, "name")),
        s(field(a, "audience")),
        s(field(a, "alg")),
        s(field(a, "token_ttl_secs")),
        s(field(a, "scopes")).replace('"', "")
    )
}

async fn api(c: &AdminClient, cmd: &ApiCmd) -> Result<Output> {
    match cmd {
        ApiCmd::Create {
            name,
            audience,
            scopes,
            token_ttl,
            alg,
            claims,
            copy_metadata,
            resource_servers,
        } => {
            let body = CreateApi {
                name: name.clone(),
                audience: audience.clone(),
                scopes: scopes.clone(),
                token_ttl: token_ttl.clone(),
                alg: alg.clone(),
                claims: pairs("claim", claims)?,
                copy_metadata: copy_metadata.clone(),
                resource_servers: resource_servers.clone(),
            };
            let v: Value = c.call(Method::POST, "/admin/v1/apis", Some(&body)).await?;
            let human = format!(
                "created API {} ({}) audience {}",
                s(field(&v, "name")),
                s(field(&v, "id")),
                s(field(&v, "audience"))
            );
            Ok(Output::new(v, human))
        }
        ApiCmd::SetResourceServers { api, clients } => {
            let body = gatehouse_proto::admin::SetResourceServers {
                clients: clients.clone(),
            };
            let path = format!("/admin/v1/apis/{}/resource-servers", enc(api));
            let v: Value = c.call(Method::PUT, &path, Some(&body)).await?;
            let human = format!(
                "resource servers of {api}: {}",
                s(field(&v, "resource_servers"))
            );
            Ok(Output::new(v, human))
        }
        ApiCmd::SetOwners { api, clients } => {
            let body = gatehouse_proto::admin::SetOwners {
                clients: clients.clone(),
            };
            let path = format!("/admin/v1/apis/{}/owners", enc(api));
            let v: Value = c.call(Method::PUT, &path, Some(&body)).await?;
            let human = format!("owners of {api}: {}", s(field(&v, "owners")));
            Ok(Output::new(v, human))
        }
        ApiCmd::List => {
            let v: Value = c.call::<(), _>(Method::GET, "/admin/v1/apis", None).await?;
            let human = items(&v)
                .iter()
                .map(api_line)
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(v, human))
        }
        ApiCmd::Show { api } => {
            let v: Value = c
                .call::<(), _>(Method::GET, &format!("/admin/v1/apis/{}", enc(api)), None)
                .await?;
            let human = serde_json::to_string_pretty(&v).unwrap_or_default();
            Ok(Output::new(v, human))
        }
        ApiCmd::Delete { api } => {
            let _: Value = c
                .call::<(), _>(
                    Method::DELETE,
                    &format!("/admin/v1/apis/{}", enc(api)),
                    None,
                )
                .await?;
            Ok(Output::new(
                json!({"deleted": api}),
                format!("deleted API {api}"),
            ))
        }
    }
}

async fn client_cmd(c: &AdminClient, cmd: &ClientCmd) -> Result<Output> {
    match cmd {
        ClientCmd::Create(args) => {
            let crate::cli::ClientCreateArgs {
                name,
                auth_method,
                tls_subject,
                tls_san_uri,
                tls_san_dns,
                cert_files,
                bound_tokens,
                dns_names,
                jwks_file,
                jwks_uri,
                metadata,
                claims,
            } = args.as_ref();
            let certificates = cert_files
                .iter()
                .map(|f| {
                    std::fs::read_to_string(f)
                        .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", f.display())))
                })
                .collect::<Result<Vec<_>>>()?;
            let jwks = match jwks_file {
                Some(f) => {
                    let text = std::fs::read_to_string(f).map_err(|e| {
                        CliError::Failed(format!("cannot read {}: {e}", f.display()))
                    })?;
                    Some(serde_json::from_str::<Value>(&text).map_err(|e| {
                        CliError::Failed(format!("{} is not JSON: {e}", f.display()))
                    })?)
                }
                None => None,
            };
            let body = CreateClient {
                name: name.clone(),
                auth_method: auth_method.clone(),
                jwks,
                jwks_uri: jwks_uri.clone(),
                metadata: pairs("metadata", metadata)?,
                claims: pairs("claim", claims)?,
                tls: gatehouse_core::ClientTls {
                    subject_dn: tls_subject.clone(),
                    san_uri: tls_san_uri.clone(),
                    san_dns: tls_san_dns.clone(),
                    thumbprints: Vec::new(),
                    bound_tokens: *bound_tokens,
                },
                certificates,
                dns_names: dns_names.clone(),
            };
            let created: CreatedClient = c
                .call(Method::POST, "/admin/v1/clients", Some(&body))
                .await?;
            let mut human = format!("client_id:     {}", created.client_id);
            if let Some(secret) = &created.client_secret {
                human.push_str(&format!(
                    "\nclient_secret: {secret}\n(shown once: store it now)"
                ));
            }
            let json = serde_json::to_value(&created).unwrap_or_default();
            Ok(Output::new(json, human))
        }
        ClientCmd::List => {
            let v: Value = c
                .call::<(), _>(Method::GET, "/admin/v1/clients", None)
                .await?;
            let human = items(&v)
                .iter()
                .map(|c| {
                    format!(
                        "{:<28} {:<20} {}",
                        s(field(c, "id")),
                        s(field(c, "name")),
                        s(field(c, "auth_method"))
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(v, human))
        }
        ClientCmd::Show { id } => {
            let v: Value = c
                .call::<(), _>(Method::GET, &format!("/admin/v1/clients/{}", enc(id)), None)
                .await?;
            Ok(Output::new(
                v.clone(),
                serde_json::to_string_pretty(&v).unwrap_or_default(),
            ))
        }
        ClientCmd::Delete { id } => {
            let _: Value = c
                .call::<(), _>(
                    Method::DELETE,
                    &format!("/admin/v1/clients/{}", enc(id)),
                    None,
                )
                .await?;
            Ok(Output::new(
                json!({"deleted": id}),
                format!("deleted client {id}"),
            ))
        }
        ClientCmd::RotateSecret { id, grace } => {
            let body = RotateSecret {
                grace: grace.clone(),
            };
            let r: RotatedSecret = c
                .call(
                    Method::POST,
                    &format!("/admin/v1/clients/{}/rotate-secret", enc(id)),
                    Some(&body),
                )
                .await?;
            let human = format!(
                "client_secret: {}\n(shown once; previous secrets valid until {})",
                r.client_secret, r.previous_valid_until
            );
            Ok(Output::new(
                serde_json::to_value(&r).unwrap_or_default(),
                human,
            ))
        }
        ClientCmd::ApiKey { cmd } => api_keys::run(c, cmd).await,
        ClientCmd::SetDns { id, dns_names } => certs::set_dns(c, id, dns_names).await,
        ClientCmd::RevokeTokens { id } => {
            let r: TokensRevoked = c
                .call::<(), _>(
                    Method::POST,
                    &format!("/admin/v1/clients/{}/revoke-tokens", enc(id)),
                    None,
                )
                .await?;
            let human = format!(
                "tokens issued to {id} before {} are now invalid",
                r.tokens_not_before
            );
            Ok(Output::new(
                serde_json::to_value(&r).unwrap_or_default(),
                human,
            ))
        }
    }
}

fn grant_line(g: &Value) -> String {
    format!(
        "{:<28} {:<28} {:<9} {}",
        s(field(g, "client_id")),
        s(field(g, "api_id")),
        s(field(g, "status")),
        s(field(g, "scopes")).replace('"', "")
    )
}

async fn grant(c: &AdminClient, args: &GrantArgs) -> Result<Output> {
    match &args.cmd {
        None => {
            let (Some(client), Some(api)) = (&args.client, &args.api) else {
                return Err(CliError::Usage(
                    "grant needs --client CLIENT_ID and --api API (or a subcommand: list, revoke)"
                        .into(),
                ));
            };
            let body = GrantRequest {
                client_id: client.clone(),
                api: api.clone(),
                scopes: args.scopes.clone(),
            };
            let v: Value = c.call(Method::PUT, "/admin/v1/grants", Some(&body)).await?;
            let human = format!(
                "granted {client} on {api}: {}",
                s(field(&v, "scopes")).replace('"', "")
            );
            Ok(Output::new(v, human))
        }
        Some(GrantCmd::List { client, api }) => {
            let mut q = Vec::new();
            if let Some(cid) = client {
                q.push(format!("client={}", enc(cid)));
            }
            if let Some(a) = api {
                q.push(format!("api={}", enc(a)));
            }
            let path = if q.is_empty() {
                "/admin/v1/grants".to_owned()
            } else {
                format!("/admin/v1/grants?{}", q.join("&"))
            };
            let v: Value = c.call::<(), _>(Method::GET, &path, None).await?;
            let human = items(&v)
                .iter()
                .map(grant_line)
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(v, human))
        }
        Some(GrantCmd::Revoke { client, api }) => {
            let path = format!("/admin/v1/grants/{}/{}", enc(client), enc(api));
            let _: Value = c.call::<(), _>(Method::DELETE, &path, None).await?;
            Ok(Output::new(
                json!({"revoked": {"client_id": client, "api": api}}),
                format!("revoked grant of {client} on {api}"),
            ))
        }
    }
}

async fn keys(c: &AdminClient, cmd: &KeysCmd) -> Result<Output> {
    match cmd {
        KeysCmd::List => {
            let v: List<KeyView> = c.call::<(), _>(Method::GET, "/admin/v1/keys", None).await?;
            let human = v
                .items
                .iter()
                .map(|k| {
                    format!(
                        "{:<18} {:<6} {:<8} created={}",
                        k.kid, k.alg, k.state, k.created_at
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(
                serde_json::to_value(&v).unwrap_or_default(),
                human,
            ))
        }
        KeysCmd::Rotate { alg } => {
            let _: Value = c
                .call(
                    Method::POST,
                    "/admin/v1/keys/rotate",
                    Some(&RotateKeys { alg: alg.clone() }),
                )
                .await?;
            Ok(Output::new(
                json!({"rotated": alg.clone().unwrap_or_else(|| "all".into())}),
                "rotated signing keys",
            ))
        }
        KeysCmd::Revoke { kid } => {
            let _: Value = c
                .call::<(), _>(
                    Method::POST,
                    &format!("/admin/v1/keys/{}/revoke", enc(kid)),
                    None,
                )
                .await?;
            Ok(Output::new(
                json!({"revoked": kid}),
                format!("revoked key {kid}; it has left the JWKS"),
            ))
        }
    }
}

async fn rotate_admin_token(c: &AdminClient, cli: &Cli) -> Result<Output> {
    let r: AdminTokenRotated = c
        .call::<(), _>(Method::POST, "/admin/v1/admin-token/rotate", None)
        .await?;
    let file = cli.admin_token_file.clone().or_else(|| {
        ProcessEnv
            .get("GATEHOUSE_ADMIN_TOKEN")
            .is_none()
            .then(|| "./gatehouse-data/admin-token".into())
    });
    match file {
        Some(f) => {
            fsutil::write_private_file(&f, format!("{}\n", r.admin_token).as_bytes()).map_err(
                |e| {
                    CliError::Failed(format!(
                        "rotated, but writing {} failed: {e}; new token: {}",
                        f.display(),
                        r.admin_token
                    ))
                },
            )?;
            Ok(Output::new(
                json!({"admin_token_file": f}),
                format!("admin token rotated; written to {}", f.display()),
            ))
        }
        None => Ok(Output::new(
            json!({"admin_token": r.admin_token}),
            format!("new admin token (shown once): {}", r.admin_token),
        )),
    }
}

async fn token(c: &AdminClient, args: &TokenArgs) -> Result<Output> {
    let secret = match &args.client_secret_file {
        Some(f) => read_secret_file(Path::new(f))?,
        None => ProcessEnv.get("GATEHOUSE_CLIENT_SECRET").ok_or_else(|| {
            CliError::Usage("pass --client-secret-file FILE or set GATEHOUSE_CLIENT_SECRET".into())
        })?,
    };
    let mut form: Vec<(&str, String)> = vec![("grant_type", "client_credentials".into())];
    for r in &args.resources {
        form.push(("resource", r.clone()));
    }
    if !args.scopes.is_empty() {
        form.push(("scope", args.scopes.join(" ")));
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let resp = c
        .http()
        .post(format!("{}/oauth2/token", c.base()))
        .basic_auth(&args.client_id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| CliError::Failed(format!("cannot reach {}: {e}", c.base())))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    if !status.is_success() {
        return Err(CliError::Failed(problem_message(status, &bytes)));
    }
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::Failed(format!("bad token response: {e}")))?;
    let human = s(field(&v, "access_token"));
    Ok(Output::new(v, human))
}

async fn usage(c: &AdminClient, args: &crate::cli::UsageArgs) -> Result<Output> {
    let path = match (&args.api, &args.client) {
        (Some(api), _) => format!("/admin/v1/apis/{}/usage", enc(api)),
        (None, Some(client)) => format!("/admin/v1/applications/{}/usage", enc(client)),
        (None, None) => {
            return Err(CliError::Usage(
                "pass --api API or --client CLIENT_ID".into(),
            ));
        }
    };
    let mut q = Vec::new();
    if let Some(by) = &args.by {
        q.push(format!("by={}", enc(by)));
    }
    if let Some(f) = args.from {
        q.push(format!("from={f}"));
    }
    if let Some(t) = args.to {
        q.push(format!("to={t}"));
    }
    let path = if q.is_empty() {
        path
    } else {
        format!("{path}?{}", q.join("&"))
    };
    let v: Value = c.call::<(), _>(Method::GET, &path, None).await?;
    let mut human = format!(
        "{} requests from {} to {}\n",
        s(field(&v, "total")),
        s(field(&v, "from")),
        s(field(&v, "to"))
    );
    for g in items(&v) {
        human.push_str(&format!(
            "{:<28} {:>8}  {}  p50={}ms p99={}ms\n",
            s(field(&g, "key")),
            s(field(&g, "count")),
            s(field(&g, "by_class")).replace('"', ""),
            s(field(&g, "p50_ms")),
            s(field(&g, "p99_ms")),
        ));
    }
    Ok(Output::new(v, human.trim_end().to_owned()))
}
