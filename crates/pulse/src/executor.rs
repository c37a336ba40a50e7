//! Performs the takeover, relinquish and re-announce sequences, one at a
//! time, in the order the machine asked for them.
//!
//! Takeover (docs/ARCHITECTURE.md, "Takeover and relinquish"): active_cmd, lvsd started and *ready*
//! (table built), sync daemon master, VIPs and the NAT address up as labelled
//! secondary addresses, then gratuitous ARP request + reply (or unsolicited
//! NA for IPv6) per address, 5 rounds 1 s apart in a background task, then
//! `gratuitous lvs arps finished`.
//!
//! Relinquish: stop the ARP task, inactive_cmd, sync daemon backup,
//! SIGTERM lvsd and wait (10 s, then SIGKILL), remove the VIPs and the NAT
//! address.
//!
//! With `service = fos` ([`crate::fos`]) the takeover brings the failover
//! addresses up first and then starts `fos --active` instead of lvsd; the
//! relinquish stops it (its `stop_cmd`s) before the addresses go down; and
//! `fos --monitor` runs when the main loop asks ([`Op::Monitor`]).

use crate::exec;
use crate::fos::{FosChild, FosCommand, FosExit, FosMode};
use crate::log::Logger;
use crate::netlink::{self, AddrSpec};
use crate::settings::{Settings, Vip};
use crate::syncd::SyncDaemon;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Gratuitous ARP rounds of a re-announce after a dual-active episode.
const REANNOUNCE_ROUNDS: u32 = 2;

/// A request to the executor.
pub enum Op {
    /// At start: inactive_cmd and sync daemon backup (as Piranha's pulse
    /// did on entering its loop).
    Initial,
    /// Become active. The number is the relinquish generation when the
    /// takeover was decided: a relinquish decided later cancels it, even
    /// while it waits for lvsd.
    Takeover(u64),
    /// Become inactive.
    Relinquish,
    /// A planned stop: keep the VIPs until the partner announces them (at
    /// most this long), then relinquish ([`crate::handover`]). The watch,
    /// when given, was opened before "leaving" went out.
    HandOver(Duration, Option<crate::handover::ArpWatch>),
    /// Re-run active_cmd, make sure the VIPs are up, re-send ARPs.
    Reannounce,
    /// New settings after a reload.
    Reconfigure(Arc<Settings>),
    /// FOS: run `fos --monitor` (true) or stop it (false).
    Monitor(bool),
    /// FOS: start `fos --active` again (it exited while we are active).
    RestartFos,
    /// Everything before this is done, and the commands still running have
    /// finished (at most 5 s): answer. Used at exit, so that inactive_cmd is
    /// not cut short by PR_SET_PDEATHSIG.
    Flush(oneshot::Sender<()>),
}

/// What the executor reports to the main loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// lvsd died on its own.
    ChildExited(String),
    /// A takeover could not complete.
    TakeoverFailed(String),
    /// FOS: a fos child ended on its own.
    FosExited(FosExit),
}

/// Fixed parameters.
pub struct ExecConfig {
    /// `--lvsd`.
    pub lvsd: PathBuf,
    /// `-c`.
    pub config: PathBuf,
    /// `-n`.
    pub nodaemon: bool,
    /// Pass `--syslog` to lvsd.
    pub syslog: bool,
    /// `-v`.
    pub verbose: bool,
    /// `-t`.
    pub test_start: bool,
    /// lvsd readiness timeout.
    pub ready_timeout: Duration,
    /// Gratuitous ARP rounds.
    pub arp_rounds: u32,
    /// Pause after each round.
    pub arp_interval: Duration,
    /// `service = fos`: how fos is run (None: LVS, lvsd is run).
    pub fos: Option<FosCommand>,
}

struct LvsdHandle {
    pid: i32,
    stopping: Arc<AtomicBool>,
    exited: watch::Receiver<bool>,
}

/// The executor state.
pub struct Executor {
    cfg: ExecConfig,
    settings: Arc<Settings>,
    log: Arc<Logger>,
    syncd: Box<dyn SyncDaemon>,
    reports: mpsc::UnboundedSender<Report>,
    lvsd_pid: Arc<AtomicI32>,
    lvsd: Option<LvsdHandle>,
    arps: Option<JoinHandle<()>>,
    held: Vec<Vip>,
    cancel: watch::Receiver<u64>,
    gen: u64,
    cmds: Vec<JoinHandle<()>>,
    fos_active: Option<FosChild>,
    fos_monitor: Option<FosChild>,
    fos_exits: mpsc::UnboundedSender<FosExit>,
    fos_wanted: bool,
}

const CANCELLED: &str = "takeover cancelled";

impl Executor {
    /// A new executor.
    pub fn new(
        cfg: ExecConfig,
        settings: Arc<Settings>,
        log: Arc<Logger>,
        syncd: Box<dyn SyncDaemon>,
        reports: mpsc::UnboundedSender<Report>,
        lvsd_pid: Arc<AtomicI32>,
        cancel: watch::Receiver<u64>,
    ) -> Executor {
        let (fos_exits, mut rx) = mpsc::unbounded_channel::<FosExit>();
        let fwd = reports.clone();
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                let _ = fwd.send(Report::FosExited(e));
            }
        });
        Executor {
            cfg,
            settings,
            log,
            syncd,
            reports,
            lvsd_pid,
            lvsd: None,
            arps: None,
            held: Vec::new(),
            cancel,
            gen: 0,
            cmds: Vec::new(),
            fos_active: None,
            fos_monitor: None,
            fos_exits,
            fos_wanted: false,
        }
    }

    /// Runs until the channel closes.
    pub async fn run(mut self, mut ops: mpsc::UnboundedReceiver<Op>) {
        while let Some(op) = ops.recv().await {
            match op {
                Op::Initial => {
                    self.run_cmd(false);
                    self.sync_backup();
                }
                Op::Takeover(gen) => self.takeover(gen).await,
                Op::Relinquish => self.relinquish().await,
                Op::HandOver(wait, watch) => self.hand_over(wait, watch).await,
                Op::Reannounce => self.reannounce(),
                Op::Reconfigure(s) => self.reconfigure(s),
                Op::Monitor(on) => self.monitor(on).await,
                Op::RestartFos => {
                    let running = self.fos_active.as_ref().is_some_and(FosChild::running);
                    if self.fos_wanted && !running {
                        if let Err(e) = self.start_fos_active() {
                            self.log.info(&e);
                        }
                    }
                }
                Op::Flush(ack) => {
                    let cmds = std::mem::take(&mut self.cmds);
                    let _ = tokio::time::timeout(Duration::from_secs(5), async {
                        for c in cmds {
                            let _ = c.await;
                        }
                    })
                    .await;
                    let _ = ack.send(());
                }
            }
        }
        // The main loop is gone: do not leave lvsd or fos behind.
        self.stop_lvsd().await;
        self.stop_fos_active().await;
        self.monitor(false).await;
    }

    fn start_fos_active(&mut self) -> Result<(), String> {
        let Some(cmd) = &self.cfg.fos else {
            return Ok(());
        };
        let child = FosChild::start(
            cmd,
            FosMode::Active,
            self.fos_exits.clone(),
            Some(self.lvsd_pid.clone()),
        )
        .map_err(|e| format!("failed to start {}: {e}", cmd.program.display()))?;
        self.fos_active = Some(child);
        Ok(())
    }

    async fn stop_fos_active(&mut self) {
        if let Some(c) = self.fos_active.take() {
            if !c.stop(crate::fos::ACTIVE_STOP_TIMEOUT).await {
                self.log
                    .info("fos --active did not finish its stop_cmds in time: killed");
            }
        }
    }

    async fn monitor(&mut self, on: bool) {
        let running = self.fos_monitor.as_ref().is_some_and(FosChild::running);
        match (on, &self.cfg.fos) {
            (true, Some(cmd)) if !running && !self.cfg.test_start => {
                match FosChild::start(cmd, FosMode::Monitor, self.fos_exits.clone(), None) {
                    Ok(c) => self.fos_monitor = Some(c),
                    Err(e) => self
                        .log
                        .info(&format!("failed to start {}: {e}", cmd.program.display())),
                }
            }
            (false, _) => {
                if let Some(c) = self.fos_monitor.take() {
                    c.stop(Duration::from_secs(10)).await;
                }
            }
            _ => {}
        }
    }

    /// Takeover with `service = fos`: addresses first (a service may bind
    /// its address), then `fos --active`, then the gratuitous ARPs.
    async fn takeover_fos(&mut self) {
        self.fos_wanted = true;
        self.run_cmd(true);
        self.monitor(false).await;
        self.sync_master();
        self.addresses_up();
        if !self.cfg.test_start {
            if let Err(e) = self.start_fos_active() {
                let _ = self.reports.send(Report::TakeoverFailed(e));
                return;
            }
        }
        self.start_arps(self.held.clone(), self.cfg.arp_rounds);
    }

    fn run_cmd(&mut self, active: bool) {
        let (cmd, what) = if active {
            (&self.settings.active_cmd, "active_cmd")
        } else {
            (&self.settings.inactive_cmd, "inactive_cmd")
        };
        let Some(cmd) = cmd else { return };
        self.log
            .debug(&format!("DEBUG -- Executing '{}'", cmd.text));
        match exec::spawn_command(cmd) {
            Ok(mut child) => {
                self.cmds.retain(|c| !c.is_finished());
                self.cmds.push(tokio::spawn(async move {
                    let _ = child.wait().await;
                }));
            }
            Err(e) => self
                .log
                .warn(&format!("{what} '{}' not run: {e}", cmd.text)),
        }
    }

    fn sync_master(&mut self) {
        if self.settings.syncdaemon {
            let (i, id) = (self.settings.syncd_iface.clone(), self.settings.syncd_id);
            if let Err(e) = self.syncd.become_master(&i, id) {
                self.log.info(&format!("sync daemon: {e}"));
            }
        }
    }

    fn sync_backup(&mut self) {
        if self.settings.syncdaemon {
            let (i, id) = (self.settings.syncd_iface.clone(), self.settings.syncd_id);
            if let Err(e) = self.syncd.become_backup(&i, id) {
                self.log.info(&format!("sync daemon: {e}"));
            }
        }
    }

    async fn start_lvsd(&mut self) -> Result<(), String> {
        let mut l = exec::start_lvsd(
            &self.cfg.lvsd,
            &self.cfg.config,
            self.cfg.nodaemon,
            self.cfg.verbose,
            self.cfg.syslog,
        )
        .map_err(|e| format!("failed to start {}: {e}", self.cfg.lvsd.display()))?;
        let pid = l.child.id().map(|p| p as i32).unwrap_or(0);
        let stopping = Arc::new(AtomicBool::new(false));
        let (tx, rx) = watch::channel(false);
        let mut child = l.child;
        let reports = self.reports.clone();
        let flag = stopping.clone();
        let pid_slot = self.lvsd_pid.clone();
        pid_slot.store(pid, Ordering::SeqCst);
        tokio::spawn(async move {
            let status = child.wait().await;
            pid_slot.store(0, Ordering::SeqCst);
            if !flag.load(Ordering::SeqCst) {
                let line = match &status {
                    Ok(st) => exec::exit_line(pid as u32, st),
                    Err(e) => format!("Child process {pid} could not be waited for: {e}"),
                };
                let _ = reports.send(Report::ChildExited(line));
            }
            let _ = tx.send(true);
        });
        self.lvsd = Some(LvsdHandle {
            pid,
            stopping,
            exited: rx,
        });
        let mut cancel = self.cancel.clone();
        let gen = self.gen;
        tokio::select! {
            r = exec::wait_ready(&mut l.ready, self.cfg.ready_timeout) => r,
            _ = cancel.wait_for(|g| *g != gen) => Err(CANCELLED.to_string()),
        }
    }

    async fn stop_lvsd(&mut self) {
        let Some(mut h) = self.lvsd.take() else {
            return;
        };
        h.stopping.store(true, Ordering::SeqCst);
        if *h.exited.borrow() {
            return;
        }
        exec::signal(h.pid, libc::SIGTERM);
        let waited = tokio::time::timeout(Duration::from_secs(10), h.exited.wait_for(|e| *e))
            .await
            .is_ok();
        if !waited {
            self.log
                .info(&format!("lvsd (pid {}) ignored SIGTERM: killing it", h.pid));
            exec::signal(h.pid, libc::SIGKILL);
            let _ = tokio::time::timeout(Duration::from_secs(5), h.exited.wait_for(|e| *e)).await;
        }
    }

    async fn takeover(&mut self, gen: u64) {
        if *self.cancel.borrow() != gen {
            // Relinquished before we got here: nothing to do.
            return;
        }
        self.gen = gen;
        if self.cfg.fos.is_some() {
            return self.takeover_fos().await;
        }
        self.run_cmd(true);
        if !self.cfg.test_start {
            if let Err(e) = self.start_lvsd().await {
                // Do not report our own kill as a child death.
                self.stop_lvsd().await;
                if e != CANCELLED {
                    let _ = self.reports.send(Report::TakeoverFailed(e));
                }
                return;
            }
        }
        if *self.cancel.borrow() != gen {
            return;
        }
        self.sync_master();
        self.addresses_up();
        self.start_arps(self.held.clone(), self.cfg.arp_rounds);
    }

    fn addresses_up(&mut self) {
        for vip in self.settings.floating() {
            match add_vip(&vip) {
                Ok(()) => {
                    self.log.debug(&format!(
                        "DEBUG -- added {}/{} on {}",
                        vip.addr, vip.prefix, vip.device
                    ));
                    if !self.held.contains(&vip) {
                        self.held.push(vip);
                    }
                }
                Err(e) => self.log.info(&format!(
                    "failed to add {} on {}: {e}",
                    vip.addr, vip.device
                )),
            }
        }
    }

    fn start_arps(&mut self, vips: Vec<Vip>, rounds: u32) {
        if let Some(t) = self.arps.take() {
            t.abort();
        }
        let log = self.log.clone();
        let pause = self.cfg.arp_interval;
        let done = if self.cfg.fos.is_some() {
            "gratuitous fos arps finished"
        } else {
            "gratuitous lvs arps finished"
        };
        self.arps = Some(tokio::spawn(async move {
            let mut warned = false;
            for _ in 0..rounds {
                for vip in &vips {
                    if let Err(e) = announce(vip) {
                        if !warned {
                            log.info(&format!(
                                "gratuitous ARP for {} on {} failed: {e}",
                                vip.addr, vip.base
                            ));
                            warned = true;
                        }
                    }
                }
                tokio::time::sleep(pause).await;
            }
            log.info(done);
        }));
    }

    async fn hand_over(&mut self, wait: Duration, watch: Option<crate::handover::ArpWatch>) {
        let v4: Vec<std::net::Ipv4Addr> = self
            .held
            .iter()
            .filter_map(|v| match v.addr {
                std::net::IpAddr::V4(a) => Some(a),
                std::net::IpAddr::V6(_) => None,
            })
            .collect();
        if !v4.is_empty() {
            let started = std::time::Instant::now();
            let seen = tokio::task::spawn_blocking(move || match watch {
                Some(w) => w.wait_announce(&v4, wait),
                None => crate::handover::wait_announce(&v4, wait),
            })
            .await
            .unwrap_or(false);
            let ms = started.elapsed().as_millis();
            self.log.info(&if seen {
                format!("partner announced the VIPs after {ms} ms: relinquishing")
            } else {
                format!("partner did not announce the VIPs within {ms} ms: relinquishing")
            });
        }
        self.relinquish().await;
    }

    async fn relinquish(&mut self) {
        if let Some(t) = self.arps.take() {
            t.abort();
        }
        self.run_cmd(false);
        // FOS: the stop_cmds run while the addresses are still up.
        self.fos_wanted = false;
        self.stop_fos_active().await;
        // The VIPs go first: while they are up without lvsd's table (the
        // kernel drops IPVS's hooks with the last service), every packet of
        // an established connection reaches the local stack and is answered
        // with a reset, which the partner's synchronised copy of the
        // connection cannot undo.
        for vip in std::mem::take(&mut self.held) {
            if let Err(e) = del_vip(&vip) {
                self.log.info(&format!(
                    "failed to remove {} from {}: {e}",
                    vip.addr, vip.device
                ));
            }
        }
        self.sync_backup();
        self.stop_lvsd().await;
    }

    fn reannounce(&mut self) {
        self.run_cmd(true);
        self.addresses_up();
        // The clients already had our MAC before the partner's takeover
        // poisoned it: two rounds repair them (one may be lost) without
        // the five of a takeover, so a dual-active episode costs 7 rounds
        // per VIP instead of 10 (FLT-P04: no ARP war).
        self.start_arps(
            self.held.clone(),
            self.cfg.arp_rounds.min(REANNOUNCE_ROUNDS),
        );
    }

    fn reconfigure(&mut self, s: Arc<Settings>) {
        self.settings = s;
        if self.held.is_empty() && self.lvsd.is_none() {
            return;
        }
        let wanted = self.settings.floating();
        let (keep, drop): (Vec<Vip>, Vec<Vip>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|v| wanted.contains(v));
        for vip in drop {
            if let Err(e) = del_vip(&vip) {
                self.log.info(&format!(
                    "failed to remove {} from {}: {e}",
                    vip.addr, vip.device
                ));
            }
        }
        self.held = keep;
        let before = self.held.clone();
        self.addresses_up();
        let new: Vec<Vip> = self
            .held
            .iter()
            .filter(|v| !before.contains(v))
            .cloned()
            .collect();
        if !new.is_empty() {
            self.start_arps(new, self.cfg.arp_rounds);
        }
    }
}

fn spec_of(vip: &Vip) -> std::io::Result<AddrSpec> {
    let index = send_arp::ifindex(&vip.base)?;
    Ok(AddrSpec {
        index,
        addr: vip.addr,
        prefix: vip.prefix,
        label: vip.label(),
    })
}

/// Adds one floating address.
pub fn add_vip(vip: &Vip) -> std::io::Result<()> {
    netlink::add_address(&spec_of(vip)?)
}

/// Removes one floating address.
pub fn del_vip(vip: &Vip) -> std::io::Result<()> {
    netlink::del_address(&spec_of(vip)?)
}

/// One round for one address: ARP request + reply, or an unsolicited NA.
pub fn announce(vip: &Vip) -> std::io::Result<()> {
    let mac = send_arp::interface_mac(&vip.base)?;
    let s = send_arp::Sender::open(&vip.base)?;
    match vip.addr {
        IpAddr::V4(a) => s.announce_v4(a, mac),
        IpAddr::V6(a) => s.announce_v6(a, mac),
    }
}
