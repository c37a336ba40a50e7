//! The running daemon: load, reconcile, supervise, reload, shut down.
//!
//! One thread (a current-thread tokio runtime) owns all state: the
//! configuration, nanny's reports, lvsd's model of the owned part of the
//! kernel table, and the netlink socket. Everything that changes the table
//! goes through [`Daemon::reconcile`]: desired table -> diff against the
//! model -> one `ipvs::apply` batch -> model updated with what succeeded.
//! The one exception runs ahead of it on SIGHUP: an edit inside a single
//! `virtual` block is re-read alone (`lvscf_parser::BlockMap`) and that
//! service's difference against the model is sent at once, so a weight
//! change reaches the kernel without waiting for the whole file, dump and
//! table; the full reconcile that follows finds nothing left to do unless
//! the kernel was changed behind lvsd's back.
//!
//! Reading the kernel: a full dump (services, then the destinations of each
//! owned service) at start, every `--resync` seconds (default 30), for the
//! status socket, and after a batch that failed in transport. On SIGHUP
//! only the service list is dumped (one request): services that vanished
//! or changed behind lvsd's back (`ipvsadm -C`, `-D`, `-E`) are re-read
//! and repaired; destinations of unchanged services come from the model, so
//! a reload of a large table stays in milliseconds. A destination edited by
//! hand inside an unchanged service is repaired by the periodic resync.
//! nanny reports never read the kernel: they only change the model's diff.
//!
//! A SIGHUP whose lvs.cf has the same bytes as the running one (and names
//! no host, whose address may have changed) is not parsed again; the kernel
//! is still read and repaired as above. lvsd keeps the memory it frees
//! (glibc tunables set at start) so that re-reading a large file does not
//! fault in fresh pages each time. Each step of a reload is timed and
//! the breakdown logged at debug level (`reload timing: ...`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ipvs::{Ipvs, Operation, ServiceKey};
use lvscf_parser::{BlockMap, ChangedVirtual, Config, LoadError};
use tokio::net::UnixListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot};

use crate::backoff::Backoff;
use crate::cli::Cli;
use crate::desired::{
    configured_keys, desired, desired_service, forward_of, service_key, timeouts_change, Desired,
    Monitor,
};
use crate::diff::diff;
use crate::health::{Applied, Health};
use crate::ipvsadm::{format_op, format_plan};
use crate::jobs;
use crate::nannyproc::{self, NannyChild, NannyEvent};
use crate::status;
use crate::table::{service_differs, Entry, Table};
use crate::{debug, error, info, warn};

/// Loads and resolves a configuration file; the error is the log line.
pub fn load_config(path: &Path) -> Result<Config, String> {
    let bytes = read_config(path)?;
    let (mut config, _) = parse_config(path, bytes)?;
    for l in crate::resolve::resolve(&mut config) {
        info!("{l}");
    }
    Ok(config)
}

/// Reads a configuration file (bounded as the parser's loader reads it).
pub fn read_config(path: &Path) -> Result<Vec<u8>, String> {
    lvscf_parser::read_config_file(path).map_err(|error| {
        LoadError::Io {
            path: path.to_path_buf(),
            error,
        }
        .to_string()
    })
}

/// The text of the running lvs.cf, kept while it names no host (a SIGHUP
/// with the same bytes then cannot change the configuration, so it is not
/// parsed again; with host names it is, to resolve them anew).
enum RunningText {
    /// With the map of its blocks: an edit inside one `virtual` block is
    /// re-read alone.
    Blocks(BlockMap),
    /// Bytes only (a layout [`BlockMap`] does not handle).
    Bytes(Vec<u8>),
}

impl RunningText {
    fn bytes(&self) -> &[u8] {
        match self {
            RunningText::Blocks(m) => m.text(),
            RunningText::Bytes(b) => b,
        }
    }

    fn into_bytes(self) -> Vec<u8> {
        match self {
            RunningText::Blocks(m) => m.into_text(),
            RunningText::Bytes(b) => b,
        }
    }
}

/// Parses a configuration file's bytes and logs its warnings (host names
/// are left unresolved); the error is the log line. Also returns the text
/// with the map of its blocks.
fn parse_config(path: &Path, bytes: Vec<u8>) -> Result<(Config, RunningText), String> {
    let doc = lvscf_parser::Document::parse(path.display().to_string(), bytes);
    let text = match BlockMap::of(&doc) {
        Some(map) => RunningText::Blocks(map),
        None => RunningText::Bytes(doc.as_bytes().to_vec()),
    };
    let (config, warnings) = doc
        .into_config()
        .map_err(|e| format!("error parsing {}", LoadError::Invalid(e)))?;
    for w in &warnings {
        warn!(
            "{}:{}:{}: warning: {}",
            path.display(),
            w.line,
            w.column,
            w.message
        );
    }
    Ok((config, text))
}

/// Reads the owned services of the kernel table. `cache`: destinations of
/// services whose attributes did not change are taken from it instead of
/// being dumped. Returns the table and the keys of the services not owned.
pub fn read_kernel(
    ipvs: &mut Ipvs,
    owned: &BTreeSet<ServiceKey>,
    cache: Option<&Table>,
) -> Result<(Table, Vec<ServiceKey>), ipvs::Error> {
    let mut table = Table::new();
    let mut foreign = Vec::new();
    for s in ipvs.services()? {
        if !owned.contains(&s.key) {
            foreign.push(s.key);
            continue;
        }
        let key = s.key;
        let cached = cache
            .and_then(|c| c.services.get(&key))
            .filter(|e| !service_differs(&e.service, &s));
        let dests = match cached {
            Some(e) => e.dests.clone(),
            None => ipvs
                .destinations(&key)?
                .into_iter()
                .map(|d| ((d.addr, d.port), d))
                .collect(),
        };
        table.services.insert(key, Entry { service: s, dests });
    }
    Ok((table, foreign))
}

/// `lvsd --dry-run`: the plan against the live table, as ipvsadm lines.
pub fn dry_run(cli: &Cli) -> i32 {
    let config = match load_config(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lvs: {e}");
            return 1;
        }
    };
    let mut ipvs = match Ipvs::connect() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("lvs: {e}");
            return 1;
        }
    };
    let owned = configured_keys(&config);
    let (current, foreign) = match read_kernel(&mut ipvs, &owned, None) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("lvs: cannot read the IPVS table: {e}");
            return 1;
        }
    };
    for k in foreign {
        eprintln!("lvs: leaving service {k} alone: lvs.cf does not describe it");
    }
    let d = desired(&config, Monitor::AssumeUp, &current);
    for w in &d.warnings {
        eprintln!("lvs: {w}");
    }
    let mut ops = Vec::new();
    match ipvs.timeouts() {
        Ok(t) => {
            if let Some(t) = timeouts_change(&config, t) {
                ops.push(Operation::SetTimeouts(t));
            }
        }
        Err(e) => eprintln!("lvs: cannot read the IPVS timeouts: {e}"),
    }
    ops.extend(diff(&current, &d.table, |k| owned.contains(k)));
    print!("{}", format_plan(&ops));
    if ops.is_empty() {
        eprintln!(
            "lvs: the kernel table matches {}: empty plan",
            cli.config.display()
        );
    } else {
        eprintln!("lvs: {} operation(s) planned", ops.len());
    }
    0
}

/// `lvsd --test-start`: the plan that builds the table from scratch.
pub fn test_start(cli: &Cli) -> i32 {
    let config = match load_config(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lvs: {e}");
            return 1;
        }
    };
    let d = desired(&config, Monitor::AssumeUp, &Table::new());
    for w in &d.warnings {
        warn!("{w}");
    }
    for v in config.active_virtuals() {
        info!("starting virtual service {} active: {}", v.name, v.port);
    }
    for op in diff(&Table::new(), &d.table, |_| true) {
        info!("test-start: ipvsadm {}", format_op(&op));
    }
    0
}

/// Writes `ready\n` on an inherited descriptor and closes it.
fn signal_ready(fd: i32) {
    // SAFETY: F_GETFD on an arbitrary number only queries it.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        warn!("--ready-fd {fd} is not an open descriptor");
        return;
    }
    // SAFETY: the descriptor is open and was handed to us to own.
    let mut f = unsafe { File::from_raw_fd(fd) };
    if let Err(e) = f.write_all(b"ready\n") {
        warn!("cannot write to --ready-fd {fd}: {e}");
    }
}

/// A request from a status socket connection.
struct StatusRequest {
    reply: oneshot::Sender<String>,
}

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
    config: Config,
    ipvs: Ipvs,
    monitor: bool,
    health: Health,
    kernel: Table,
    kernel_stale: bool,
    owned: BTreeSet<ServiceKey>,
    foreign_logged: BTreeSet<ServiceKey>,
    warned: Vec<String>,
    slots: BTreeMap<u64, Slot>,
    next_slot: u64,
    next_gen: u64,
    nanny_tx: mpsc::UnboundedSender<NannyEvent>,
    last: Desired,
    sorry_on: BTreeMap<String, std::net::IpAddr>,
    ready_pending: Option<Instant>,
    exit: Option<i32>,
    /// The running lvs.cf's text, when it names no host.
    running_text: Option<RunningText>,
    /// Where the last reconcile spent its time.
    steps: Steps,
}

/// Time spent in each step of a reconcile (for the reload timing line).
#[derive(Debug, Default, Clone, Copy)]
struct Steps {
    desired: Duration,
    diff: Duration,
    apply: Duration,
    model: Duration,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Frees a large value (a replaced configuration or desired table) on a
/// short-lived thread: for 10,000 real servers that is tens of
/// milliseconds in a slow guest, which a reload need not wait for. Inline
/// when no thread can be started.
fn drop_later<T: Send + 'static>(value: T) {
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(value)));
    let theirs = std::sync::Arc::clone(&slot);
    let spawned = std::thread::Builder::new()
        .name("lvsd-free".into())
        .spawn(move || {
            let v = theirs.lock().map(|mut g| g.take());
            drop(v);
        });
    if spawned.is_err() {
        if let Ok(mut g) = slot.lock() {
            g.take();
        }
    }
}

impl Daemon {
    fn monitor(&self) -> Monitor<'_> {
        if self.monitor {
            Monitor::Reports(&self.health)
        } else {
            Monitor::AssumeUp
        }
    }

    fn log_foreign(&mut self, foreign: Vec<ServiceKey>) {
        for k in foreign {
            if self.foreign_logged.insert(k) {
                info!("leaving service {k} alone: lvs.cf does not describe it");
            }
        }
    }

    /// Re-reads the kernel's owned services (fully, or services only with
    /// destinations from the model).
    fn refresh(&mut self, full: bool) -> bool {
        let owned: BTreeSet<ServiceKey> = self
            .owned
            .union(&configured_keys(&self.config))
            .copied()
            .collect();
        let cache = if full || self.kernel_stale {
            None
        } else {
            Some(&self.kernel)
        };
        match read_kernel(&mut self.ipvs, &owned, cache) {
            Ok((t, foreign)) => {
                self.kernel = t;
                self.kernel_stale = false;
                self.log_foreign(foreign);
                true
            }
            Err(e) => {
                error!("cannot read the IPVS table: {e}");
                self.kernel_stale = true;
                false
            }
        }
    }

    /// Sets timeouts lvs.cf asks for, if they differ from the kernel's.
    fn timeouts(&mut self) {
        match self.ipvs.timeouts() {
            Ok(t) => {
                if let Some(t) = timeouts_change(&self.config, t) {
                    let op = Operation::SetTimeouts(t);
                    if let Err(e) = self.ipvs.execute(&op) {
                        error!(
                            "failed to set timeouts ({} {} {}): {e}",
                            self.config.tcp_timeout,
                            self.config.tcpfin_timeout,
                            self.config.udp_timeout
                        );
                    } else {
                        debug!("ipvsadm {}", format_op(&op));
                    }
                }
            }
            Err(e) => error!("cannot read the IPVS timeouts: {e}"),
        }
    }

    /// Desired table -> diff -> one batch. Returns the number of operations
    /// applied successfully.
    fn reconcile(&mut self) -> usize {
        if self.kernel_stale && !self.refresh(true) {
            return 0;
        }
        let t0 = Instant::now();
        let d = desired(&self.config, self.monitor(), &self.kernel);
        let t_desired = Instant::now();
        if d.warnings != self.warned {
            for w in &d.warnings {
                if !self.warned.contains(w) {
                    warn!("{w}");
                }
            }
            self.warned = d.warnings.clone();
        }
        let ops = diff(&self.kernel, &d.table, |_| true);
        let t_diff = Instant::now();
        let (applied, apply_time) = self.send(&ops, false);
        let t_apply = t_diff + apply_time;
        let t_model = Instant::now();
        self.steps = Steps {
            desired: t_desired - t0,
            diff: t_diff - t_desired,
            apply: t_apply - t_diff,
            model: t_model - t_apply,
        };
        self.log_sorry(&d);
        // Services we could not delete stay ours.
        let mut owned = configured_keys(&self.config);
        owned.extend(self.kernel.services.keys().copied());
        self.owned = owned;
        let old = std::mem::replace(&mut self.last, d);
        // reconcile also runs for every batch of nanny reports: a thread
        // only for a table worth it.
        if old.table.services.len() > 100 {
            drop_later(old);
        }
        applied
    }

    /// Sends one batch and updates the model with what succeeded. Returns
    /// the number of operations applied and the time the kernel took.
    /// `early`: a re-read block's batch, ahead of the full comparison,
    /// which retries what the kernel refused and logs it then.
    fn send(&mut self, ops: &[Operation], early: bool) -> (usize, Duration) {
        if ops.is_empty() {
            return (0, Duration::ZERO);
        }
        let t0 = Instant::now();
        let mut failed = Vec::new();
        for op in ops {
            debug!("ipvsadm {}", format_op(op));
        }
        if let Err(e) = self.ipvs.apply(ops) {
            for f in &e.failures {
                if early {
                    debug!("{} (retried by the full comparison)", f.error);
                } else {
                    error!("{}", f.error);
                }
                failed.push(f.index);
            }
            if let Some(t) = &e.transport {
                error!("netlink failed during a batch: {t}");
                self.kernel_stale = true;
            }
        }
        let took = t0.elapsed();
        if !self.kernel_stale {
            if let Err(e) = self.kernel.apply_all(ops, &failed) {
                debug!("model of the kernel table out of step ({e}); re-reading it");
                self.kernel_stale = true;
            }
        }
        if !failed.is_empty() {
            // What the kernel refused may have half happened (a service
            // added, its destination not): read it back next time.
            self.kernel_stale = true;
        }
        (ops.len() - failed.len(), took)
    }

    fn log_sorry(&mut self, d: &Desired) {
        let mut now = BTreeMap::new();
        for info in d.info.values() {
            if let Some(ip) = info.sorry_active {
                now.insert(info.name.clone(), ip);
            }
        }
        for (name, ip) in &now {
            if !self.sorry_on.contains_key(name) {
                info!("Virtual Server {name}: No real servers; activate sorry_server {ip}");
            }
        }
        for (name, ip) in &self.sorry_on {
            if !now.contains_key(name) {
                let n = d
                    .info
                    .values()
                    .find(|i| i.name == *name)
                    .map(|i| {
                        i.servers
                            .iter()
                            .filter(|s| s.state == crate::desired::ShownState::Up)
                            .count()
                    })
                    .unwrap_or(0);
                info!("Virtual Server {name}: {n} real servers; deactivate sorry_server {ip}");
            }
        }
        self.sorry_on = now;
    }

    fn spawn_nanny(&mut self, id: u64) {
        let gen = self.next_gen;
        self.next_gen += 1;
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        let name = slot.watched.join(",");
        let line = jobs::with_kernel_weights(&slot.job, &self.config, &self.kernel).to_line();
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
        if !self.monitor {
            return;
        }
        let groups = crate::group::groups(&self.config);
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
                                &jobs::with_kernel_weights(&slot.job, &self.config, &self.kernel)
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
        if self.config.hard_shutdown {
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
                match self.health.apply(&report, &watched, &self.config) {
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
            .all(|v| self.health.initial_done(v))
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
                if !self.health.initial_done(&n) {
                    late.push(n.clone());
                    self.health.set_initial_done(&n);
                }
            }
            if !late.is_empty() {
                warn!(
                    "first round of checks not finished in time for: {}",
                    late.join(", ")
                );
                self.reconcile();
            }
        }
        self.ready_pending = None;
        info!(
            "IPVS table built: {} services, {} real servers",
            self.kernel.services.len(),
            self.kernel.dest_count()
        );
        if let Some(fd) = self.cli.ready_fd {
            signal_ready(fd);
        }
    }

    /// SIGHUP. Every step is timed; the breakdown is logged at debug
    /// level.
    ///
    /// An edit inside one `virtual` block (the common case: a weight, a
    /// scheduler, a server added) is re-read alone ([`BlockMap`]) and its
    /// service is reconciled at once against lvsd's model of the kernel
    /// table, before anything else: the change is in the kernel after
    /// parsing a few lines and sending what differs. The rest of the reload
    /// then runs as for any other file (the kernel's service list read and
    /// repaired, the whole desired table compared, nannies regrouped), so
    /// that a table changed behind lvsd's back is still repaired by this
    /// SIGHUP.
    fn reload(&mut self) {
        let t0 = Instant::now();
        info!("rereading configuration file {}", self.cli.config.display());
        let bytes = match read_config(&self.cli.config) {
            Ok(b) => b,
            Err(e) => {
                error!("{e}; keeping the running configuration");
                return;
            }
        };
        let t_read = Instant::now();
        let unchanged = self
            .running_text
            .as_ref()
            .is_some_and(|t| t.bytes() == bytes.as_slice());
        let (mut t_parse, mut t_resolve) = (t_read, t_read);
        let mut early = None;
        if unchanged {
            // Same bytes, no host names: the same configuration. The kernel
            // is still read and repaired below (an `ipvsadm -C` behind our
            // back is fixed by this SIGHUP).
            debug!("lvs.cf unchanged since it was loaded: not parsed again");
        } else {
            let whole = match self.running_text.as_mut() {
                Some(RunningText::Blocks(map)) => {
                    match map.reparse(&self.cli.config.display().to_string(), &self.config, bytes) {
                        Ok(changed) => {
                            t_parse = Instant::now();
                            t_resolve = t_parse;
                            match self.apply_one_virtual(changed, t0) {
                                Ok(n) => {
                                    early = Some(n);
                                    None
                                }
                                Err(text) => Some(text),
                            }
                        }
                        Err(bytes) => Some(bytes),
                    }
                }
                _ => Some(bytes),
            };
            if let Some(bytes) = whole {
                let (mut config, text) = match parse_config(&self.cli.config, bytes) {
                    Ok(c) => c,
                    Err(e) => {
                        error!("{e}; keeping the running configuration");
                        return;
                    }
                };
                t_parse = Instant::now();
                let names = !crate::resolve::names(&config).is_empty();
                for l in crate::resolve::resolve(&mut config) {
                    info!("{l}");
                }
                t_resolve = Instant::now();
                self.log_virtual_changes(&config);
                drop_later(std::mem::replace(&mut self.config, config));
                self.running_text = (!names).then_some(text);
            }
            self.health.retain_configured(&self.config);
        }
        let t_config = Instant::now();
        self.refresh(false);
        let t_dump = Instant::now();
        self.timeouts();
        let t_timeouts = Instant::now();
        let n = self.reconcile();
        let t_reconcile = Instant::now();
        if !unchanged {
            // The groups and jobs depend on the configuration only.
            self.sync_nannies();
        }
        let t_end = Instant::now();
        let st = self.steps;
        debug!(
            "reload timing: read {:.1} ms, parse {:.1} ms, resolve {:.1} ms, config swap {:.1} ms, \
             kernel dump {:.1} ms, timeouts {:.1} ms, desired {:.1} ms, diff {:.1} ms, \
             apply {:.1} ms, model {:.1} ms, reconcile other {:.1} ms, nannies {:.1} ms, \
             total {:.1} ms",
            ms(t_read - t0),
            ms(t_parse - t_read),
            ms(t_resolve - t_parse),
            ms(t_config - t_resolve),
            ms(t_dump - t_config),
            ms(t_timeouts - t_dump),
            ms(st.desired),
            ms(st.diff),
            ms(st.apply),
            ms(st.model),
            ms((t_reconcile - t_timeouts)
                .saturating_sub(st.desired + st.diff + st.apply + st.model)),
            ms(t_end - t_reconcile),
            ms(t_end - t0),
        );
        if let (Some(_), true) = (early, n > 0) {
            warn!("reload: repaired {n} difference(s) made behind lvsd's back");
        }
        info!(
            "configuration reloaded: {} change(s) applied in {:.1} ms",
            n + early.unwrap_or(0),
            ms(t_end - t0)
        );
    }

    /// Puts one re-read `virtual` block into the configuration and sends
    /// what its service now needs, diffed against the model of the kernel
    /// table. Returns the number of operations applied, or the file's text
    /// when the block needs a full parse after all (a host name to
    /// resolve).
    fn apply_one_virtual(
        &mut self,
        changed: ChangedVirtual,
        t0: Instant,
    ) -> Result<usize, Vec<u8>> {
        let v = changed.virtual_server;
        let has_names = crate::resolve::virtual_names(&v).next().is_some();
        let slot = match self.config.virtuals.get_mut(changed.index) {
            Some(slot) if !has_names => slot,
            // The map already describes the new text: forget it, so that
            // a failed full parse is not taken for the running file later.
            _ => {
                return Err(self
                    .running_text
                    .take()
                    .map(RunningText::into_bytes)
                    .unwrap_or_default())
            }
        };
        let name = v.name.clone();
        *slot = v;
        if let Some(serial) = changed.serial_no {
            self.config.serial_no = serial;
        }
        let mut applied = 0;
        let v = &self.config.virtuals[changed.index];
        if let (true, false, Some(key)) = (v.active, self.kernel_stale, service_key(v)) {
            let mut warnings = Vec::new();
            let (entry, _) = desired_service(
                v,
                key,
                forward_of(self.config.network),
                self.monitor(),
                self.kernel.services.get(&key),
                &mut warnings,
            );
            // With a warning, the full comparison below logs and decides.
            if warnings.is_empty() {
                let mut want = Table::new();
                want.services.insert(key, entry);
                let mut have = Table::new();
                if let Some(e) = self.kernel.services.get(&key) {
                    have.services.insert(key, e.clone());
                }
                let ops = diff(&have, &want, |k| *k == key);
                applied = self.send(&ops, true).0;
            }
        }
        info!(
            "virtual {name} re-read alone (lines {}-{}): {applied} change(s) applied {:.1} ms after the SIGHUP",
            changed.lines.0,
            changed.lines.1,
            ms(t0.elapsed())
        );
        Ok(applied)
    }

    /// Piranha's lines for the virtual servers a new configuration stops
    /// and starts.
    fn log_virtual_changes(&self, config: &Config) {
        // (name, service) pairs: a virtual that keeps both is unchanged.
        fn pairs(c: &Config) -> BTreeSet<(&str, Option<ServiceKey>)> {
            c.active_virtuals()
                .map(|v| (v.name.as_str(), crate::desired::service_key(v)))
                .collect()
        }
        let (old, new) = (pairs(&self.config), pairs(config));
        for v in self.config.active_virtuals() {
            if !new.contains(&(v.name.as_str(), crate::desired::service_key(v))) {
                info!("shutting down virtual service {}", v.name);
            }
        }
        for v in config.active_virtuals() {
            if !old.contains(&(v.name.as_str(), crate::desired::service_key(v))) {
                info!("starting virtual service {} active: {}", v.name, v.port);
            }
        }
    }

    /// Full resync (periodic).
    fn resync(&mut self) {
        if self.refresh(true) {
            let n = self.reconcile();
            if n > 0 {
                warn!("periodic check: repaired {n} difference(s) made behind lvsd's back");
            }
        }
    }

    /// Stops nannies and removes the owned services.
    fn shutdown(&mut self) {
        for v in self.config.active_virtuals() {
            info!("shutting down virtual service {}", v.name);
        }
        for (_, slot) in std::mem::take(&mut self.slots) {
            if let Some(c) = slot.child {
                c.stop();
            }
        }
        let owned: BTreeSet<ServiceKey> = self
            .owned
            .union(&configured_keys(&self.config))
            .copied()
            .collect();
        let ops: Vec<Operation> = match self.ipvs.services() {
            Ok(list) => list
                .into_iter()
                .filter(|s| owned.contains(&s.key))
                .map(|s| Operation::DelService(s.key))
                .collect(),
            Err(e) => {
                error!("cannot read the IPVS table: {e}");
                owned.iter().map(|k| Operation::DelService(*k)).collect()
            }
        };
        if let Err(e) = self.ipvs.apply(&ops) {
            for f in &e.failures {
                if f.error.errno() != Some(libc::ESRCH) {
                    error!("{}", f.error);
                }
            }
            if let Some(t) = e.transport {
                error!("{t}");
            }
        }
        self.kernel = Table::new();
    }

    fn status_answer(&mut self) -> String {
        let owned: BTreeSet<ServiceKey> = self.last.info.keys().copied().collect();
        match read_kernel(&mut self.ipvs, &owned, None) {
            Ok((live, _)) => {
                let order: Vec<String> = self
                    .config
                    .virtuals
                    .iter()
                    .map(|v| v.name.clone())
                    .collect();
                let out = status::status(&live, &self.last, &order);
                serde_json::to_string(&out)
                    .unwrap_or_else(|e| lvs_status::ErrorAnswer::new(e.to_string()).line())
            }
            Err(e) => {
                lvs_status::ErrorAnswer::new(format!("cannot read the IPVS table: {e}")).line()
            }
        }
    }
}

fn bind_status_socket(path: &Path) -> Option<UnixListener> {
    if path.as_os_str().is_empty() {
        return None;
    }
    match daemon_kit::socket::bind_status_socket(path) {
        Ok((l, note)) => {
            if let Some(n) = note {
                warn!("status socket: {n}");
            }
            Some(l)
        }
        Err(e) => {
            warn!("status socket: {e}; not listening");
            None
        }
    }
}

/// Answers the status socket: `status` from the main loop (which reads the
/// kernel), anything else refused.
async fn serve_status(listener: UnixListener, tx: mpsc::Sender<StatusRequest>) {
    lvs_status::server::serve(listener, move |req, _peer| {
        let tx = tx.clone();
        async move {
            if req != lvs_status::Request::Status {
                // lvsd is reloaded by SIGHUP (pulse forwards it).
                return lvs_status::ErrorAnswer::new("unknown command \"reload\"").line();
            }
            let (otx, orx) = oneshot::channel();
            if tx.send(StatusRequest { reply: otx }).await.is_err() {
                return lvs_status::ErrorAnswer::new("lvsd is stopping").line();
            }
            orx.await
                .unwrap_or_else(|_| lvs_status::ErrorAnswer::new("lvsd is stopping").line())
        }
    })
    .await
}

/// Makes the allocator keep the memory lvsd frees. A SIGHUP reads a file
/// of up to 16 MiB and rebuilds tables of 10,000 entries; with glibc's
/// defaults each such buffer is a fresh mapping, faulted in page by page
/// and unmapped when freed, which costs more than the work itself (in a
/// virtual machine every unmap also stops the other CPUs to flush their
/// TLBs). The process keeps its peak heap instead: tens of MB for the
/// largest tables.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets glibc tunables; called before any thread
    // starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// Runs the daemon; returns the exit status.
pub fn run(cli: Cli) -> i32 {
    keep_freed_memory();
    let loaded = read_config(&cli.config).and_then(|bytes| {
        let (mut config, text) = parse_config(&cli.config, bytes)?;
        let names = !crate::resolve::names(&config).is_empty();
        for l in crate::resolve::resolve(&mut config) {
            info!("{l}");
        }
        Ok((config, (!names).then_some(text)))
    });
    let (config, running_text) = match loaded {
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
    if let Some(fd) = cli.ready_fd {
        // Not inherited by nanny children.
        // SAFETY: fcntl on a descriptor number only changes its flags.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // Removed when lvsd ends, if it still names lvsd.
    let _pidfile = if cli.daemon() {
        daemon_kit::process::PidFile::write(&cli.pidfile)
            .map_err(|e| warn!("cannot write pid file {}: {e}", cli.pidfile.display()))
            .ok()
    } else {
        None
    };
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
    let code = rt.block_on(main_loop(cli, config, running_text, ipvs));
    if !socket_path.as_os_str().is_empty() {
        if let Ok(m) = std::fs::symlink_metadata(&socket_path) {
            use std::os::unix::fs::FileTypeExt;
            if m.file_type().is_socket() {
                let _ = std::fs::remove_file(&socket_path);
            }
        }
    }
    code
}

async fn main_loop(cli: Cli, config: Config, running_text: Option<RunningText>, ipvs: Ipvs) -> i32 {
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
    let owned = configured_keys(&config);
    let mut d = Daemon {
        cli,
        config,
        ipvs,
        monitor,
        health: Health::new(),
        kernel: Table::new(),
        kernel_stale: true,
        owned,
        foreign_logged: BTreeSet::new(),
        warned: Vec::new(),
        slots: BTreeMap::new(),
        next_slot: 1,
        next_gen: 1,
        nanny_tx,
        last: Desired::default(),
        sorry_on: BTreeMap::new(),
        ready_pending: None,
        exit: None,
        running_text,
        steps: Steps::default(),
    };
    if let Some(l) = bind_status_socket(&d.cli.status_socket.clone()) {
        tokio::spawn(serve_status(l, status_tx));
    }
    // Start: timeouts, the table (reconciled, not flushed), then nannies.
    d.timeouts();
    for v in d.config.active_virtuals() {
        info!("starting virtual service {} active: {}", v.name, v.port);
    }
    if !d.refresh(true) {
        return 1;
    }
    let n = d.reconcile();
    debug!("initial reconcile: {n} operation(s)");
    d.sync_nannies();
    let wait = d
        .config
        .active_virtuals()
        .map(|v| v.timeout)
        .max()
        .unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(u64::from(wait) + 1);
    d.ready_pending = Some(deadline);
    d.maybe_ready(!d.monitor);

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
                        d.reconcile();
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
            _ = resync.tick(), if resync_every > 0 => d.resync(),
            _ = tokio::time::sleep_until(restart_at) => d.restart_due(),
            _ = tokio::time::sleep_until(ready_at) => d.maybe_ready(true),
            Some(req) = status_rx.recv() => {
                let a = d.status_answer();
                let _ = req.reply.send(a);
            }
        }
    }
}

/// The path of the status socket for clients.
pub fn default_status_socket() -> PathBuf {
    PathBuf::from("/run/piranha/lvsd.sock")
}
