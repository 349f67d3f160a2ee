//! tls-load: an HTTPS load generator for `bench/tls_handshake.sh`.
//!
//! Two modes, closed loop (each worker sends its next request when the previous one is done):
//!
//! - `handshake`: every request opens a new TCP connection and does a full TLS handshake
//!   (session resumption is disabled, so there are no tickets and no session IDs to reuse),
//!   sends one `GET` with `Connection: close`, reads the whole response, and closes.
//! - `keep-alive`: each worker opens one connection and sends its requests on it in sequence
//!   (a failed connection is re-opened and counted as an error).
//!
//! With `--cert`/`--key` the client presents a certificate when the server asks for one (mTLS).
//! HTTP/1.1 only (ALPN `http/1.1`), rustls with the aws-lc-rs provider. Requests in flight at the
//! deadline are waited for, and the rate is computed over the real elapsed time. It never targets
//! anything but a loopback address, and never runs longer than 60 s. Output: one JSON object.
#![forbid(unsafe_code)]

mod args;
mod stats;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONNECTION, HOST, HeaderName, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::client::Resumption;
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

use args::{Args, Mode};
use stats::Stats;

/// Everything a worker needs, shared.
struct Target {
    addr: std::net::SocketAddr,
    server_name: ServerName<'static>,
    host: HeaderValue,
    path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    expect: StatusCode,
    connector: TlsConnector,
    timeout: Duration,
    /// What the first successful handshake negotiated (version, suite, group, ALPN).
    negotiated: OnceLock<serde_json::Value>,
}

/// An open HTTP/1.1 connection: the request half and the task driving the I/O.
struct Conn {
    send: SendRequest<Empty<Bytes>>,
    driver: JoinHandle<()>,
}

/// Why a request did not count.
enum Failure {
    Connect(std::io::Error),
    Http(hyper::Error),
    Status(StatusCode),
    Timeout,
    Tls(std::io::Error),
}

fn main() -> ExitCode {
    if std::env::args().skip(1).any(|a| a == "-h" || a == "--help") {
        println!("{}", args::USAGE);
        return ExitCode::SUCCESS;
    }
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(64);
        }
    };
    let target = match Target::new(&args) {
        Ok(t) => Arc::new(t),
        Err(msg) => {
            eprintln!("tls-load: {msg}");
            return ExitCode::from(64);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tls-load: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cpu_before = stats::cpu_seconds();
    let (stats, elapsed) = runtime.block_on(run(&args, &target));
    let cpu = cpu_before
        .zip(stats::cpu_seconds())
        .map(|(a, b)| stats::round(b - a, 2));
    let mut out = stats.summary(elapsed);
    if let Some(obj) = out.as_object_mut() {
        let settings = json!({
            "mode": match args.mode { Mode::Handshake => "handshake", Mode::KeepAlive => "keep-alive" },
            "addr": args.addr.to_string(),
            "path": args.path,
            "client_cert": args.client.is_some(),
            "concurrency": args.concurrency,
            "duration_s": args.duration.as_secs_f64(),
            "threads": args.threads,
            "kx": args.kx,
            "suite": args.suite,
        });
        obj.insert("settings".into(), settings);
        obj.insert("negotiated".into(), target.negotiated.get().cloned().into());
        obj.insert("client_cpu_s".into(), cpu.into());
    }
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "{out:#}").is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Starts the workers, waits for all of them (each stops at the deadline after its request in
/// flight), and merges what they saw.
async fn run(args: &Args, target: &Arc<Target>) -> (Stats, Duration) {
    let start = now();
    let deadline = start + args.duration;
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let t = Arc::clone(target);
            match args.mode {
                Mode::Handshake => tokio::spawn(handshake_worker(t, deadline)),
                Mode::KeepAlive => tokio::spawn(keep_alive_worker(t, deadline)),
            }
        })
        .collect();
    let mut total = Stats::default();
    for w in workers {
        match w.await {
            Ok(s) => total = total.merge(s),
            Err(e) => total.fail("worker", || e.to_string()),
        }
    }
    (total, start.elapsed())
}

async fn handshake_worker(t: Arc<Target>, deadline: Instant) -> Stats {
    let mut stats = Stats::default();
    while now() < deadline {
        let begin = now();
        let result = tokio::time::timeout(t.timeout, async {
            let (mut conn, handshake) = t.connect().await?;
            stats.handshake_us.push(micros(handshake));
            t.get(&mut conn.send, true).await?;
            // The server closes after `Connection: close`; the driver then ends.
            drop(conn.send);
            let _ = conn.driver.await;
            Ok::<_, Failure>(())
        })
        .await
        .unwrap_or(Err(Failure::Timeout));
        match result {
            Ok(()) => {
                stats.ok += 1;
                stats.latency_us.push(micros(begin.elapsed()));
            }
            Err(f) => f.record(&mut stats),
        }
    }
    stats
}

async fn keep_alive_worker(t: Arc<Target>, deadline: Instant) -> Stats {
    let mut stats = Stats::default();
    let mut open: Option<Conn> = None;
    while now() < deadline {
        let mut conn = match open.take() {
            Some(c) => c,
            None => match tokio::time::timeout(t.timeout, t.connect()).await {
                Ok(Ok((c, handshake))) => {
                    stats.handshake_us.push(micros(handshake));
                    c
                }
                Ok(Err(f)) => {
                    f.record(&mut stats);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                Err(_) => {
                    Failure::Timeout.record(&mut stats);
                    continue;
                }
            },
        };
        let begin = now();
        match tokio::time::timeout(t.timeout, t.get(&mut conn.send, false)).await {
            Ok(Ok(())) => {
                stats.ok += 1;
                stats.latency_us.push(micros(begin.elapsed()));
                open = Some(conn);
            }
            Ok(Err(f)) => {
                f.record(&mut stats);
                conn.driver.abort();
            }
            Err(_) => {
                Failure::Timeout.record(&mut stats);
                conn.driver.abort();
            }
        }
    }
    if let Some(conn) = open {
        conn.driver.abort();
    }
    stats
}

/// Wall-clock time: what a load generator measures (the workspace's `Instant::now` ban is about
/// server code, which takes an injected clock).
#[expect(
    clippy::disallowed_methods,
    reason = "a load generator measures real elapsed time"
)]
fn now() -> Instant {
    Instant::now()
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

// === impl Target ===

impl Target {
    fn new(args: &Args) -> Result<Self, String> {
        let mut provider = aws_lc_rs::default_provider();
        if let Some(group) = match args.kx.as_str() {
            "x25519" => Some(aws_lc_rs::kx_group::X25519),
            "p256" => Some(aws_lc_rs::kx_group::SECP256R1),
            "x25519mlkem768" => Some(aws_lc_rs::kx_group::X25519MLKEM768),
            _ => None,
        } {
            provider.kx_groups = vec![group];
        }
        if let Some(suite) = match args.suite.as_str() {
            "aes128gcm" => Some(aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256),
            "aes256gcm" => Some(aws_lc_rs::cipher_suite::TLS13_AES_256_GCM_SHA384),
            "chacha20" => Some(aws_lc_rs::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256),
            _ => None,
        } {
            provider.cipher_suites = vec![suite];
        }
        let config = client_config(args, provider)?;
        let server_name = ServerName::try_from(args.server_name.clone())
            .map_err(|e| format!("--server-name {}: {e}", args.server_name))?;
        let host = HeaderValue::try_from(format!("{}:{}", args.server_name, args.addr.port()))
            .map_err(|e| format!("Host header: {e}"))?;
        let headers = args
            .headers
            .iter()
            .map(|(n, v)| {
                Ok((
                    HeaderName::try_from(n.as_str()).map_err(|e| format!("--header {n}: {e}"))?,
                    HeaderValue::try_from(v.as_str()).map_err(|e| format!("--header {n}: {e}"))?,
                ))
            })
            .collect::<Result<_, String>>()?;
        Ok(Target {
            addr: args.addr,
            server_name,
            host,
            path: args.path.clone(),
            headers,
            expect: StatusCode::from_u16(args.expect_status).map_err(|e| e.to_string())?,
            connector: TlsConnector::from(Arc::new(config)),
            timeout: args.timeout,
            negotiated: OnceLock::new(),
        })
    }

    /// TCP connect, full TLS handshake, HTTP/1.1 handshake; returns the connection and the time
    /// until the TLS session was established.
    async fn connect(&self) -> Result<(Conn, Duration), Failure> {
        let begin = now();
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(Failure::Connect)?;
        tcp.set_nodelay(true).map_err(Failure::Connect)?;
        let tls = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(Failure::Tls)?;
        let handshake = begin.elapsed();
        if self.negotiated.get().is_none() {
            let (_, session) = tls.get_ref();
            let _ = self.negotiated.set(json!({
                "protocol": session.protocol_version().map(|v| format!("{v:?}")),
                "cipher_suite": session.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())),
                "kx_group": session.negotiated_key_exchange_group().map(|g| format!("{:?}", g.name())),
                "alpn": session.alpn_protocol().map(|a| String::from_utf8_lossy(a).into_owned()),
            }));
        }
        let (send, conn) = http1::handshake(TokioIo::new(tls))
            .await
            .map_err(Failure::Http)?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok((Conn { send, driver }, handshake))
    }

    /// One `GET`, its whole body read; `close` asks the server to close afterwards.
    async fn get(&self, send: &mut SendRequest<Empty<Bytes>>, close: bool) -> Result<(), Failure> {
        let mut req = Request::get(self.path.as_str());
        if let Some(h) = req.headers_mut() {
            h.insert(HOST, self.host.clone());
            if close {
                h.insert(CONNECTION, HeaderValue::from_static("close"));
            }
            for (n, v) in &self.headers {
                h.insert(n.clone(), v.clone());
            }
        }
        let req = req
            .body(Empty::new())
            .map_err(|_| Failure::Status(StatusCode::BAD_REQUEST))?;
        send.ready().await.map_err(Failure::Http)?;
        let resp = send.send_request(req).await.map_err(Failure::Http)?;
        let status = resp.status();
        resp.into_body().collect().await.map_err(Failure::Http)?;
        if status == self.expect {
            Ok(())
        } else {
            Err(Failure::Status(status))
        }
    }
}

fn client_config(args: &Args, provider: CryptoProvider) -> Result<ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&args.ca).map_err(|e| format!("--ca: {e}"))? {
        roots
            .add(cert.map_err(|e| format!("--ca: {e}"))?)
            .map_err(|e| format!("--ca: {e}"))?;
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match &args.client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .map_err(|e| format!("--cert: {e}"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("--cert: {e}"))?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("--key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("--cert/--key: {e}"))?
        }
    };
    // Every handshake in `handshake` mode must be a full one.
    config.resumption = Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

// === impl Failure ===

impl Failure {
    fn record(self, stats: &mut Stats) {
        match self {
            Failure::Connect(e) => stats.fail("connect", || e.to_string()),
            Failure::Http(e) => stats.fail("http", || e.to_string()),
            Failure::Status(s) => stats.fail("status", || s.to_string()),
            Failure::Timeout => stats.fail("timeout", || "no answer in time".into()),
            Failure::Tls(e) => stats.fail("tls", || e.to_string()),
        }
    }
}
