//! `service = fos` (docs/ARCHITECTURE.md, "pulse: FOS mode"): the fos child of pulse, and when the
//! inactive router watches the partner's services.
//!
//! * Active: pulse brings the failover addresses up, then runs `fos
//!   --active` (every `stop_cmd`, then every `start_cmd`), so that a
//!   service binding its address finds it; a fos that exits while we are
//!   active is restarted (`fos process exited -- restarting it`).
//!   Relinquishing sends it SIGTERM (it runs every `stop_cmd`), then the
//!   addresses go down.
//! * Inactive: `fos --monitor` (one nanny per service on the partner's
//!   copy) runs while the partner says it is active ([`wants_monitor`]).
//!   When it exits the partner's service failed: pulse checks its own
//!   network first ([`netcheck`]), then takes over and sends "stop me"
//!   until the partner reports stopped.
//!
//! Deviation from Piranha: the monitor starts only once the partner has
//! announced itself active (Piranha started it at once on the inactive
//! node, so at a simultaneous start of both routers the backup's monitor
//! could time out on a service not yet started and take over). A SIGHUP
//! reaches `fos --active` (which exits and is started again with the new
//! lvs.cf), never the monitor (whose exit would read as the partner's
//! failure).

pub mod netcheck;

use crate::codec::PeerState;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Command;
use tokio::sync::{mpsc, watch};

/// How long `fos --active` may take for the `stop_cmd`s after SIGTERM
/// (fos itself gives each one 60 s) before it is killed.
pub const ACTIVE_STOP_TIMEOUT: Duration = Duration::from_secs(90);

/// The pause before a `fos --active` that exited is started again, so a
/// `start_cmd` that fails at once does not spin.
pub const RESTART_DELAY: Duration = Duration::from_secs(1);

/// The two ways pulse runs fos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FosMode {
    /// `--active`.
    Active,
    /// `--monitor`.
    Monitor,
}

impl FosMode {
    fn flag(self) -> &'static str {
        match self {
            FosMode::Active => "--active",
            FosMode::Monitor => "--monitor",
        }
    }
}

/// Whether the inactive router should be watching the partner's services:
/// not active, willing (no link or child failure, no suspected fault of
/// our own network), and the partner announces itself active (it holds
/// the addresses the monitor checks).
pub fn wants_monitor(
    active: bool,
    willing: bool,
    network_fault: bool,
    partner: Option<PeerState>,
) -> bool {
    !active && willing && !network_fault && partner == Some(PeerState::Active)
}

/// What the main loop tracks in FOS mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FosState {
    /// `fos --monitor` was asked for (and has not exited since).
    pub monitoring: bool,
    /// The network check of a monitor exit is running.
    pub checking: bool,
    /// The last check failed: our own network seems broken.
    pub network_fault: bool,
}

impl FosState {
    /// Whether to start (`Some(true)`) or stop (`Some(false)`) the monitor,
    /// given the machine's view; `None`: as it is.
    pub fn monitor_change(
        &mut self,
        active: bool,
        willing: bool,
        partner: Option<PeerState>,
    ) -> Option<bool> {
        let want = !self.checking && wants_monitor(active, willing, self.network_fault, partner);
        if want == self.monitoring {
            return None;
        }
        self.monitoring = want;
        Some(want)
    }
}

/// How fos is started.
#[derive(Debug, Clone)]
pub struct FosCommand {
    /// `--fos=PATH`.
    pub program: PathBuf,
    /// `-c`.
    pub config: PathBuf,
    /// pulse runs with `-n`: fos gets `--nodaemon`, else `--nofork`.
    pub nodaemon: bool,
    /// `-v`.
    pub verbose: bool,
    /// `--syslog`.
    pub syslog: bool,
}

impl FosCommand {
    /// argv after the program: `--active|--monitor -c CONFIG
    /// --nodaemon|--nofork [-v] [--syslog]`, as Piranha's pulse ran fos.
    pub fn args(&self, mode: FosMode) -> Vec<String> {
        let mut v = vec![
            mode.flag().to_string(),
            "-c".into(),
            self.config.display().to_string(),
            if self.nodaemon {
                "--nodaemon"
            } else {
                "--nofork"
            }
            .into(),
        ];
        if self.verbose {
            v.push("-v".into());
        }
        if self.syslog {
            v.push("--syslog".into());
        }
        v
    }
}

/// A fos child ended without being asked to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FosExit {
    /// Which one.
    pub mode: FosMode,
    /// `Child process <pid> exited with status <n>`.
    pub line: String,
}

/// A running fos.
pub struct FosChild {
    pid: i32,
    mode: FosMode,
    stopping: Arc<AtomicBool>,
    exited: watch::Receiver<bool>,
}

impl FosChild {
    /// Starts fos in `mode`; its unexpected end is reported on `reports`.
    /// `pid_slot` (the active one only) is where SIGHUP is forwarded.
    pub fn start(
        cmd: &FosCommand,
        mode: FosMode,
        reports: mpsc::UnboundedSender<FosExit>,
        pid_slot: Option<Arc<AtomicI32>>,
    ) -> std::io::Result<FosChild> {
        let mut c = Command::new(&cmd.program);
        c.args(cmd.args(mode));
        c.stdin(std::process::Stdio::null());
        crate::exec::die_with_parent(&mut c);
        let mut child = c.spawn()?;
        let pid = child.id().map(|p| p as i32).unwrap_or(0);
        if let Some(slot) = &pid_slot {
            slot.store(pid, Ordering::SeqCst);
        }
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = stopping.clone();
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            let status = child.wait().await;
            if let Some(slot) = pid_slot {
                let _ = slot.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
            }
            if !flag.load(Ordering::SeqCst) {
                let line = match &status {
                    Ok(st) => crate::exec::exit_line(pid as u32, st),
                    Err(e) => format!("Child process {pid} could not be waited for: {e}"),
                };
                let _ = reports.send(FosExit { mode, line });
            }
            let _ = tx.send(true);
        });
        Ok(FosChild {
            pid,
            mode,
            stopping,
            exited: rx,
        })
    }

    /// Which mode it runs in.
    pub fn mode(&self) -> FosMode {
        self.mode
    }

    /// Whether it is still running.
    pub fn running(&self) -> bool {
        !*self.exited.borrow()
    }

    /// SIGTERM, wait up to `limit`, then SIGKILL. Not reported as an exit.
    pub async fn stop(mut self, limit: Duration) -> bool {
        self.stopping.store(true, Ordering::SeqCst);
        if *self.exited.borrow() {
            return true;
        }
        crate::exec::signal(self.pid, libc::SIGTERM);
        if tokio::time::timeout(limit, self.exited.wait_for(|e| *e))
            .await
            .is_ok()
        {
            return true;
        }
        crate::exec::signal(self.pid, libc::SIGKILL);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.exited.wait_for(|e| *e)).await;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_only_while_the_partner_is_active() {
        let a = Some(PeerState::Active);
        assert!(wants_monitor(false, true, false, a));
        assert!(!wants_monitor(true, true, false, a), "we are active");
        assert!(!wants_monitor(false, false, false, a), "unwilling");
        assert!(!wants_monitor(false, true, true, a), "own network fault");
        for p in [None, Some(PeerState::Inactive), Some(PeerState::Leaving)] {
            assert!(!wants_monitor(false, true, false, p), "{p:?}");
        }
    }

    #[test]
    fn monitor_started_once_and_stopped_on_takeover() {
        let a = Some(PeerState::Active);
        let mut s = FosState::default();
        assert_eq!(s.monitor_change(false, true, None), None);
        assert_eq!(s.monitor_change(false, true, a), Some(true));
        assert_eq!(s.monitor_change(false, true, a), None, "already running");
        // it exited: the loop clears `monitoring` and checks the network
        s.monitoring = false;
        s.checking = true;
        assert_eq!(s.monitor_change(false, true, a), None, "not while checking");
        s.checking = false;
        s.network_fault = true;
        assert_eq!(s.monitor_change(false, true, a), None, "own network fault");
        s.network_fault = false;
        assert_eq!(s.monitor_change(false, true, a), Some(true));
        assert_eq!(s.monitor_change(true, true, a), Some(false), "took over");
    }

    #[test]
    fn fos_argv_as_piranha_pulse() {
        let mut c = FosCommand {
            program: "/usr/sbin/fos".into(),
            config: "/etc/sysconfig/ha/lvs.cf".into(),
            nodaemon: false,
            verbose: true,
            syslog: false,
        };
        assert_eq!(
            c.args(FosMode::Active),
            [
                "--active",
                "-c",
                "/etc/sysconfig/ha/lvs.cf",
                "--nofork",
                "-v"
            ]
        );
        c.nodaemon = true;
        c.verbose = false;
        c.syslog = true;
        assert_eq!(
            c.args(FosMode::Monitor),
            [
                "--monitor",
                "-c",
                "/etc/sysconfig/ha/lvs.cf",
                "--nodaemon",
                "--syslog"
            ]
        );
    }
}
