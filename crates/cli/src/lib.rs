//! The `gatehouse` binary: configuration (raw → validated), subcommands, and the wiring of every
//! crate into one server. Only this crate knows about all the others.
#![forbid(unsafe_code)]

pub mod admin_client;
pub mod agent;
pub mod backup;
pub mod cli;
pub mod commands;
pub mod config;
mod control_tls;
pub mod fsutil;
pub mod gateway_identity;
pub mod gateway_listener;
pub mod reload;
pub mod server;
pub mod standalone;
pub mod usage_flush;

use std::process::ExitCode;

use clap::Parser;

/// Exit code for usage errors (BSD `EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;

/// A command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// Bad arguments or configuration (exit 64).
    #[error("{0}")]
    Usage(String),
    /// The operation failed (exit 1).
    #[error("{0}")]
    Failed(String),
}

/// Parses arguments, runs the command, prints, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(dispatch(cli))
}

async fn dispatch(cli: cli::Cli) -> ExitCode {
    let json = cli.json;
    let result = match &cli.command {
        cli::Command::Serve(args) => return serve(args).await,
        cli::Command::Gateway(args) => return standalone::main(args).await,
        cli::Command::Agent(args) => return agent::main(args).await,
        cli::Command::Config {
            cmd: cli::ConfigCmd::Check(args),
        } => config_check(args),
        cli::Command::Policy {
            cmd: cli::PolicyCmd::Test { dir, filter },
        } => commands::policies::test(dir, filter.as_deref()),
        cli::Command::Backup(args) => backup::backup(args).await,
        cli::Command::Restore(args) => backup::restore(args).await,
        _ => commands::run_admin(&cli).await,
    };
    match result {
        Ok(out) => {
            if json {
                println!("{}", out.json);
            } else if !out.human.is_empty() {
                println!("{}", out.human);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                CliError::Usage(_) => ExitCode::from(EXIT_USAGE),
                CliError::Failed(_) => ExitCode::FAILURE,
            }
        }
    }
}

fn config_check(args: &cli::ServeArgs) -> Result<commands::Output, CliError> {
    let cfg = config::resolve(&args.into(), &gatehouse_core::ProcessEnv)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    gatehouse_net::check_plain_http_allowed(cfg.listen, cfg.insecure_http)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let json = serde_json::json!({
        "data_dir": cfg.data_dir,
        "listen": cfg.listen.to_string(),
        "issuer": cfg.issuer.clone().unwrap_or_else(|| format!("http://{}", cfg.listen)),
        "database_url": server::redact_url(&cfg.database_url),
        "default_token_ttl_secs": cfg.default_token_ttl.as_secs(),
        "max_token_ttl_secs": cfg.max_token_ttl.as_secs(),
        "rotation_period_secs": cfg.rotation_period.as_secs(),
    });
    Ok(commands::Output::new_pub(
        json.clone(),
        format!(
            "configuration OK\n{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        ),
    ))
}

/// With `RUST_BACKTRACE` set and `RUST_LIB_BACKTRACE` not, every error value the Rego engine
/// creates internally (some lookups make one and discard it) captures a backtrace, under a
/// process-wide lock: policy evaluation then runs several times slower
/// (bench/results/2026-12-02-policy-gateway.md). Panics keep their backtraces with
/// `RUST_LIB_BACKTRACE=0`.
pub(crate) fn warn_about_backtraces(env: &dyn gatehouse_core::Env) {
    let on = |v: Option<String>| v.is_some_and(|v| !v.is_empty() && v != "0");
    if on(env.get("RUST_BACKTRACE")) && env.get("RUST_LIB_BACKTRACE").is_none() {
        tracing::warn!(
            "RUST_BACKTRACE is set without RUST_LIB_BACKTRACE: Rego policy evaluation captures backtraces and runs several times slower; set RUST_LIB_BACKTRACE=0 (panics keep their backtraces)"
        );
    }
}

async fn serve(args: &cli::ServeArgs) -> ExitCode {
    let cfg = match config::resolve(&args.into(), &gatehouse_core::ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    init_logging(&cfg);
    warn_about_backtraces(&gatehouse_core::ProcessEnv);
    if let Err(e) = gatehouse_net::check_plain_http_allowed(cfg.listen, cfg.insecure_http) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    match server::run(cfg).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(cfg: &config::Config) {
    init_logging_with(&cfg.log_level, cfg.log_format);
}

/// Logs to stderr at `level` (an env-filter directive) in `format`.
pub(crate) fn init_logging_with(level: &str, format: config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        config::LogFormat::Json => builder.json().try_init(),
        config::LogFormat::Text => builder.try_init(),
    };
}
