//! Command-line arguments (clap derive). Raw arguments only; `commands` validates and runs them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Gatehouse: machine-to-machine authentication and authorization.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about, propagate_version = true)]
pub struct Cli {
    /// Admin API base URL [env: GATEHOUSE_SERVER] [default: http://127.0.0.1:7070].
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// File holding the admin token [default: ./gatehouse-data/admin-token]; env
    /// GATEHOUSE_ADMIN_TOKEN holds the token itself and wins over the default file.
    #[arg(long, global = true, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// Print exactly one JSON object on stdout (messages go to stderr).
    #[arg(long, global = true)]
    pub json: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the control plane (authorization server and admin API).
    Serve(ServeArgs),
    /// Run a standalone gateway (data plane) that syncs from a control plane.
    Gateway(GatewayArgs),
    /// Run the token agent next to a workload: it holds the workload's credential and hands
    /// the application tokens over loopback (native, Azure App Service and IMDS protocols).
    Agent(AgentArgs),
    /// Validate configuration without starting.
    Config {
        /// What to do.
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Manage APIs (resource servers).
    Api {
        /// What to do.
        #[command(subcommand)]
        cmd: ApiCmd,
    },
    /// Manage clients (applications).
    Client {
        /// What to do.
        #[command(subcommand)]
        cmd: ClientCmd,
    },
    /// Grant a client scopes on an API (an approved subscription), or list/revoke grants.
    Grant(GrantArgs),
    /// Issue, list and revoke application certificates from the built-in CA.
    Cert {
        /// What to do.
        #[command(subcommand)]
        cmd: CertCmd,
    },
    /// Rego policies: test them locally, and upload, show, version and detach them.
    Policy {
        /// What to do.
        #[command(subcommand)]
        cmd: PolicyCmd,
    },
    /// Manage signing keys.
    Keys {
        /// What to do.
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Manage the admin token.
    AdminToken {
        /// What to do.
        #[command(subcommand)]
        cmd: AdminTokenCmd,
    },
    /// Manage portal users (admins and developers).
    User {
        /// What to do.
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Manage the plans of an API (rate limit, daily quota, approval, scopes).
    Plan {
        /// What to do.
        #[command(subcommand)]
        cmd: PlanCmd,
    },
    /// Get an access token with the client credentials grant.
    Token(TokenArgs),
    /// Show usage statistics of an API or an application (gateway traffic).
    Usage(UsageArgs),
    /// Show the audit log (newest first).
    Audit {
        /// How many events.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Write a consistent backup of the database and key material.
    Backup(BackupArgs),
    /// Restore a backup into a data directory (server stopped).
    Restore(RestoreArgs),
}

/// Server settings; each is also settable in the config file and the environment.
#[derive(Debug, Args, Clone, Default)]
pub struct ServeArgs {
    /// TOML config file [env: GATEHOUSE_CONFIG].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory [env: GATEHOUSE_DATA_DIR] [default: ./gatehouse-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Listen address [env: GATEHOUSE_LISTEN] [default: 127.0.0.1:7070].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Issuer URL [env: GATEHOUSE_ISSUER] [default: http:// + listen address].
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// Allow plain HTTP on a non-loopback address [env: GATEHOUSE_INSECURE_HTTP].
    #[arg(long)]
    pub insecure_http: bool,
    /// Database URL: sqlite:PATH or postgres://… [env: GATEHOUSE_DATABASE_URL].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// `gatehouse gateway` settings; the rest is in the config file's `[gateway]` section.
#[derive(Debug, Args, Clone, Default)]
pub struct GatewayArgs {
    /// TOML config file with a `[gateway]` section [env: GATEHOUSE_CONFIG].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Control plane base URL, overriding `gateway.control_plane.url`
    /// [env: GATEHOUSE_CONTROL_PLANE].
    #[arg(long, value_name = "URL")]
    pub control_plane: Option<String>,
    /// The gateway's client id, overriding `gateway.control_plane.client_id`
    /// [env: GATEHOUSE_GATEWAY_CLIENT_ID].
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// File holding the gateway's client secret, overriding
    /// `gateway.control_plane.client_secret_file` (env GATEHOUSE_GATEWAY_CLIENT_SECRET holds
    /// the secret itself).
    #[arg(long, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address, and to a non-loopback control plane
    /// [env: GATEHOUSE_INSECURE_HTTP].
    #[arg(long)]
    pub insecure_http: bool,
}

/// `gatehouse agent` settings; the rest is in the agent config file's `[agent]` section.
#[derive(Debug, Args, Clone, Default)]
pub struct AgentArgs {
    /// TOML file with an `[agent]` section.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Parse and validate the configuration, print the resolved values.
    Check(ServeArgs),
}

/// `api` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiCmd {
    /// Register an API.
    Create {
        /// Unique name.
        #[arg(long)]
        name: String,
        /// Unique audience URI (the `aud` of its tokens).
        #[arg(long)]
        audience: String,
        /// A scope the API defines (repeatable).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Token lifetime, e.g. 15m.
        #[arg(long, value_name = "DURATION")]
        token_ttl: Option<String>,
        /// Signing algorithm: ES256 (default), EdDSA, RS256 or PS256.
        #[arg(long)]
        alg: Option<String>,
        /// Static custom claim NAME=VALUE (VALUE parsed as JSON when it is valid JSON).
        #[arg(long = "claim", value_name = "NAME=VALUE")]
        claims: Vec<String>,
        /// Copy this application metadata key into tokens as a claim (repeatable).
        #[arg(long = "copy-metadata", value_name = "KEY")]
        copy_metadata: Vec<String>,
        /// Client acting as this API's resource server: may introspect its tokens (repeatable).
        #[arg(long = "resource-server", value_name = "CLIENT_ID")]
        resource_servers: Vec<String>,
    },
    /// Set the clients acting as an API's resource server (replaces the list).
    SetResourceServers {
        /// Id, name or audience.
        api: String,
        /// Client id (repeatable; none clears the list).
        #[arg(long = "client", value_name = "CLIENT_ID")]
        clients: Vec<String>,
    },
    /// Set the clients that own an API and may manage its policies (replaces the list).
    SetOwners {
        /// Id, name or audience.
        api: String,
        /// Client id (repeatable; none clears the list).
        #[arg(long = "client", value_name = "CLIENT_ID")]
        clients: Vec<String>,
    },
    /// List APIs.
    List,
    /// Show one API (by id, name or audience).
    Show {
        /// Id, name or audience.
        api: String,
    },
    /// Delete an API and its grants.
    Delete {
        /// Id, name or audience.
        api: String,
    },
}

/// `client` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientCmd {
    /// Register a client; prints client_id and (for secret methods) client_secret once.
    Create(Box<ClientCreateArgs>),
    /// List clients.
    List,
    /// Show a client with its secrets and API keys (metadata only) and grants.
    Show {
        /// Client id.
        id: String,
    },
    /// Delete a client, its secrets, API keys and grants.
    Delete {
        /// Client id.
        id: String,
    },
    /// Issue a new secret; existing secrets stay valid for --grace.
    RotateSecret {
        /// Client id.
        id: String,
        /// How long the old secrets stay valid, e.g. 24h [default: 0s].
        #[arg(long, value_name = "DURATION")]
        grace: Option<String>,
    },
    /// Set the DNS names the CA may put in the client's certificates (replaces the list).
    SetDns {
        /// Client id.
        id: String,
        /// DNS name (repeatable; none clears the list).
        #[arg(long = "dns", value_name = "NAME")]
        dns_names: Vec<String>,
    },
    /// Invalidate every token issued to the client so far (its certificates can no longer
    /// renew either).
    RevokeTokens {
        /// Client id.
        id: String,
    },
    /// Manage the client's API keys (several may be valid at once, for rotation).
    ApiKey {
        /// What to do.
        #[command(subcommand)]
        cmd: ApiKeyCmd,
    },
}

/// `client create` arguments.
#[derive(Debug, Args)]
pub struct ClientCreateArgs {
    /// Human name.
    #[arg(long)]
    pub name: String,
    /// client_secret_basic (default), client_secret_post, private_key_jwt,
    /// tls_client_auth or self_signed_tls_client_auth.
    #[arg(long)]
    pub auth_method: Option<String>,
    /// tls_client_auth: the certificate's subject DN, as Gatehouse prints it
    /// (e.g. "O=Example, CN=billing").
    #[arg(long, value_name = "DN")]
    pub tls_subject: Option<String>,
    /// tls_client_auth: a URI SAN the certificate must carry (e.g. a SPIFFE ID).
    #[arg(long, value_name = "URI")]
    pub tls_san_uri: Option<String>,
    /// tls_client_auth: a DNS SAN the certificate must carry.
    #[arg(long, value_name = "NAME")]
    pub tls_san_dns: Option<String>,
    /// self_signed_tls_client_auth: the client's certificate (PEM; repeatable).
    #[arg(long = "cert-file", value_name = "FILE")]
    pub cert_files: Vec<PathBuf>,
    /// Bind every token to the client certificate presented (RFC 8705
    /// tls_client_certificate_bound_access_tokens).
    #[arg(long)]
    pub bound_tokens: bool,
    /// DNS name the CA may put in this client's certificates (repeatable).
    #[arg(long = "dns", value_name = "NAME")]
    pub dns_names: Vec<String>,
    /// Public JWK Set file (private_key_jwt).
    #[arg(long, value_name = "FILE", conflicts_with = "jwks_uri")]
    pub jwks_file: Option<PathBuf>,
    /// JWKS URL (private_key_jwt).
    #[arg(long, value_name = "URL")]
    pub jwks_uri: Option<String>,
    /// Metadata NAME=VALUE (repeatable), e.g. tenant=acme.
    #[arg(long = "metadata", value_name = "NAME=VALUE")]
    pub metadata: Vec<String>,
    /// Static custom claim NAME=VALUE (repeatable).
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    pub claims: Vec<String>,
}

/// Where a policy is attached: `--global`, `--api API`, or `--api API --operation OP`.
#[derive(Debug, clap::Args)]
pub struct PolicyTarget {
    /// The global policy (every API; admins only).
    #[arg(long, conflicts_with_all = ["api", "operation"])]
    pub global: bool,
    /// The API (id, name or audience).
    #[arg(long, required_unless_present = "global")]
    pub api: Option<String>,
    /// One operation of the API.
    #[arg(long, requires = "api")]
    pub operation: Option<String>,
}

/// `policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Run the Rego unit tests (`test_*` rules) of every .rego file under DIR, like `opa
    /// test`; data.json files are loaded as data. Needs no server.
    Test {
        /// Directory of .rego (and data.json) files.
        dir: PathBuf,
        /// Only tests whose `package.rule` name contains this.
        #[arg(long = "run", value_name = "SUBSTRING")]
        filter: Option<String>,
    },
    /// Upload a new version of a policy (compiled first: a bad policy changes nothing).
    Put {
        /// Where.
        #[command(flatten)]
        target: PolicyTarget,
        /// The Rego module.
        file: PathBuf,
        /// A JSON file with the policy's data document.
        #[arg(long, value_name = "FILE")]
        data: Option<PathBuf>,
        /// What the gateway does when the policy fails: deny (default) or allow.
        #[arg(long, value_name = "deny|allow")]
        on_error: Option<String>,
        /// none (default) or per_caller: cache decisions per credential (the policy then sees
        /// no input.request and no input.time).
        #[arg(long, value_name = "none|per_caller")]
        caching: Option<String>,
        /// A request header the policy sees in input.request.headers (repeatable).
        #[arg(long = "header", value_name = "NAME")]
        headers: Vec<String>,
        /// Share of allowed decisions logged, in permille (default 10).
        #[arg(long, value_name = "N")]
        log_permille: Option<u16>,
        /// Refuse unless the current version is this one (0: none yet).
        #[arg(long, value_name = "VERSION")]
        if_version: Option<u32>,
    },
    /// Show the current version of a policy.
    Show {
        /// Where.
        #[command(flatten)]
        target: PolicyTarget,
    },
    /// List every version of a policy.
    Versions {
        /// Where.
        #[command(flatten)]
        target: PolicyTarget,
    },
    /// Detach (delete) a policy.
    Delete {
        /// Where.
        #[command(flatten)]
        target: PolicyTarget,
    },
    /// List the policies you may see.
    List,
    /// Show logged decisions about an API, newest first.
    Decisions {
        /// The API (id, name or audience).
        #[arg(long)]
        api: String,
        /// Only decisions made at or after this Unix time [default: a day ago].
        #[arg(long, value_name = "UNIX_SECONDS")]
        since: Option<i64>,
        /// How many (at most 1000).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// `cert` subcommands.
#[derive(Debug, Subcommand)]
pub enum CertCmd {
    /// Issue a certificate for a client: the key is generated here and never sent; writes
    /// cert.pem, key.pem (0600), chain.pem and bundle.pem into --out.
    Issue {
        /// Client id.
        #[arg(long)]
        client: String,
        /// DNS name to include (repeatable; must be registered with `client set-dns`).
        #[arg(long = "dns", value_name = "NAME")]
        dns_names: Vec<String>,
        /// Lifetime, e.g. 24h [default: the CA's default].
        #[arg(long, value_name = "DURATION")]
        ttl: Option<String>,
        /// Directory to write the files to (created 0700 if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// List issued certificates.
    List {
        /// Only this client's.
        #[arg(long)]
        client: Option<String>,
    },
    /// Deny-list a certificate by serial: refused by every Gatehouse listener, cannot renew.
    Revoke {
        /// Serial number (hex, as listed).
        serial: String,
    },
}

/// `client api-key` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCmd {
    /// Issue an API key; prints it once.
    Create {
        /// Client id.
        client_id: String,
        /// Lifetime, e.g. 90d (at most 730d) [default: no expiry].
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// List the client's API keys (metadata only, never the keys).
    List {
        /// Client id.
        client_id: String,
    },
    /// Revoke an API key at once.
    Revoke {
        /// Client id.
        client_id: String,
        /// Key id (from `create` or `list`).
        key_id: String,
    },
}

/// `grant`: set a grant, or `grant list` / `grant revoke`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct GrantArgs {
    /// list or revoke.
    #[command(subcommand)]
    pub cmd: Option<GrantCmd>,
    /// Client id.
    #[arg(long)]
    pub client: Option<String>,
    /// API id, name or audience.
    #[arg(long)]
    pub api: Option<String>,
    /// Scope to grant (repeatable; replaces the previous set).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
}

/// `grant list|revoke`.
#[derive(Debug, Subcommand)]
pub enum GrantCmd {
    /// List grants.
    List {
        /// Only this client's.
        #[arg(long)]
        client: Option<String>,
        /// Only this API's.
        #[arg(long)]
        api: Option<String>,
    },
    /// Remove a client's grant on an API.
    Revoke {
        /// Client id.
        #[arg(long)]
        client: String,
        /// API id, name or audience.
        #[arg(long)]
        api: String,
    },
}

/// `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// List signing keys and their states.
    List,
    /// Rotate now: the published next key starts signing.
    Rotate {
        /// Only this algorithm [default: every algorithm in use].
        #[arg(long)]
        alg: Option<String>,
    },
    /// Emergency: unpublish a key at once; its tokens stop verifying.
    Revoke {
        /// Key id.
        kid: String,
    },
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user; without --password-file a password is generated and shown once.
    Create {
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// Display name [default: the email].
        #[arg(long)]
        name: Option<String>,
        /// Make the user an admin (the first admin is created this way).
        #[arg(long)]
        admin: bool,
        /// File holding the initial password (12+ characters).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// List users.
    List,
    /// Disable a user (their sessions end) or enable them again.
    Disable {
        /// User id or email.
        user: String,
        /// Enable instead.
        #[arg(long)]
        enable: bool,
    },
    /// Set a user's password from a file (their sessions end).
    SetPassword {
        /// User id or email.
        user: String,
        /// File holding the new password.
        #[arg(long, value_name = "FILE")]
        password_file: PathBuf,
    },
}

/// `plan` subcommands.
#[derive(Debug, Subcommand)]
pub enum PlanCmd {
    /// Create or replace a plan (idempotent).
    Put {
        /// API id or name.
        #[arg(long)]
        api: String,
        /// Plan name.
        #[arg(long)]
        name: String,
        /// Scope subscribers receive (repeatable).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Requests per second per application.
        #[arg(long)]
        rate: Option<u32>,
        /// Burst [default: twice the rate].
        #[arg(long)]
        burst: Option<u32>,
        /// Requests per application per UTC day.
        #[arg(long)]
        daily_quota: Option<u64>,
        /// Subscriptions wait for an owner's approval.
        #[arg(long)]
        requires_approval: bool,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List an API's plans.
    List {
        /// API id or name.
        #[arg(long)]
        api: String,
    },
    /// Delete a plan without subscribers.
    Delete {
        /// API id or name.
        #[arg(long)]
        api: String,
        /// Plan name.
        #[arg(long)]
        name: String,
    },
}

/// `admin-token` subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminTokenCmd {
    /// Replace the admin token; writes the new one to the admin token file.
    Rotate,
}

/// `usage`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("subject").required(true).args(["api", "client"])))]
pub struct UsageArgs {
    /// API id, name or audience.
    #[arg(long)]
    pub api: Option<String>,
    /// Application (client) id.
    #[arg(long)]
    pub client: Option<String>,
    /// Group by application, operation or api [default: application for --api, api for --client].
    #[arg(long)]
    pub by: Option<String>,
    /// Range start, seconds since the epoch [default: 24h before --to].
    #[arg(long)]
    pub from: Option<i64>,
    /// Range end (exclusive), seconds since the epoch [default: now].
    #[arg(long)]
    pub to: Option<i64>,
}

/// `token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Client id.
    #[arg(long)]
    pub client_id: String,
    /// File holding the client secret (else env GATEHOUSE_CLIENT_SECRET).
    #[arg(long, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,
    /// Resource (audience) URI (repeatable).
    #[arg(long = "resource", value_name = "URI")]
    pub resources: Vec<String>,
    /// Scope (repeatable).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
}

/// `backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Output archive (.tar.gz); must not exist.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Leave the master key out of the archive (keep it elsewhere!).
    #[arg(long)]
    pub exclude_master_key: bool,
    /// Server settings (to find the data dir and database).
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Archive written by `gatehouse backup`.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Replace an existing database.
    #[arg(long)]
    pub force: bool,
    /// Server settings (to find the data dir).
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl From<&ServeArgs> for crate::config::Flags {
    fn from(a: &ServeArgs) -> Self {
        Self {
            config: a.config.clone(),
            data_dir: a.data_dir.clone(),
            listen: a.listen.clone(),
            issuer: a.issuer.clone(),
            insecure_http: a.insecure_http,
            database_url: a.database_url.clone(),
        }
    }
}
