//! The workload's X.509 certificate from Gatehouse's CA: a fresh key and CSR made here (the
//! key never leaves the agent), signed through `POST /ca/v1/sign` with a token for
//! `urn:gatehouse:ca` (scope `ca:sign`) from the agent's own cache, renewed at two thirds of
//! its lifetime, written atomically as `cert.pem` (the chain), `key.pem` (0600) and
//! `bundle.pem` into a directory, followed by an optional reload command; also served to the
//! application at `GET /v1/certificate`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use gatehouse_client::{TokenCache, TokenKey};
use gatehouse_core::{Clock, UnixTime};
use gatehouse_proto::ca::{SignRequest, SignedCertificate};

/// Audience of the CA's tokens.
pub const CA_AUDIENCE: &str = "urn:gatehouse:ca";
/// Scope the CA requires.
pub const CA_SCOPE: &str = "ca:sign";
/// How often renewal is considered.
const CHECK_EVERY: Duration = Duration::from_secs(30);

/// Where and how to keep the workload certificate.
#[derive(Debug, Clone)]
pub struct CertSettings {
    /// Directory for `cert.pem`, `key.pem`, `bundle.pem` (created 0700).
    pub dir: PathBuf,
    /// The control plane's base URL (`POST {ca_url}/ca/v1/sign`).
    pub ca_url: String,
    /// DNS names to ask for (an admin must have registered them for the application).
    pub dns_names: Vec<String>,
    /// Run after each renewal (program and arguments), e.g. `["systemctl", "reload", "app"]`.
    pub reload_command: Vec<String>,
    /// The certificate is the agent's own credential: token requests and renewals by mTLS.
    pub authenticate: bool,
}

/// The current certificate.
#[derive(Debug, Clone)]
pub struct WorkloadCert {
    /// What the CA answered (chain, bundle, validity, SPIFFE ID).
    pub signed: SignedCertificate,
    /// The private key, PEM.
    pub key_pem: zeroize::Zeroizing<String>,
}

/// Why a certificate could not be obtained.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// No token for the CA (is `ca:sign` on `gatehouse-ca` granted?).
    #[error("no token for the CA: {0}")]
    Token(String),
    /// The CA refused or failed.
    #[error("the CA answered {status}: {detail}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its problem detail.
        detail: String,
    },
    /// The CA could not be reached.
    #[error("the CA is unreachable: {0}")]
    Unreachable(String),
    /// Generating the key or CSR failed.
    #[error("generating the key: {0}")]
    Key(String),
    /// Writing the files failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Obtains and renews the workload certificate.
#[derive(Debug)]
pub struct CertManager {
    settings: CertSettings,
    /// Tokens for the CA; `None` when the certificate renews itself over mTLS.
    tokens: Option<Arc<TokenCache>>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    current: ArcSwapOption<WorkloadCert>,
}

impl CertManager {
    /// A manager that asks for tokens through `tokens`.
    pub fn new(
        settings: CertSettings,
        tokens: Option<Arc<TokenCache>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, CertError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| CertError::Unreachable(e.to_string()))?;
        Ok(Arc::new(Self {
            settings,
            tokens,
            clock,
            http,
            current: ArcSwapOption::empty(),
        }))
    }

    /// The current certificate, if one was obtained.
    pub fn current(&self) -> Option<Arc<WorkloadCert>> {
        self.current.load_full()
    }

    /// Whether there is no certificate, or it is past two thirds of its lifetime.
    pub fn due(&self) -> bool {
        self.current().is_none_or(|c| {
            gatehouse_ca::renewal_due(
                UnixTime(c.signed.not_before),
                UnixTime(c.signed.not_after),
                self.clock.now(),
            )
        })
    }

    /// Loads the certificate already in the directory (`gatehouse cert issue --out DIR`).
    pub fn load_existing(&self) -> Result<Arc<WorkloadCert>, CertError> {
        let dir = &self.settings.dir;
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| CertError::Write { path, source })
        };
        let chain = read("cert.pem")?;
        let key_pem = zeroize::Zeroizing::new(read("key.pem")?);
        let bundle = read("bundle.pem")?;
        let certs = gatehouse_ca::parse_pem_certificates(&chain)
            .map_err(|e| CertError::Key(format!("cert.pem: {e}")))?;
        let leaf = certs
            .first()
            .ok_or_else(|| CertError::Key("cert.pem holds no certificate".into()))?;
        let id = gatehouse_ca::identity_of(leaf).ok_or_else(|| {
            CertError::Key("cert.pem: not a certificate Gatehouse can read".into())
        })?;
        let signed = SignedCertificate {
            serial: id.serial.clone(),
            spiffe_id: id
                .san_uris
                .iter()
                .find(|u| u.starts_with("spiffe://"))
                .cloned()
                .unwrap_or_default(),
            dns_names: id.san_dns.clone(),
            not_before: id.not_before,
            not_after: id.not_after,
            certificate: gatehouse_ca::pem_certificates(std::slice::from_ref(leaf)),
            chain,
            bundle,
        };
        let cert = Arc::new(WorkloadCert { signed, key_pem });
        self.current.store(Some(Arc::clone(&cert)));
        Ok(cert)
    }

    /// Obtains a new certificate now, writes it and runs the reload command.
    pub async fn renew(&self) -> Result<Arc<WorkloadCert>, CertError> {
        let (csr, key_pem) = gatehouse_ca::csr::generate_request(&self.settings.dns_names)
            .map_err(|e| CertError::Key(e.to_string()))?;
        let url = format!("{}/ca/v1/sign", self.settings.ca_url.trim_end_matches('/'));
        let body = SignRequest { csr, ttl: None };
        let req = match &self.tokens {
            Some(tokens) => {
                let key = TokenKey::new(CA_AUDIENCE, [CA_SCOPE.to_owned()]);
                let token = tokens
                    .get(&key)
                    .await
                    .map_err(|e| CertError::Token(e.to_string()))?;
                self.http.post(url).bearer_auth(&*token.access_token)
            }
            // Renewal by mTLS with the current certificate (no secret, no token).
            None => {
                let (_, pem, bundle) = gatehouse_client::ClientIdentity::current_identity(self)
                    .ok_or_else(|| {
                        CertError::Token("no current certificate to renew with".into())
                    })?;
                let client = gatehouse_client::mtls_client(&pem, &bundle, Duration::from_secs(15))
                    .map_err(CertError::Unreachable)?;
                client.post(url)
            }
        };
        let resp = req
            .json(&body)
            .send()
            .await
            .map_err(|e| CertError::Unreachable(e.to_string()))?;
        let status = resp.status();
        if !status.is_success() {
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            return Err(CertError::Refused {
                status: status.as_u16(),
                detail: body
                    .get("detail")
                    .and_then(|d| d.as_str())
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect(),
            });
        }
        let signed: SignedCertificate = resp
            .json()
            .await
            .map_err(|e| CertError::Unreachable(e.to_string()))?;
        let cert = Arc::new(WorkloadCert { signed, key_pem });
        write_files(&self.settings.dir, &cert)?;
        self.current.store(Some(Arc::clone(&cert)));
        tracing::info!(
            serial = %cert.signed.serial,
            spiffe_id = %cert.signed.spiffe_id,
            not_after = cert.signed.not_after,
            dir = %self.settings.dir.display(),
            "workload certificate written"
        );
        self.reload().await;
        Ok(cert)
    }

    async fn reload(&self) {
        let Some((program, args)) = self.settings.reload_command.split_first() else {
            return;
        };
        let run = tokio::process::Command::new(program)
            .args(args)
            .kill_on_drop(true)
            .status();
        match tokio::time::timeout(Duration::from_secs(60), run).await {
            Ok(Ok(s)) if s.success() => tracing::info!(program, "reload command succeeded"),
            Ok(Ok(s)) => tracing::warn!(program, status = %s, "reload command failed"),
            Ok(Err(e)) => tracing::warn!(program, error = %e, "reload command could not run"),
            Err(_) => tracing::warn!(program, "reload command timed out after 60 s"),
        }
    }

    /// Renews whenever due (retrying every 30 s after a failure) until `stop` resolves.
    pub fn spawn(self: &Arc<Self>, stop: impl std::future::Future<Output = ()> + Send + 'static) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            tokio::pin!(stop);
            loop {
                if me.due()
                    && let Err(e) = me.renew().await
                {
                    tracing::warn!(error = %e, "workload certificate renewal failed; retrying in 30 s");
                }
                tokio::select! {
                    () = tokio::time::sleep(CHECK_EVERY) => {}
                    () = &mut stop => return,
                }
            }
        });
    }
}

impl gatehouse_client::ClientIdentity for CertManager {
    fn current_identity(&self) -> Option<(String, String, String)> {
        let c = self.current()?;
        Some((
            c.signed.serial.clone(),
            format!("{}\n{}", c.key_pem.as_str(), c.signed.chain),
            c.signed.bundle.clone(),
        ))
    }
}

/// Writes the three files, each through a temporary file and a rename (readers never see a
/// half-written file; the key is 0600 from its first byte).
fn write_files(dir: &Path, cert: &WorkloadCert) -> Result<(), CertError> {
    let err = |path: &Path| {
        let path = path.to_owned();
        move |source| CertError::Write { path, source }
    };
    create_private_dir(dir).map_err(err(dir))?;
    for (name, data) in [
        ("key.pem", cert.key_pem.as_str()),
        ("cert.pem", cert.signed.chain.as_str()),
        ("bundle.pem", cert.signed.bundle.as_str()),
    ] {
        let path = dir.join(name);
        write_private(&path, data.as_bytes()).map_err(err(&path))?;
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("pem.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}
