//! Child processes: active_cmd/inactive_cmd (no shell, exec policy) and
//! lvsd with its readiness pipe.
//!
//! # The lvsd readiness interface
//!
//! pulse starts lvsd as `<lvsd> --nofork -c CONFIG [-v] --ready-fd N`
//! (`--nodaemon` instead of `--nofork` when pulse runs with `-n`). File
//! descriptor `N` is the write end of a pipe inherited by lvsd (and by nothing
//! else). When lvsd has built its IPVS table (the point where Piranha 0.8.6-4
//! posted its semaphore) it writes the single line `ready\n` to that fd and
//! closes it. pulse waits for that line up to 30 s (`--lvsd-ready-timeout`)
//! before bringing up the VIPs; if lvsd exits, closes the pipe without the
//! line, or the time runs out, pulse logs why, stops lvsd and relinquishes
//! (CHILDFAIL), so the partner can take over.
//!
//! Every child gets `PR_SET_PDEATHSIG` (SIGTERM), so a `kill -9` of pulse
//! takes its children down too (FLT-K05).

use lvscf_parser::CommandLine;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

/// The descriptor number lvsd finds the readiness pipe on (dup2'ed there
/// in the child, so that even a shell stand-in can write to it).
pub const READY_FD: i32 = 3;

fn set_pdeathsig(cmd: &mut Command, keep_fd: Option<i32>) {
    // SAFETY: tokio's (and std's) Command has no option for a parent-death
    // signal or for placing a descriptor at a chosen number, so a pre_exec
    // hook (unsafe by nature: it runs in the forked child) does both. The
    // closure only makes async-signal-safe system calls (prctl, getppid,
    // fcntl, dup2) and allocates nothing on the success path.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)?;
            // The parent may already be gone.
            if nix::unistd::getppid().as_raw() == 1 {
                return Err(io::Error::other("parent exited"));
            }
            if let Some(fd) = keep_fd {
                if fd == READY_FD {
                    if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                } else if libc::dup2(fd, READY_FD) != READY_FD {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Why a command from lvs.cf was not started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The exec policy refuses it.
    #[error("{0}")]
    Refused(exec_policy::Refusal),
    /// The system could not start it.
    #[error("{}: {source}", program.display())]
    Spawn {
        program: std::path::PathBuf,
        source: io::Error,
    },
}

/// Spawns a command from lvs.cf without a shell, if the exec policy allows
/// it: the command line is listed in the root-owned allowlist
/// (`/etc/sysconfig/lvs-programs`, read again for every command so an edit
/// applies at once) and the program and its directories are root-owned and
/// not group/other writable. Not waited for (Piranha semantics); tokio
/// reaps it.
pub fn spawn_command(cmd: &CommandLine) -> Result<Child, SpawnError> {
    let approved = exec_policy::Policy::load()
        .check(&cmd.text)
        .map_err(SpawnError::Refused)?;
    let mut c = Command::new(&approved.program);
    if let Some(arg0) = approved.argv.first() {
        c.arg0(arg0);
    }
    c.args(&approved.argv[1..]);
    c.stdin(std::process::Stdio::null());
    set_pdeathsig(&mut c, None);
    c.spawn().map_err(|source| SpawnError::Spawn {
        program: approved.program,
        source,
    })
}

/// `PR_SET_PDEATHSIG` for another child of pulse (fos).
pub fn die_with_parent(cmd: &mut Command) {
    set_pdeathsig(cmd, None);
}

/// A started lvsd with the read end of its readiness pipe.
pub struct Lvsd {
    /// The child.
    pub child: Child,
    /// The read end of the readiness pipe.
    pub ready: tokio::net::unix::pipe::Receiver,
}

/// Starts lvsd.
pub fn start_lvsd(
    lvsd: &Path,
    config: &Path,
    nodaemon: bool,
    verbose: bool,
    syslog: bool,
) -> io::Result<Lvsd> {
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let wfd = wr.as_raw_fd();
    let mut c = Command::new(lvsd);
    c.arg(if nodaemon { "--nodaemon" } else { "--nofork" });
    c.arg("-c").arg(config);
    if verbose {
        c.arg("-v");
    }
    if syslog {
        c.arg("--syslog");
    }
    c.arg("--ready-fd").arg(READY_FD.to_string());
    c.stdin(std::process::Stdio::null());
    set_pdeathsig(&mut c, Some(wfd));
    let child = c.spawn()?;
    drop(wr);
    let ready = tokio::net::unix::pipe::Receiver::from_owned_fd(rd)?;
    Ok(Lvsd { child, ready })
}

/// Waits for `ready\n` on the pipe.
pub async fn wait_ready(
    pipe: &mut tokio::net::unix::pipe::Receiver,
    timeout: Duration,
) -> Result<(), String> {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 64];
        loop {
            let n = pipe
                .read(&mut chunk)
                .await
                .map_err(|e| format!("readiness pipe: {e}"))?;
            if n == 0 {
                return Err("lvsd closed its readiness pipe without reporting ready".to_string());
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                return if &buf[..pos] == b"ready" {
                    Ok(())
                } else {
                    Err(format!(
                        "lvsd wrote {:?} instead of ready",
                        String::from_utf8_lossy(&buf[..pos])
                    ))
                };
            }
            if buf.len() > 64 {
                return Err("lvsd wrote garbage on its readiness pipe".to_string());
            }
        }
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "lvsd did not report ready within {} s",
            timeout.as_secs_f64()
        )),
    }
}

/// Piranha's line for a child's end.
pub fn exit_line(pid: u32, status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("Child process {pid} exited with status {code}"),
        (None, Some(sig)) => format!("Child process {pid} terminated with signal {sig}"),
        _ => format!("Child process {pid} exited"),
    }
}

/// Sends `sig` to `pid` (ignores errors: it may be gone).
pub fn signal(pid: i32, sig: i32) {
    if pid > 0 {
        if let Ok(sig) = nix::sys::signal::Signal::try_from(sig) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
        }
    }
}
