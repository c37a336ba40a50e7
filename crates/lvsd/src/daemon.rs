//! The running daemon: start, the main loop, nanny supervision.
//!
//! One thread (a current-thread tokio runtime) owns all state. Everything
//! that changes the table goes through [`Reconciler::reconcile`]
//! (`reconcile.rs`); SIGHUP is `reload.rs`; the status socket is
//! `status_server.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ipvs::Ipvs;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::backoff::Backoff;
use crate::cli::Cli;
use crate::health::Applied;
use crate::jobs;
use crate::load::{load_running, RunningText};
use crate::nannyproc::{self, NannyChild, NannyEvent};
use crate::plan::Scope;
use crate::process::{keep_freed_memory, pid_file, ReadyFd};
use crate::reconcile::Reconciler;
use crate::reload::Reloader;
use crate::status_server::{self, StatusRequest};
use crate::{debug, error, info, warn};

/// One nanny process and the group of virtual servers it watches (see
/// [`crate::group`]). Slots have numeric ids that outlive reloads: a group
/// that keeps its slot keeps its nanny.
struct Slot {
    /// The job as last sent (without kernel weights). Compared as data, not
    /// as its JSON line: serializing every job at each reload is what
    /// would cost time.
    job: nanny::protocol::Job,
    /// Virtual names the job watches.
    watched: Vec<String>,
    child: Option<NannyChild>,
    gen: u64,
    backoff: Backoff,
    restart_at: Option<Instant>,
}

/// The daemon's state.
pub struct Daemon {
    cli: Cli,
    rec: Reconciler,
    reloader: Reloader,
    slots: BTreeMap<u64, Slot>,
    next_slot: u64,
    next_gen: u64,
    nanny_tx: mpsc::UnboundedSender<NannyEvent>,
    ready_pending: Option<Instant>,
    ready_fd: Option<ReadyFd>,
    exit: Option<i32>,
}

impl Daemon {
    /// Stops nannies and removes the owned services.
    fn shutdown(&mut self) {
        for (_, slot) in std::mem::take(&mut self.slots) {
            if let Some(c) = slot.child {
                c.stop();
            }
        }
        self.rec.shutdown();
    }

    fn reload(&mut self) {
        if let Some(done) = self.reloader.reload(&mut self.rec) {
            if done.regroup() {
                self.sync_nannies();
            }
            done.finish(self.rec.steps());
        }
    }

    fn spawn_nanny(&mut self, id: u64) {
        let gen = self.next_gen;
        self.next_gen += 1;
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        let name = slot.watched.join(",");
        let line =
            jobs::with_kernel_weights(&slot.job, self.rec.config(), self.rec.model()).to_line();
        match nannyproc::spawn(
            &self.cli.nanny,
            nannyproc::Logging {
                verbose: self.cli.verbose,
                syslog: self.cli.syslog,
                forward_stderr: self.cli.daemon(),
            },
            id,
            gen,
            &line,
            self.nanny_tx.clone(),
        ) {
            Ok(child) => {
                for v in &slot.watched {
                    for s in slot
                        .job
                        .virtuals
                        .iter()
                        .filter(|c| c.name == *v)
                        .flat_map(|c| &c.servers)
                    {
                        info!(
                            "create_monitor for {v}/{} running as pid {}",
                            s.name, child.pid
                        );
                    }
                }
                slot.gen = gen;
                slot.child = Some(child);
                slot.backoff.started(Instant::now());
                slot.restart_at = None;
            }
            Err(e) => {
                error!(
                    "cannot start nanny {} for {name}: {e}",
                    self.cli.nanny.display()
                );
                slot.gen = gen;
                slot.child = None;
                self.nanny_died(id, gen, format!("did not start: {e}"));
            }
        }
    }

    /// Brings nanny processes in line with the configuration: one per
    /// group of virtual servers ([`crate::group`]). A group that keeps its
    /// slot keeps its process and gets a new job line only if its checks
    /// changed; slots no group keeps are stopped; new groups get a nanny.
    fn sync_nannies(&mut self) {
        if !self.rec.monitoring() {
            return;
        }
        let groups = crate::group::groups(self.rec.config());
        let old: Vec<(u64, BTreeSet<String>)> = self
            .slots
            .iter()
            .map(|(id, s)| (*id, s.watched.iter().cloned().collect()))
            .collect();
        let new: Vec<BTreeSet<String>> = groups
            .iter()
            .map(|g| g.virtuals.iter().cloned().collect())
            .collect();
        let assigned = crate::group::assign(&old, &new);
        let kept: BTreeSet<u64> = assigned.iter().flatten().copied().collect();
        let gone: Vec<u64> = old
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| !kept.contains(id))
            .collect();
        for id in gone {
            if let Some(slot) = self.slots.remove(&id) {
                if let Some(c) = slot.child {
                    debug!(
                        "stopping nanny of {} (pid {})",
                        slot.watched.join(","),
                        c.pid
                    );
                    c.stop();
                }
            }
        }
        for (group, slot_id) in groups.into_iter().zip(assigned) {
            match slot_id.and_then(|id| self.slots.get_mut(&id).map(|s| (id, s))) {
                Some((_, slot)) => {
                    if slot.watched != group.virtuals {
                        match &slot.child {
                            Some(c) => debug!(
                                "nanny pid {} now watches {} (was {})",
                                c.pid,
                                group.virtuals.join(","),
                                slot.watched.join(",")
                            ),
                            None => debug!(
                                "nanny slot of {} now watches {}",
                                slot.watched.join(","),
                                group.virtuals.join(",")
                            ),
                        }
                        slot.watched = group.virtuals;
                    }
                    if slot.job != group.job {
                        slot.job = group.job;
                        if let Some(c) = &slot.child {
                            c.send_job(
                                &jobs::with_kernel_weights(
                                    &slot.job,
                                    self.rec.config(),
                                    self.rec.model(),
                                )
                                .to_line(),
                            );
                        }
                    }
                }
                None => {
                    let id = self.next_slot;
                    self.next_slot += 1;
                    self.slots.insert(
                        id,
                        Slot {
                            job: group.job,
                            watched: group.virtuals,
                            child: None,
                            gen: 0,
                            backoff: Backoff::new(),
                            restart_at: None,
                        },
                    );
                    self.spawn_nanny(id);
                }
            }
        }
    }

    /// A nanny ended. Its group's rule (see [`crate::group`]): with
    /// `hard_shutdown` lvsd removes all its services and exits, whichever
    /// group it was; otherwise the nanny is restarted with backoff and the
    /// table is kept.
    fn nanny_died(&mut self, id: u64, gen: u64, status: String) {
        if self.exit.is_some() {
            return;
        }
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        if slot.gen != gen {
            return;
        }
        slot.child = None;
        // Piranha's "nanny for child VIRTUAL/SERVER died", one VIRTUAL/SERVERS
        // per virtual server of the group.
        let who = slot
            .job
            .virtuals
            .iter()
            .map(|v| {
                let servers: Vec<&str> = v.servers.iter().map(|s| s.name.as_str()).collect();
                format!("{}/{}", v.name, servers.join(","))
            })
            .collect::<Vec<_>>()
            .join(" ");
        if self.rec.config().hard_shutdown {
            error!("nanny for child {who} died ({status})! shutting down lvs");
            self.shutdown();
            self.exit = Some(1);
            return;
        }
        let at = slot.backoff.died(Instant::now());
        let secs = at.saturating_duration_since(Instant::now()).as_secs_f64();
        warn!("nanny for child {who} died ({status})! restarting it in {secs:.0} s");
        slot.restart_at = Some(at);
    }

    fn next_restart(&self) -> Option<Instant> {
        self.slots.values().filter_map(|s| s.restart_at).min()
    }

    fn restart_due(&mut self) {
        let now = Instant::now();
        let due: Vec<u64> = self
            .slots
            .iter()
            .filter(|(_, s)| s.restart_at.is_some_and(|t| t <= now))
            .map(|(k, _)| *k)
            .collect();
        for id in due {
            if let Some(slot) = self.slots.get_mut(&id) {
                slot.restart_at = None;
            }
            self.spawn_nanny(id);
        }
    }

    /// Handles one nanny event; true when the table may need a change.
    fn nanny_event(&mut self, ev: NannyEvent) -> bool {
        match ev {
            NannyEvent::Exited { slot, gen, status } => {
                self.nanny_died(slot, gen, status);
                false
            }
            NannyEvent::Line { slot, gen, report } => {
                let Some(s) = self.slots.get(&slot) else {
                    return false;
                };
                if s.gen != gen {
                    return false;
                }
                let report = match report {
                    Ok(r) => r,
                    Err(e) => {
                        warn!("{e}");
                        return false;
                    }
                };
                let watched = s.watched.clone();
                match self.rec.apply_report(&report, &watched) {
                    Applied::Changed { id, before, now } => {
                        debug!(
                            "nanny: {}/{} ({}:{}) {:?} -> {:?}",
                            id.virtual_name, id.server, id.addr, id.port, before, now
                        );
                        true
                    }
                    Applied::Unchanged => false,
                    Applied::InitialRoundDone(v) => {
                        for n in &v {
                            debug!("first round of checks of {n} done");
                        }
                        !v.is_empty()
                    }
                    Applied::Ignored(why) => {
                        debug!("ignored nanny line: {why}");
                        false
                    }
                }
            }
        }
    }

    fn all_initial_done(&self) -> bool {
        self.slots
            .values()
            .flat_map(|s| s.watched.iter())
            .all(|v| self.rec.health().initial_done(v))
    }

    fn maybe_ready(&mut self, force: bool) {
        let Some(_) = self.ready_pending else { return };
        if !force && !self.all_initial_done() {
            return;
        }
        if force {
            let names: Vec<String> = self
                .slots
                .values()
                .flat_map(|s| s.watched.clone())
                .collect();
            let mut late = Vec::new();
            for n in names {
                if !self.rec.health().initial_done(&n) {
                    late.push(n.clone());
                    self.rec.health_mut().set_initial_done(&n);
                }
            }
            if !late.is_empty() {
                warn!(
                    "first round of checks not finished in time for: {}",
                    late.join(", ")
                );
                self.rec.reconcile(Scope::All);
            }
        }
        self.ready_pending = None;
        info!(
            "IPVS table built: {} services, {} real servers",
            self.rec.model().services.len(),
            self.rec.model().dest_count()
        );
        if let Some(fd) = self.ready_fd.take() {
            fd.signal();
        }
    }
}

/// Runs the daemon; returns the exit status.
pub fn run(cli: Cli) -> i32 {
    // First: before lvsd opens anything, the number can only be inherited.
    let ready_fd = cli.ready_fd.map(ReadyFd::adopt);
    keep_freed_memory();
    let (config, running_text) = match load_running(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lvs: {e}");
            return 1;
        }
    };
    let ipvs = match Ipvs::connect() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("lvs: {e}");
            return 1;
        }
    };
    if cli.daemon() && !cli.nofork {
        if let Err(e) = daemon_kit::process::daemonize() {
            eprintln!("lvs: cannot daemonize: {e}");
            return 1;
        }
    }
    crate::log::init(cli.daemon() || cli.syslog, cli.verbose);
    // Removed when lvsd ends, if it still names lvsd.
    let _pidfile = pid_file(&cli);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return 1;
        }
    };
    let socket_path = cli.status_socket.clone();
    let code = rt.block_on(main_loop(cli, config, running_text, ipvs, ready_fd));
    status_server::remove(&socket_path);
    code
}

async fn main_loop(
    cli: Cli,
    config: lvscf_parser::Config,
    running_text: Option<RunningText>,
    ipvs: Ipvs,
    ready_fd: Option<ReadyFd>,
) -> i32 {
    let (nanny_tx, mut nanny_rx) = mpsc::unbounded_channel();
    let (status_tx, mut status_rx) = mpsc::channel::<StatusRequest>(16);
    let mut signals = Vec::new();
    for kind in [
        SignalKind::hangup(),
        SignalKind::terminate(),
        SignalKind::interrupt(),
    ] {
        match signal(kind) {
            Ok(s) => signals.push(s),
            Err(e) => {
                error!("cannot handle signals: {e}");
                return 1;
            }
        }
    }
    let [mut sighup, mut sigterm, mut sigint]: [tokio::signal::unix::Signal; 3] =
        match signals.try_into() {
            Ok(a) => a,
            Err(_) => return 1,
        };
    let monitor = if cli.no_monitor {
        false
    } else if !cli.nanny.exists() {
        warn!(
            "nanny not found at {}; running without health checks (every active real server is up)",
            cli.nanny.display()
        );
        false
    } else {
        true
    };
    let mut d = Daemon {
        reloader: Reloader::new(&cli.config, running_text),
        rec: Reconciler::new(config, ipvs, monitor),
        cli,
        slots: BTreeMap::new(),
        next_slot: 1,
        next_gen: 1,
        nanny_tx,
        ready_pending: None,
        ready_fd,
        exit: None,
    };
    if let Some(l) = status_server::bind(&d.cli.status_socket) {
        tokio::spawn(status_server::serve(l, status_tx));
    }
    // Start: timeouts, the table (reconciled, not flushed), then nannies.
    d.rec.timeouts();
    for v in d.rec.config().active_virtuals() {
        info!("starting virtual service {} active: {}", v.name, v.port);
    }
    if !d.rec.refresh(true) {
        return 1;
    }
    let n = d.rec.reconcile(Scope::All);
    debug!("initial reconcile: {n} operation(s)");
    d.sync_nannies();
    let wait = d
        .rec
        .config()
        .active_virtuals()
        .map(|v| v.timeout)
        .max()
        .unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(u64::from(wait) + 1);
    d.ready_pending = Some(deadline);
    d.maybe_ready(!d.rec.monitoring());

    let resync_every = d.cli.resync;
    let mut resync = tokio::time::interval(Duration::from_secs(resync_every.max(1)));
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    resync.tick().await;
    let far = || tokio::time::Instant::now() + Duration::from_secs(86_400);

    loop {
        if let Some(code) = d.exit {
            return code;
        }
        let restart_at = d
            .next_restart()
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(far);
        let ready_at = d
            .ready_pending
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(far);
        tokio::select! {
            Some(ev) = nanny_rx.recv() => {
                let mut dirty = d.nanny_event(ev);
                // Batch what else is already queued.
                while let Ok(ev) = nanny_rx.try_recv() {
                    dirty |= d.nanny_event(ev);
                    if d.exit.is_some() { break; }
                }
                if d.exit.is_none() {
                    if dirty {
                        d.rec.reconcile(Scope::All);
                    }
                    d.maybe_ready(false);
                }
            }
            _ = sighup.recv() => d.reload(),
            _ = sigterm.recv() => {
                info!("shutting down due to signal {}", libc::SIGTERM);
                d.shutdown();
                return 0;
            }
            _ = sigint.recv() => {
                info!("shutting down due to signal {}", libc::SIGINT);
                d.shutdown();
                return 0;
            }
            _ = resync.tick(), if resync_every > 0 => d.rec.resync(),
            _ = tokio::time::sleep_until(restart_at) => d.restart_due(),
            _ = tokio::time::sleep_until(ready_at) => d.maybe_ready(true),
            Some(req) = status_rx.recv() => {
                let a = d.rec.status_line();
                let _ = req.reply.send(a);
            }
        }
    }
}
