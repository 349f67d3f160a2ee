//! `gatehouse agent --config agent.toml`: the token agent next to a workload. Reads the
//! workload's client secret (file or `GATEHOUSE_AGENT_CLIENT_SECRET`), listens on loopback,
//! and writes the application's environment (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`,
//! `AZURE_POD_IDENTITY_AUTHORITY_HOST`, `GATEHOUSE_AGENT_URL`) to a 0600 file. The secrets
//! are never printed or logged.

use std::sync::Arc;

use gatehouse_agent::{AgentConfig, RawFile};
use gatehouse_client::ClientAuth;
use gatehouse_core::{Clock, Env, ProcessEnv, SystemClock};

use crate::cli::AgentArgs;
use crate::{EXIT_USAGE, fsutil};

/// Resolves `agent.toml` and the agent's credential: a client secret, a private key, or
/// (`None`) its certificate, with `[agent.certificate] authenticate = true`.
pub fn resolve(
    args: &AgentArgs,
    env: &dyn Env,
) -> Result<(AgentConfig, Option<ClientAuth>), String> {
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| format!("reading {}: {e}", args.config.display()))?;
    let raw = RawFile::parse(&text).map_err(|e| e.to_string())?;
    let cfg = AgentConfig::try_from(raw.agent).map_err(|e| e.to_string())?;
    if cfg.certificate.as_ref().is_some_and(|c| c.authenticate) {
        return Ok((cfg, None));
    }
    if let Some((file, kid, alg)) = &cfg.private_key {
        let pem = zeroize::Zeroizing::new(
            std::fs::read_to_string(file)
                .map_err(|e| format!("reading {}: {e}", file.display()))?,
        );
        let key = gatehouse_agent::load_private_key(&pem, kid.clone(), *alg)
            .map_err(|e| format!("agent.private_key_file {}: {e}", file.display()))?;
        return Ok((cfg, Some(ClientAuth::PrivateKey(Box::new(key)))));
    }
    let secret = match (
        &cfg.client_secret_file,
        env.get("GATEHOUSE_AGENT_CLIENT_SECRET"),
    ) {
        (_, Some(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        (Some(f), _) => crate::admin_client::read_secret_file(f).map_err(|e| e.to_string())?,
        (None, _) => {
            return Err(
                "agent.client_secret_file or GATEHOUSE_AGENT_CLIENT_SECRET is required".into(),
            );
        }
    };
    Ok((cfg, Some(ClientAuth::Secret(secret))))
}

/// Runs the agent until SIGTERM or Ctrl-C.
pub async fn main(args: &AgentArgs) -> std::process::ExitCode {
    let (cfg, auth) = match resolve(args, &ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(EXIT_USAGE);
        }
    };
    crate::init_logging_with("info", crate::config::LogFormat::Text);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let started = match auth {
        Some(auth) => gatehouse_agent::start_with_auth(&cfg, auth, clock).await,
        None => gatehouse_agent::start_with_certificate(&cfg, clock).await,
    };
    let agent = match started {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Some(path) = &cfg.env_file
        && let Err(e) = fsutil::write_private_file(path, agent.env_file_contents().as_bytes())
    {
        eprintln!("error: writing {}: {e}", path.display());
        return std::process::ExitCode::FAILURE;
    }
    println!("gatehouse agent listening on http://{}", agent.addr);
    println!("  identity:   {}", cfg.client_id);
    println!("  tokens from {}", cfg.token_endpoint);
    match &cfg.env_file {
        Some(p) => println!("  environment for the application: {} (0600)", p.display()),
        None => println!("  no env_file configured: the application cannot learn IDENTITY_HEADER"),
    }
    crate::server::shutdown_signal().await;
    tracing::info!("agent shutting down");
    match agent.shutdown().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
