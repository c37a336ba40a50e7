//! Reading lvs.cf with a size bound, and the atomic write every tool uses.

use crate::diag::Diagnostics;
use crate::document::{Document, Loaded};
use crate::syntax::MAX_FILE_BYTES;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a configuration file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// It could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// It was read but does not load.
    Invalid(Diagnostics),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, error } => {
                write!(f, "failed to open {}: {error}", path.display())
            }
            LoadError::Invalid(d) => d.fmt(f),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads a configuration file, refusing one larger than the parser accepts
/// without reading all of it.
pub fn read_config_file(path: &Path) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads and parses a configuration file.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let bytes = read_config_file(path).map_err(|error| LoadError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    Document::parse(path.display().to_string(), bytes)
        .into_loaded()
        .map_err(LoadError::Invalid)
}

/// Replaces `path` with `bytes` atomically: a temporary file in the same
/// directory (created exclusively, never through a symlink), written and
/// fsynced, given the old file's mode (and owner, when we may), renamed over
/// the old file, then the directory fsynced. A reader sees the old or the new
/// file, never a mix; after a crash the file is one or the other. A `path`
/// that is a symlink is refused, so a planted link cannot redirect the write.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let old = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is a symbolic link; refusing to write through it",
                    path.display()
                ),
            ))
        }
        Ok(m) if !m.file_type().is_file() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", path.display()),
            ))
        }
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut tmp_path = None;
    let mut file = None;
    for attempt in 0..100u32 {
        let candidate = dir.join(format!(
            ".{}.tmp.{}.{}",
            file_name.to_string_lossy(),
            std::process::id(),
            attempt
        ));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&candidate)
        {
            Ok(f) => {
                tmp_path = Some(candidate);
                file = Some(f);
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    let (Some(tmp_path), Some(mut file)) = (tmp_path, file) else {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary name",
        ));
    };
    let result = (|| {
        file.write_all(bytes)?;
        let mode = old
            .as_ref()
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        if let Some(m) = &old {
            // Keep root:piranha when root saves; an unprivileged saver keeps
            // its own ownership (it could not change it anyway).
            let _ = std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid()));
        }
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        fs::rename(&tmp_path, path)?;
        File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    result
}

/// The advisory lock every writer of lvs.cf holds while it reads, edits and
/// replaces the file (`lvscf`, the web tool): an exclusive `flock` on
/// `.NAME.lock` next to it. Mode 0660, so root and the `piranha` group share
/// it when the directory is set-group-id (as the packages install it).
#[derive(Debug)]
pub struct ConfigLock(#[allow(dead_code)] File); // held for its flock; dropped = unlocked

impl ConfigLock {
    /// The lock file of a configuration file.
    pub fn path_for(config: &Path) -> PathBuf {
        let name = config
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "lvs.cf".into());
        config.with_file_name(format!(".{name}.lock"))
    }

    /// Blocks until the lock of `config` is ours.
    pub fn acquire(config: &Path) -> io::Result<ConfigLock> {
        use std::os::fd::AsRawFd;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o660)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(Self::path_for(config))?;
        loop {
            // SAFETY: flock on a descriptor we own; no memory is involved.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(ConfigLock(file));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}
