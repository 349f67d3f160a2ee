//! `gatehouse backup` / `restore`: a consistent copy of the SQLite database (`VACUUM INTO`, safe
//! while the server runs) plus the master key, as one 0600 `.tar.gz`. Without the master key the
//! signing keys in the database cannot be decrypted, so it is included unless excluded.

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use gatehouse_core::ProcessEnv;
use serde_json::json;

use crate::cli::{BackupArgs, RestoreArgs};
use crate::commands::Output;
use crate::config::{self, Config};
use crate::{CliError, fsutil};

const DB_ENTRY: &str = "gatehouse.db";
const KEY_ENTRY: &str = "master.key";
const MANIFEST_ENTRY: &str = "manifest.json";
const MAX_ENTRY_BYTES: u64 = 8 * 1024 * 1024 * 1024;

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

fn load_config(args: &crate::cli::ServeArgs) -> Result<Config, CliError> {
    config::resolve(&args.into(), &ProcessEnv).map_err(|e| CliError::Usage(e.to_string()))
}

/// The file path of a `sqlite:` URL.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Writes the backup archive.
pub async fn backup(args: &BackupArgs) -> Result<Output, CliError> {
    let cfg = load_config(&args.serve)?;
    if sqlite_path(&cfg.database_url).is_none() {
        return Err(failed(
            "backup covers the embedded SQLite database; for PostgreSQL use pg_dump and keep the master key safe separately",
        ));
    }
    if args.out.exists() {
        return Err(failed(format!("{} already exists", args.out.display())));
    }
    let store = gatehouse_store::open(&cfg.database_url)
        .await
        .map_err(failed)?;
    let tmp_db = args.out.with_extension("db.partial");
    let _ = fs::remove_file(&tmp_db);
    store
        .backup_to(&tmp_db)
        .await
        .map_err(|e| failed(format!("copying the database: {e}")))?;
    let master = if args.exclude_master_key {
        None
    } else if let Some(k) = &cfg.master_key_env {
        Some(format!("{}\n", k.trim()).into_bytes())
    } else {
        Some(
            fs::read(&cfg.master_key_file)
                .map_err(|e| failed(format!("reading {}: {e}", cfg.master_key_file.display())))?,
        )
    };
    let result = write_archive(&args.out, &tmp_db, master.as_deref());
    let _ = fs::remove_file(&tmp_db);
    result?;
    let human = format!(
        "backup written to {}{}",
        args.out.display(),
        if master.is_some() {
            " (contains the master key: keep it as safe as the key itself)"
        } else {
            " (without the master key)"
        }
    );
    Ok(Output::new_pub(
        json!({"backup": args.out, "includes_master_key": master.is_some()}),
        human,
    ))
}

fn write_archive(out: &Path, db: &Path, master: Option<&[u8]>) -> Result<(), CliError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts
        .open(out)
        .map_err(|e| failed(format!("creating {}: {e}", out.display())))?;
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    let manifest =
        json!({"format": 1, "database": DB_ENTRY, "master_key": master.is_some()}).to_string();
    append(&mut tar, MANIFEST_ENTRY, manifest.as_bytes())?;
    let mut db_file = File::open(db).map_err(failed)?;
    tar.append_file(DB_ENTRY, &mut db_file).map_err(failed)?;
    if let Some(k) = master {
        append(&mut tar, KEY_ENTRY, k)?;
    }
    let gz = tar.into_inner().map_err(failed)?;
    let file = gz.finish().map_err(failed)?;
    file.sync_all().map_err(failed)
}

fn append<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    data: &[u8],
) -> Result<(), CliError> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, name, data).map_err(failed)
}

/// Restores an archive into the configured data dir (the server must be stopped).
pub async fn restore(args: &RestoreArgs) -> Result<Output, CliError> {
    let cfg = load_config(&args.serve)?;
    let db_path = sqlite_path(&cfg.database_url).ok_or_else(|| {
        failed("restore targets the embedded SQLite database; for PostgreSQL use pg_restore")
    })?;
    let _lock = fsutil::lock_data_dir(&cfg.data_dir)
        .map_err(|e| failed(format!("{e:#}: stop the server first")))?;
    if db_path.exists() && !args.force {
        return Err(failed(format!(
            "{} exists: pass --force to replace it",
            db_path.display()
        )));
    }
    let file = File::open(&args.from)
        .map_err(|e| failed(format!("opening {}: {e}", args.from.display())))?;
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let mut db: Option<Vec<u8>> = None;
    let mut key: Option<Vec<u8>> = None;
    for entry in archive.entries().map_err(failed)? {
        let mut entry = entry.map_err(failed)?;
        let name = entry.path().map_err(failed)?.to_string_lossy().into_owned();
        if entry.size() > MAX_ENTRY_BYTES {
            return Err(failed(format!("archive entry {name} is too large")));
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(failed)?;
        match name.as_str() {
            DB_ENTRY => db = Some(data),
            KEY_ENTRY => key = Some(data),
            MANIFEST_ENTRY => {}
            other => {
                return Err(failed(format!(
                    "unexpected archive entry {other:?}: not a gatehouse backup"
                )));
            }
        }
    }
    let db = db.ok_or_else(|| failed("archive holds no database"))?;
    if let Some(k) = &key
        && cfg.master_key_env.is_none()
    {
        if let Ok(existing) = fs::read(&cfg.master_key_file)
            && existing != *k
            && !args.force
        {
            return Err(failed(format!(
                "{} holds a different master key: pass --force to replace it",
                cfg.master_key_file.display()
            )));
        }
        fsutil::write_private_file(&cfg.master_key_file, k).map_err(failed)?;
    }
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
    fsutil::write_private_file(&db_path, &db).map_err(failed)?;
    let human = format!(
        "restored {} into {}{}",
        args.from.display(),
        db_path.display(),
        if key.is_some() {
            " (with master key)"
        } else {
            " (no master key in archive: the current one must match)"
        }
    );
    Ok(Output::new_pub(
        json!({"restored": db_path, "master_key_restored": key.is_some()}),
        human,
    ))
}
