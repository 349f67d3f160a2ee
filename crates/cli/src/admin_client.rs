//! The CLI's HTTP client for the admin API and the token endpoint.

use std::path::Path;

use gatehouse_core::{Env, ProcessEnv};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::CliError;

/// Talks to `/admin/v1/...` with the admin token.
#[derive(Debug)]
pub struct AdminClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl AdminClient {
    /// From the global flags: `--server` (or `GATEHOUSE_SERVER`), `--admin-token-file`
    /// (or `GATEHOUSE_ADMIN_TOKEN`, or the default file).
    pub fn from_flags(server: Option<&str>, token_file: Option<&Path>) -> Result<Self, CliError> {
        let env = ProcessEnv;
        let base = server
            .map(str::to_owned)
            .or_else(|| env.get("GATEHOUSE_SERVER"))
            .unwrap_or_else(|| "http://127.0.0.1:7070".to_owned());
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::Usage(format!(
                "--server {base:?}: expected an http(s) URL"
            )));
        }
        let token = match (token_file, env.get("GATEHOUSE_ADMIN_TOKEN")) {
            (Some(f), _) => Some(read_secret_file(f)?),
            (None, Some(t)) => Some(t),
            (None, None) => read_secret_file(Path::new("./gatehouse-data/admin-token")).ok(),
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| CliError::Failed(format!("HTTP client: {e}")))?;
        Ok(Self { base, token, http })
    }

    /// The server base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends a request with an optional JSON body and decodes a JSON answer (or `null` on 204).
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, CliError> {
        let token = self.token.as_deref().ok_or_else(|| {
            CliError::Failed(
                "no admin token: pass --admin-token-file, set GATEHOUSE_ADMIN_TOKEN, or run from the directory holding gatehouse-data/"
                    .into(),
            )
        })?;
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| CliError::Failed(format!("cannot reach {}: {e}", self.base)))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| CliError::Failed(format!("reading response: {e}")))?;
        if !status.is_success() {
            return Err(CliError::Failed(problem_message(status, &bytes)));
        }
        let bytes = if status == StatusCode::NO_CONTENT || bytes.is_empty() {
            &b"null"[..]
        } else {
            &bytes[..]
        };
        serde_json::from_slice(bytes)
            .map_err(|e| CliError::Failed(format!("unexpected response from server: {e}")))
    }
}

/// `detail (status)` from a problem+json or OAuth error body.
pub fn problem_message(status: StatusCode, body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let detail = v
        .get("detail")
        .or_else(|| v.get("error_description"))
        .or_else(|| v.get("error"))
        .and_then(|d| d.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    format!("{detail} (HTTP {})", status.as_u16())
}

/// Reads a file holding one secret (trimmed).
pub fn read_secret_file(path: &Path) -> Result<String, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", path.display())))?;
    let t = text.trim().to_owned();
    if t.is_empty() {
        return Err(CliError::Failed(format!("{} is empty", path.display())));
    }
    Ok(t)
}
