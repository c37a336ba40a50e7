//! lvsd as a process: the readiness descriptor pulse hands it, the pid
//! file, and the allocator setting. (Forking away from the terminal is
//! `daemon_kit::process::daemonize`.)

use std::fs::File;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{fcntl, FcntlArg, FdFlag};

use crate::cli::Cli;
use crate::warn;

/// The descriptor of `--ready-fd`, on which lvsd writes `ready\n` once its
/// table is built (pulse waits for that line before it brings up any VIP).
///
/// It is taken over at the very start of the process, before lvsd opens
/// anything: a number that is not open then is never written to later,
/// when lvsd's own sockets or a nanny's pipes may have been given that
/// number.
#[derive(Debug)]
pub enum ReadyFd {
    /// Open and ours (close-on-exec, so no nanny inherits it).
    Open(OwnedFd),
    /// The number was not an open descriptor at start.
    NotOpen(i32),
}

/// Whether a descriptor number is open in this process, from
/// `/proc/self/fd`; `None` without procfs.
fn is_open(fd: i32) -> Option<bool> {
    if fd < 0 {
        return Some(false);
    }
    match std::fs::symlink_metadata(format!("/proc/self/fd/{fd}")) {
        Ok(_) => Some(true),
        Err(_) if Path::new("/proc/self/fd").is_dir() => Some(false),
        Err(_) => None,
    }
}

impl ReadyFd {
    /// Takes over descriptor `fd`. Call it first thing in the process.
    pub fn adopt(fd: i32) -> ReadyFd {
        // Without procfs nothing tells; pulse always passes an open
        // descriptor, so trust it.
        if is_open(fd) == Some(false) {
            return ReadyFd::NotOpen(fd);
        }
        // SAFETY: adopting an inherited descriptor by number has no safe
        // form in std or nix. The descriptor is open (or, without procfs, promised
        // open by the one who started us) and was inherited: nothing in
        // this process opened it, so nothing else owns or closes it.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        if let Err(e) = fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)) {
            warn!("--ready-fd {fd}: cannot set close-on-exec: {e}");
        }
        ReadyFd::Open(owned)
    }

    /// Writes `ready\n` and closes the descriptor.
    pub fn signal(self) {
        match self {
            ReadyFd::Open(fd) => {
                let mut f = File::from(fd);
                if let Err(e) = f.write_all(b"ready\n") {
                    let n = std::os::fd::AsRawFd::as_raw_fd(&f);
                    warn!("cannot write to --ready-fd {n}: {e}");
                }
            }
            ReadyFd::NotOpen(fd) => warn!("--ready-fd {fd} is not an open descriptor"),
        }
    }
}

/// Writes the pid file when lvsd runs as a daemon; it is removed when the
/// value is dropped, if it still names lvsd.
pub fn pid_file(cli: &Cli) -> Option<daemon_kit::process::PidFile> {
    if !cli.daemon() {
        return None;
    }
    daemon_kit::process::PidFile::write(&cli.pidfile)
        .map_err(|e| warn!("cannot write pid file {}: {e}", cli.pidfile.display()))
        .ok()
}

/// Makes the allocator keep the memory lvsd frees. A SIGHUP reads a file
/// of up to 16 MiB and rebuilds tables of 10,000 entries; with glibc's
/// defaults each such buffer is a fresh mapping, faulted in page by page
/// and unmapped when freed, which costs more than the work itself (in a
/// virtual machine every unmap also stops the other CPUs to flush their
/// TLBs). The process keeps its peak heap instead: tens of MB for the
/// largest tables.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets glibc tunables; called before any thread
    // starts. (nix has no binding for it.)
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// The pulse that started lvsd (`--ready-fd`), 0 otherwise.
static PULSE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Records our parent as the pulse that started us.
pub fn remember_pulse() {
    PULSE.store(
        nix::unistd::getppid().as_raw(),
        std::sync::atomic::Ordering::SeqCst,
    );
}

/// A SIGTERM that comes from the death of pulse (its PR_SET_PDEATHSIG:
/// killed by systemd's watchdog, crashed) rather than from pulse itself.
/// Then the VIPs are still up, and removing the services now would answer
/// every packet of the established connections with a reset until a new
/// pulse removes the VIPs; the table is left to that pulse, which removes
/// the VIPs first and then the services (meanwhile this router's kernel
/// keeps forwarding, as it did while pulse was frozen).
pub fn pulse_is_gone() -> bool {
    let pulse = PULSE.load(std::sync::atomic::Ordering::SeqCst);
    pulse > 0 && nix::unistd::getppid().as_raw() != pulse
}
