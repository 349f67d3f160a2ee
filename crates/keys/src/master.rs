//! The master key: 32 bytes that encrypt signing keys at rest with AES-256-GCM.
//!
//! It lives in a file (`chmod 600`, created on first start) or comes from the environment as
//! base64. Losing it makes every stored signing key unreadable, so creation never overwrites
//! an existing file, even when two processes start at once.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use crate::rng;

/// Length of the key in bytes.
const KEY_LEN: usize = 32;
/// Length of the GCM tag appended to every ciphertext.
const TAG_LEN: usize = 16;

/// A master-key problem. Messages name paths, never key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MasterKeyError {
    /// Not base64 (standard or URL-safe alphabet).
    #[error("master key is not valid base64")]
    BadEncoding,
    /// Decryption failed: wrong key, wrong associated data, or a damaged blob.
    #[error("decryption failed: wrong master key, or the data was altered")]
    Decrypt,
    /// Encryption failed inside the crypto backend.
    #[error("encryption failed")]
    Encrypt,
    /// The key file is readable or writable by group or others.
    #[error(
        "{} is accessible by group or others (mode {mode:o}); run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Reading or writing the key file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The decoded key is not 32 bytes.
    #[error("master key must be exactly 32 bytes (44 base64 characters)")]
    WrongLength,
}

/// A 256-bit master key. Zeroized on drop; `Debug` is redacted; deliberately not `Clone`
/// (share it behind an `Arc`).
pub struct MasterKey(Zeroizing<[u8; KEY_LEN]>);

// === impl MasterKey ===

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rng::fill(key.as_mut_slice());
        Self(key)
    }

    /// Parses standard or URL-safe base64 (padding optional) of exactly 32 bytes;
    /// surrounding whitespace is ignored.
    pub fn from_base64(s: &str) -> Result<Self, MasterKeyError> {
        let s = s.trim();
        if s.len() > 64 {
            return Err(MasterKeyError::WrongLength);
        }
        let config =
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
        // 64 base64 characters decode to at most 48 bytes.
        let mut buf = Zeroizing::new([0u8; 48]);
        let n = GeneralPurpose::new(&alphabet::STANDARD, config)
            .decode_slice(s, buf.as_mut_slice())
            .or_else(|_| {
                GeneralPurpose::new(&alphabet::URL_SAFE, config).decode_slice(s, buf.as_mut_slice())
            })
            .map_err(|_| MasterKeyError::BadEncoding)?;
        let bytes = buf.get(..n).ok_or(MasterKeyError::WrongLength)?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return Err(MasterKeyError::WrongLength);
        }
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }

    /// Standard padded base64, the form written to the key file.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0.as_slice())
    }

    /// Loads the key at `path`, or creates it (mode 0600, parent directories 0700) if the file
    /// does not exist. Returns whether it was created. Refuses a file that group or others can
    /// access. Creation is atomic and never replaces a file another process wrote first.
    pub fn load_or_create(path: &Path) -> Result<(MasterKey, bool), MasterKeyError> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => return Self::load(path).map(|k| (k, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(io_err(path, source)),
        }
        let key = Self::generate();
        if key.create_file(path)? {
            Ok((key, true))
        } else {
            Self::load(path).map(|k| (k, false))
        }
    }

    /// AES-256-GCM with a random 96-bit nonce. Output: nonce ‖ ciphertext ‖ tag.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, MasterKeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng::fill(&mut nonce);
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let mut body = out.split_off(NONCE_LEN);
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .map_err(|_| MasterKeyError::Encrypt)?;
        out.append(&mut body);
        Ok(out)
    }

    /// Reverses [`MasterKey::encrypt`]. A wrong key, wrong `aad`, truncated or altered blob is
    /// an error, never a panic.
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, MasterKeyError> {
        let (nonce, sealed) = blob
            .split_at_checked(NONCE_LEN)
            .ok_or(MasterKeyError::Decrypt)?;
        if sealed.len() < TAG_LEN {
            return Err(MasterKeyError::Decrypt);
        }
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| MasterKeyError::Decrypt)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let len = self
            .aead()?
            .open_in_place(nonce, Aad::from(aad), buf.as_mut_slice())
            .map_err(|_| MasterKeyError::Decrypt)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    fn aead(&self) -> Result<LessSafeKey, MasterKeyError> {
        UnboundKey::new(&AES_256_GCM, self.0.as_slice())
            .map(LessSafeKey::new)
            .map_err(|_| MasterKeyError::Encrypt)
    }

    fn load(path: &Path) -> Result<Self, MasterKeyError> {
        check_permissions(path)?;
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| io_err(path, e))?);
        Self::from_base64(&text)
    }

    /// Writes the key to a private temp file and links it into place. Returns `false` when
    /// another process created `path` first (its key wins; ours is discarded).
    fn create_file(&self, path: &Path) -> Result<bool, MasterKeyError> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp-{}", crate::secret::random_base62(8)));
        let written = write_private(&tmp, self.to_base64().as_bytes());
        let linked = written.and_then(|()| link_no_clobber(&tmp, path));
        let _ignored = std::fs::remove_file(&tmp);
        let created = linked?;
        if let Ok(d) = std::fs::File::open(dir) {
            // Best effort: make the new directory entry durable.
            let _ignored = d.sync_all();
        }
        Ok(created)
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

fn io_err(path: &Path, source: std::io::Error) -> MasterKeyError {
    MasterKeyError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), MasterKeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(|e| io_err(path, e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(MasterKeyError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), MasterKeyError> {
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), MasterKeyError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| io_err(dir, e))
}

fn write_private(path: &Path, contents: &[u8]) -> Result<(), MasterKeyError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| io_err(path, e))?;
    file.write_all(contents)
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| io_err(path, e))
}

/// Moves `tmp` to `path` unless `path` exists. A hard link is atomic and fails on an existing
/// target; filesystems without hard links fall back to a rename.
fn link_no_clobber(tmp: &Path, path: &Path) -> Result<bool, MasterKeyError> {
    match std::fs::hard_link(tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(_) => std::fs::rename(tmp, path)
            .map(|()| true)
            .map_err(|e| io_err(path, e)),
    }
}

#[cfg(test)]
mod tests;
