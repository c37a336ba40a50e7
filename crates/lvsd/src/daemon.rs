//! The running daemon: start-up and the main loop, which turns signals,
//! timers, nanny events and status requests into calls of the parts that
//! decide: [`Reconciler`] (the table), [`Supervisor`] (the nannies, pure,
//! its actions performed here through [`Effects`]), [`Reloader`] (SIGHUP)
//! and [`Readiness`].
//!
//! One thread (a current-thread tokio runtime) owns all state, so nothing
//! is shared or locked. Reading the kernel: a full dump at start, every
//! `--resync` seconds (default 30), for the status socket, and after a
//! batch that failed in transport; on SIGHUP only the service list (see
//! `reload.rs`). A destination edited by hand inside an unchanged service
//! is repaired by the periodic resync. nanny reports never read the
//! kernel: they only change the desired table.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use daemon_kit::log::Level;
use ipvs::Ipvs;
use lvscf_parser::Config;
use nanny::protocol::{Job, Report};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;

use crate::cli::Cli;
use crate::deactivate::Finished;
use crate::health::Applied;
use crate::load::{load_running, RunningText};
use crate::nannyproc::{Logging, Nannies, NannyEvent};
use crate::plan::Scope;
use crate::process::{keep_freed_memory, pid_file, ReadyFd};
use crate::ready::{Readiness, Verdict};
use crate::reconcile::Reconciler;
use crate::reload::Reloader;
use crate::status_server::{self, Ask};
use crate::supervisor::{self, Effects, Event, Gen, Reason, SlotId, Supervisor};
use crate::{debug, error, info, warn};

/// What the supervisor's actions act on.
struct World {
    rec: Reconciler,
    nannies: Nannies,
    /// Times the supervisor asked to be woken at (restarts).
    restarts: BinaryHeap<Reverse<Instant>>,
    exit: Option<i32>,
    /// Shut down without removing the services: pulse is gone and its VIPs
    /// may still be up (see [`crate::process::pulse_is_gone`]).
    keep_table: bool,
}

impl World {
    /// The job line with each server's weight as programmed now, so that
    /// a (re)started nanny resumes at it instead of ramping up again.
    fn line(&self, job: &Job) -> String {
        crate::jobs::with_kernel_weights(job, self.rec.config(), self.rec.model()).to_line()
    }
}

impl Effects for World {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn spawn(&mut self, slot: SlotId, gen: Gen, job: &Job) -> std::io::Result<u32> {
        let line = self.line(job);
        self.nannies.spawn(slot, gen, &line).inspect_err(|e| {
            let names: Vec<&str> = job.virtuals.iter().map(|v| v.name.as_str()).collect();
            error!(
                "cannot start nanny {} for {}: {e}",
                self.nannies.program().display(),
                names.join(",")
            );
        })
    }

    fn send(&mut self, slot: SlotId, gen: Gen, job: &Job) {
        let line = self.line(job);
        self.nannies.send(slot, gen, &line);
    }

    fn stop(&mut self, slot: SlotId, gen: Gen) {
        self.nannies.stop(slot, gen);
    }

    fn schedule(&mut self, at: Instant) {
        self.restarts.push(Reverse(at));
    }

    fn deliver(&mut self, watched: &[String], report: Report) -> bool {
        match self.rec.apply_report(&report, watched) {
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

    fn shut_down(&mut self, reason: Reason) {
        self.nannies.stop_all();
        if !self.keep_table {
            self.rec.shutdown();
        }
        self.exit = Some(reason.exit_code());
    }

    fn log(&mut self, level: Level, line: &str) {
        crate::log::log(level, line);
    }
}

/// The daemon's state.
struct Daemon {
    cli: Cli,
    sup: Supervisor,
    world: World,
    reloader: Reloader,
    ready: Readiness,
    ready_fd: Option<ReadyFd>,
}

impl Daemon {
    fn drive(&mut self, event: Event) -> bool {
        supervisor::drive(&mut self.sup, event, &mut self.world)
    }

    /// The nannies for the running configuration's groups.
    fn regroup(&mut self) {
        if !self.world.rec.monitoring() {
            return;
        }
        let config = self.world.rec.config();
        let event = Event::ReloadGroups {
            groups: crate::group::groups(config),
            hard_shutdown: config.hard_shutdown,
        };
        self.drive(event);
    }

    fn reload(&mut self) {
        if let Some(done) = self.reloader.reload(&mut self.world.rec) {
            if done.regroup() {
                self.regroup();
            }
            done.finish(self.world.rec.steps());
        }
    }

    /// A `drain` request: begins or ends the drain, reconciles, and says
    /// where the server stands.
    fn drain(&mut self, req: &lvs_status::DrainRequest) -> lvs_status::DrainResult {
        let (v, s) = (req.virtual_name.as_str(), req.server.as_str());
        let rec = &mut self.world.rec;
        if req.cancel {
            if !rec.drains_mut().cancel(v, s) {
                return lvs_status::DrainResult::failed(format!(
                    "virtual {v}: server {s} is not draining"
                ));
            }
            info!("virtual {v}: drain of server {s} cancelled: back at its weight");
        } else {
            if let Err(e) = rec.start_drain(v, s, Instant::now()) {
                return lvs_status::DrainResult::failed(e.to_string());
            }
        }
        rec.reconcile(Scope::All);
        let (active, inactive) = match rec.live_status() {
            Ok(st) => crate::drain::connections(&st, v, s),
            Err(e) => return lvs_status::DrainResult::failed(e.to_string()),
        };
        if !req.cancel {
            info!(
                "virtual {v}: draining server {s}: weight 0, {active} active and {inactive} inactive connection(s) left; deactivated in lvs.cf when no active one is left"
            );
        }
        lvs_status::DrainResult {
            ok: true,
            error: None,
            draining: !req.cancel,
            active_conns: active,
            inactive_conns: inactive,
        }
    }

    /// The drains whose server has no active connection left: each is
    /// deactivated in lvs.cf off the loop ([`crate::deactivate::finish`]).
    fn drains_due(&mut self, finished: &mpsc::UnboundedSender<Finished>) {
        let live = match self.world.rec.live_status() {
            Ok(l) => l,
            Err(e) => {
                debug!("drain: {e}");
                return;
            }
        };
        for key in self.world.rec.drains().finished(&live) {
            self.world.rec.drains_mut().mark_deactivated(&key);
            info!(
                "virtual {}: server {} drained: no active connection left; setting active = 0 in {}",
                key.0,
                key.1,
                self.cli.config.display()
            );
            let tx = finished.clone();
            let (config, pulse) = (self.cli.config.clone(), self.cli.pulse_socket.clone());
            tokio::spawn(async move {
                let _ = tx.send(crate::deactivate::finish(config, pulse, key).await);
            });
        }
    }

    /// What became of a finished drain's edit of lvs.cf.
    fn drain_finished(&mut self, f: Finished) {
        match f {
            Finished::Reloaded((v, s)) => {
                debug!("virtual {v}: server {s} deactivated; pulse reloaded")
            }
            Finished::ReloadHere((v, s), why) => {
                info!("virtual {v}: server {s} deactivated in lvs.cf; reloading here (pulse: {why})");
                self.reload();
            }
            Finished::Failed((v, s), why) => error!(
                "virtual {v}: server {s} drained but not deactivated: {why}; it stays at weight 0 (`lvscf drain --cancel` ends the drain)"
            ),
        }
    }

    /// One event of a nanny's; true when the table may need a change.
    fn nanny_event(&mut self, ev: NannyEvent) -> bool {
        let event = match ev {
            NannyEvent::Exited { slot, gen, status } => {
                self.world.nannies.ended(slot, gen);
                Event::Exited { slot, gen, status }
            }
            NannyEvent::Line { slot, gen, report } => Event::Report { slot, gen, report },
        };
        self.drive(event)
    }

    /// Restarts that are due.
    fn restarts_due(&mut self) {
        let now = Instant::now();
        let mut due = false;
        while self.world.restarts.peek().is_some_and(|r| r.0 <= now) {
            self.world.restarts.pop();
            due = true;
        }
        if due {
            self.drive(Event::TimerFired);
        }
    }

    fn maybe_ready(&mut self) {
        let health = self.world.rec.health();
        let all_done = self.sup.watched().all(|v| health.initial_done(v));
        match self
            .ready
            .check(Instant::now(), all_done, self.sup.is_stopped())
        {
            Verdict::Wait => return,
            Verdict::Ready => {}
            Verdict::Overdue => {
                let late: Vec<String> = self
                    .sup
                    .watched()
                    .filter(|v| !health.initial_done(v))
                    .map(str::to_string)
                    .collect();
                for n in &late {
                    self.world.rec.health_mut().set_initial_done(n);
                }
                if !late.is_empty() {
                    warn!(
                        "first round of checks not finished in time for: {}",
                        late.join(", ")
                    );
                    self.world.rec.reconcile(Scope::All);
                }
            }
        }
        let model = self.world.rec.model();
        info!(
            "IPVS table built: {} services, {} real servers",
            model.services.len(),
            model.dest_count()
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
    // Until the loop's handlers exist, a SIGHUP or SIGTERM would end lvsd
    // by its default action (a reload right after a start killed it): they
    // wait instead.
    if let Err(e) = daemon_kit::signals::hold() {
        eprintln!("lvs: cannot hold signals during start-up: {e}");
    }
    if ready_fd.is_some() {
        // Started by pulse: remember which (see `pulse_is_gone`).
        crate::process::remember_pulse();
    }
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

fn signals() -> Result<[Signal; 3], std::io::Error> {
    Ok([
        signal(SignalKind::hangup())?,
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
    ])
}

async fn main_loop(
    cli: Cli,
    config: Config,
    running_text: Option<RunningText>,
    ipvs: Ipvs,
    ready_fd: Option<ReadyFd>,
) -> i32 {
    let (nanny_tx, mut nanny_rx) = mpsc::unbounded_channel();
    let (status_tx, mut status_rx) = mpsc::channel::<Ask>(16);
    let (finished_tx, mut finished_rx) = mpsc::unbounded_channel::<Finished>();
    let [mut sighup, mut sigterm, mut sigint] = match signals() {
        Ok(s) => s,
        Err(e) => {
            error!("cannot handle signals: {e}");
            return 1;
        }
    };
    // Signals that came during start-up are handled now.
    if let Err(e) = daemon_kit::signals::release() {
        warn!("cannot release the signals held during start-up: {e}");
    }
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
    let logging = Logging {
        verbose: cli.verbose,
        syslog: cli.syslog,
        forward_stderr: cli.daemon(),
    };
    // The first round of checks may take the longest timeout.
    let wait = config
        .active_virtuals()
        .map(|v| v.timeout)
        .max()
        .unwrap_or(0);
    let mut d = Daemon {
        reloader: Reloader::new(&cli.config, running_text),
        world: World {
            rec: Reconciler::new(config, ipvs, monitor),
            nannies: Nannies::new(&cli.nanny, logging, nanny_tx),
            restarts: BinaryHeap::new(),
            exit: None,
            keep_table: false,
        },
        sup: Supervisor::new(),
        ready: Readiness::new(Instant::now()),
        ready_fd,
        cli,
    };
    if let Some(l) = status_server::bind(&d.cli.status_socket) {
        tokio::spawn(status_server::serve(l, status_tx));
    }
    // Start: timeouts, the table (reconciled, not flushed), then nannies.
    d.world.rec.timeouts();
    for v in d.world.rec.config().active_virtuals() {
        info!("starting virtual service {} active: {}", v.name, v.port);
    }
    if !d.world.rec.refresh(true) {
        return 1;
    }
    let n = d.world.rec.reconcile(Scope::All);
    debug!("initial reconcile: {n} operation(s)");
    d.regroup();
    d.ready = Readiness::new(Instant::now() + Duration::from_secs(u64::from(wait) + 1));
    d.maybe_ready();

    let resync_every = d.cli.resync;
    let mut resync = tokio::time::interval(Duration::from_secs(resync_every.max(1)));
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    resync.tick().await;
    let far = || tokio::time::Instant::now() + Duration::from_secs(86_400);
    // While a drain is in progress: its connections looked at every second.
    let mut drain_tick = tokio::time::interval(Duration::from_secs(1));
    drain_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        if let Some(code) = d.world.exit {
            return code;
        }
        let restart_at = d
            .world
            .restarts
            .peek()
            .map(|r| tokio::time::Instant::from_std(r.0))
            .unwrap_or_else(far);
        let ready_at = d
            .ready
            .deadline()
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(far);
        tokio::select! {
            Some(ev) = nanny_rx.recv() => {
                let mut dirty = d.nanny_event(ev);
                // Batch what else is already queued.
                while let Ok(ev) = nanny_rx.try_recv() {
                    dirty |= d.nanny_event(ev);
                    if d.world.exit.is_some() { break; }
                }
                if d.world.exit.is_none() {
                    if dirty {
                        d.world.rec.reconcile(Scope::All);
                    }
                    d.maybe_ready();
                }
            }
            _ = sighup.recv() => d.reload(),
            _ = sigterm.recv() => {
                if crate::process::pulse_is_gone() {
                    info!("pulse is gone: leaving the IPVS table to the next pulse");
                    d.world.keep_table = true;
                }
                d.drive(Event::Terminate(libc::SIGTERM));
            }
            _ = sigint.recv() => {
                d.drive(Event::Terminate(libc::SIGINT));
            }
            _ = resync.tick(), if resync_every > 0 => d.world.rec.resync(),
            _ = tokio::time::sleep_until(restart_at) => d.restarts_due(),
            _ = tokio::time::sleep_until(ready_at) => d.maybe_ready(),
            Some(ask) = status_rx.recv() => match ask {
                Ask::Status { reply } => {
                    let _ = reply.send(d.world.rec.status_line());
                }
                Ask::Drain { request, reply } => {
                    let _ = reply.send(d.drain(&request).line());
                }
            },
            _ = drain_tick.tick(), if !d.world.rec.drains().is_empty() => {
                d.drains_due(&finished_tx);
            }
            Some(f) = finished_rx.recv() => d.drain_finished(f),
        }
    }
}
