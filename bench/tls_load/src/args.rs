//! Command-line flags → a validated [`Args`]. Every run is bounded: the duration is capped at
//! [`MAX_DURATION`] and the concurrency at [`MAX_CONCURRENCY`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Longest run accepted (`--duration`).
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(60);
/// Most connections at once (`--concurrency`).
pub(crate) const MAX_CONCURRENCY: usize = 1024;

pub(crate) const USAGE: &str = "\
usage: tls-load --addr 127.0.0.1:PORT --ca CA.pem [options]

  --addr ADDR            where to connect (a loopback address)
  --ca FILE              PEM roots that the server certificate must chain to
  --server-name NAME     SNI and certificate name to check (default: localhost)
  --path PATH            request target (default: /)
  --cert FILE --key FILE client certificate chain and key (PEM) for mTLS
  --mode MODE            handshake: a new TCP+TLS connection per request (no resumption),
                         keep-alive: one connection per worker, requests in sequence
                         (default: handshake)
  --concurrency N        workers, each one request at a time (default: 32)
  --duration SECS        run length, at most 60 (default: 5; `5s` also accepted)
  --header 'NAME: VALUE' extra request header (repeatable)
  --expect-status CODE   status counted as a success (default: 200)
  --kx GROUP             key exchange: default (rustls' order), x25519, p256, x25519mlkem768
  --suite SUITE          TLS 1.3 cipher suite offered: default (rustls' order), aes128gcm,
                         aes256gcm, chacha20
  --threads N            tokio worker threads (default: 2)
  --timeout SECS         per request, connection set-up included (default: 10)

Prints one JSON object on stdout.";

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A fresh TCP + TLS connection for every request, closed after the response.
    Handshake,
    /// Each worker keeps one connection and sends its requests on it one after another.
    KeepAlive,
}

/// Validated flags.
#[derive(Debug)]
pub(crate) struct Args {
    pub(crate) addr: SocketAddr,
    pub(crate) ca: PathBuf,
    pub(crate) server_name: String,
    pub(crate) path: String,
    pub(crate) client: Option<(PathBuf, PathBuf)>,
    pub(crate) mode: Mode,
    pub(crate) concurrency: usize,
    pub(crate) duration: Duration,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) expect_status: u16,
    pub(crate) kx: String,
    pub(crate) suite: String,
    pub(crate) threads: usize,
    pub(crate) timeout: Duration,
}

/// Parses the flags (without the program name). `Err` carries a message for the user.
pub(crate) fn parse(mut raw: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut addr, mut ca, mut cert, mut key) = (None, None, None, None);
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ca: PathBuf::new(),
        server_name: "localhost".into(),
        path: "/".into(),
        client: None,
        mode: Mode::Handshake,
        concurrency: 32,
        duration: Duration::from_secs(5),
        headers: Vec::new(),
        expect_status: 200,
        kx: "default".into(),
        suite: "default".into(),
        threads: 2,
        timeout: Duration::from_secs(10),
    };
    while let Some(flag) = raw.next() {
        let value = raw.next().ok_or_else(|| format!("{flag}: needs a value"))?;
        match flag.as_str() {
            "--addr" => addr = Some(value.parse().map_err(|e| format!("--addr {value}: {e}"))?),
            "--ca" => ca = Some(PathBuf::from(value)),
            "--server-name" => args.server_name = value,
            "--path" if value.starts_with('/') => args.path = value,
            "--path" => return Err(format!("--path {value}: must start with '/'")),
            "--cert" => cert = Some(PathBuf::from(value)),
            "--key" => key = Some(PathBuf::from(value)),
            "--mode" => {
                args.mode = match value.as_str() {
                    "handshake" => Mode::Handshake,
                    "keep-alive" | "keepalive" => Mode::KeepAlive,
                    _ => return Err(format!("--mode {value}: handshake or keep-alive")),
                }
            }
            "--concurrency" => args.concurrency = number(&flag, &value, 1, MAX_CONCURRENCY)?,
            "--duration" => args.duration = seconds(&flag, &value, MAX_DURATION)?,
            "--header" => {
                let (name, v) = value
                    .split_once(':')
                    .ok_or_else(|| format!("--header {value}: want 'Name: value'"))?;
                args.headers
                    .push((name.trim().to_owned(), v.trim().to_owned()));
            }
            "--expect-status" => {
                args.expect_status = u16::try_from(number(&flag, &value, 100, 599)?)
                    .map_err(|e| format!("--expect-status {value}: {e}"))?;
            }
            "--kx" => match value.as_str() {
                "default" | "x25519" | "p256" | "x25519mlkem768" => args.kx = value,
                _ => return Err(format!("--kx {value}: unknown group")),
            },
            "--suite" => match value.as_str() {
                "default" | "aes128gcm" | "aes256gcm" | "chacha20" => args.suite = value,
                _ => return Err(format!("--suite {value}: unknown suite")),
            },
            "--threads" => args.threads = number(&flag, &value, 1, 64)?,
            "--timeout" => args.timeout = seconds(&flag, &value, MAX_DURATION)?,
            _ => return Err(format!("unknown flag {flag}\n\n{USAGE}")),
        }
    }
    args.addr = addr.ok_or("--addr is required")?;
    if !args.addr.ip().is_loopback() {
        return Err(format!("--addr {}: only loopback targets", args.addr));
    }
    args.ca = ca.ok_or("--ca is required")?;
    args.client = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return Err("--cert and --key go together".into()),
    };
    Ok(args)
}

fn number(flag: &str, value: &str, min: usize, max: usize) -> Result<usize, String> {
    let n: usize = value.parse().map_err(|e| format!("{flag} {value}: {e}"))?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{flag} {value}: between {min} and {max}"))
    }
}

fn seconds(flag: &str, value: &str, max: Duration) -> Result<Duration, String> {
    let s: f64 = value
        .strip_suffix('s')
        .unwrap_or(value)
        .parse()
        .map_err(|e| format!("{flag} {value}: {e}"))?;
    if s > 0.0 && s <= max.as_secs_f64() {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(format!(
            "{flag} {value}: more than 0 and at most {}s",
            max.as_secs()
        ))
    }
}
