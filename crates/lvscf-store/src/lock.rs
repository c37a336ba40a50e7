//! The lock writers of lvs.cf hold from their read to their last write.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

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
