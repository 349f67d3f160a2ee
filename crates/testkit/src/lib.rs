//! Test support for Gatehouse (a dev-dependency only; never linked into the binary).
//!
//! [`Server::spawn`] starts the real `gatehouse serve` binary on `127.0.0.1:0` in a fresh data
//! dir and reads the bound address from its first line of output; it is killed on drop. No
//! fixed ports, no server started by hand.
#![forbid(unsafe_code)]
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test support: failing loudly is the point"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub mod echo;

pub use gatehouse_core::{FakeClock, UnixTime};
pub use tempfile::TempDir;

/// A temporary directory removed on drop.
pub fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("gatehouse-test-")
        .tempdir()
        .expect("temp dir")
}

/// A running `gatehouse serve` child process.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The data directory.
    pub data_dir: PathBuf,
    /// Lines the server printed on stdout before it was ready.
    pub banner: Vec<String>,
    _dir: Option<TempDir>,
}

impl Server {
    /// Spawns `bin serve --listen 127.0.0.1:0 --data-dir <fresh temp dir> <extra...>`.
    pub fn spawn(bin: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = temp_dir();
        let data_dir = dir.path().join("data");
        let mut s = Self::spawn_in(bin, &data_dir, extra, env);
        s._dir = Some(dir);
        s
    }

    /// Spawns with a given data dir (kept after drop).
    pub fn spawn_in(bin: &Path, data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir);
        cmd.args(extra);
        cmd.env_remove("GATEHOUSE_CONFIG")
            .env_remove("GATEHOUSE_LISTEN")
            .env_remove("GATEHOUSE_DATA_DIR");
        cmd.env_remove("GATEHOUSE_DATABASE_URL")
            .env_remove("GATEHOUSE_MASTER_KEY");
        cmd.env("GATEHOUSE_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn gatehouse");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = Vec::new();
        let url = loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    let found = line
                        .strip_prefix("gatehouse serving on ")
                        .map(str::to_owned);
                    banner.push(line);
                    if let Some(url) = found {
                        break url;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("gatehouse did not start; output so far: {banner:?}");
                }
            }
        };
        // Keep draining so the child never blocks on a full pipe; collect the rest of the banner.
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            banner.push(line);
        }
        std::thread::spawn(move || while rx.recv().is_ok() {});
        Self {
            child,
            url,
            data_dir: data_dir.to_owned(),
            banner,
            _dir: None,
        }
    }

    /// The generated admin token.
    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("admin-token"))
            .expect("admin-token file")
            .trim()
            .to_owned()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for exit; returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::park_timeout(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
