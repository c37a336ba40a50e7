//! Becoming a daemon, and the pid file.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Detaches from the terminal the classic way: fork (the original process
/// exits 0 once the intermediate child is gone), setsid, fork again (the
/// intermediate child exits), so the daemon is no session leader and can
/// never regain a terminal; then `/` as working directory and `/dev/null`
/// on the standard descriptors. Call it before any thread exists.
pub fn daemonize() -> nix::Result<()> {
    use nix::unistd::{fork, setsid, ForkResult};
    // SAFETY: fork has no safe form (nix marks it unsafe: a child of a
    // threaded process may only make async-signal-safe calls). It is called
    // before any thread or runtime exists, so the child is a faithful copy;
    // it only makes system calls before returning.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => {
            let _ = nix::sys::wait::waitpid(child, None);
            std::process::exit(0);
        }
        ForkResult::Child => {}
    }
    setsid()?;
    // SAFETY: as above; still single-threaded.
    match unsafe { fork() }? {
        // _exit: the intermediate child must not run atexit handlers or
        // flush buffers that the daemon also holds.
        // SAFETY: _exit(2) takes no pointer and never returns; neither nix
        // nor std wraps it (std::process::exit runs the atexit handlers).
        ForkResult::Parent { .. } => unsafe { nix::libc::_exit(0) },
        ForkResult::Child => {}
    }
    let _ = std::env::set_current_dir("/");
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    nix::unistd::dup2_stdin(&null)?;
    nix::unistd::dup2_stdout(&null)?;
    nix::unistd::dup2_stderr(&null)?;
    Ok(())
}

/// A pid file this process wrote: removed on drop, only if it still names
/// this process (a newer instance may have replaced it).
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Writes our pid to `path` (mode 0644, replacing the file atomically
    /// and never through a symbolic link).
    pub fn write(path: &Path) -> std::io::Result<PidFile> {
        let pid = std::process::id();
        let tmp = path.with_file_name(format!(
            ".{}.{pid}.tmp",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "pid".into())
        ));
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(format!("{pid}\n").as_bytes())?;
        drop(f);
        if let Err(e) = std::fs::rename(&tmp, path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(PidFile {
            path: path.to_path_buf(),
            pid,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read_to_string(&self.path) {
            if text.trim() == self.pid.to_string() {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn pid_file_written_and_removed_only_when_ours() {
        let dir = std::env::temp_dir().join(format!("daemon-kit-pid-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("x.pid");
        let pf = PidFile::write(&path).expect("write");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            format!("{}\n", std::process::id())
        );
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        drop(pf);
        assert!(!path.exists());
        // Replaced by another instance: left alone.
        let pf = PidFile::write(&path).expect("write");
        std::fs::write(&path, "99999999\n").expect("replace");
        drop(pf);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "99999999\n");
        // A planted symbolic link is replaced, never written through.
        let target = dir.join("target");
        std::fs::write(&target, "keep").expect("write");
        std::fs::remove_file(&path).expect("rm");
        std::os::unix::fs::symlink(&target, &path).expect("symlink");
        let pf = PidFile::write(&path).expect("write");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep");
        assert!(!std::fs::symlink_metadata(&path)
            .expect("stat")
            .file_type()
            .is_symlink());
        drop(pf);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
