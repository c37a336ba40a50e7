//! The lock writers of lvs.cf hold from their read to their last write.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// The advisory lock every writer of lvs.cf holds while it reads, edits and
/// replaces the file (`lvscf`, the web tool): an exclusive `flock` on
/// `.NAME.lock` next to it. Mode 0660, so root and the `piranha` group share
/// it when the directory is set-group-id (as the packages install it).
#[derive(Debug)]
pub struct ConfigLock(#[allow(dead_code)] Flock<File>); // held for its flock; dropped = unlocked

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
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o660)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(Self::path_for(config))?;
        let mut file = file;
        loop {
            match Flock::lock(file, FlockArg::LockExclusive) {
                Ok(locked) => return Ok(ConfigLock(locked)),
                Err((back, Errno::EINTR)) => file = back,
                Err((_, e)) => return Err(e.into()),
            }
        }
    }
}
