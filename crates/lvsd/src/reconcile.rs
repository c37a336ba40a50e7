//! The one path that changes the kernel's table: configuration + nanny's
//! reports -> desired table -> difference against the model -> one
//! `ipvs::apply` batch -> model updated with what succeeded.
//!
//! [`Reconciler`] owns what that path reads: the running configuration,
//! nanny's reports, the kernel (netlink and the model), and what was last
//! wanted (for the status socket and the log lines that say what changed).
//! Everything that may change the table calls [`Reconciler::reconcile`]:
//! start, every batch of nanny reports, SIGHUP (first for the one block an
//! edit changed, then for the whole table), the periodic resync.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipvs::{Ipvs, ServiceKey};
use lvscf_parser::{Config, VirtualServer};
use nanny::protocol::Report;

use crate::desired::{configured_keys, Desired, Monitor};
use crate::drain::Drains;
use crate::health::{Applied, Health};
use crate::kernel::Kernel;
use crate::plan::{self, Scope};
use crate::table::Table;
use crate::{info, warn};

/// Time spent in each step of the last full reconcile (for the reload
/// timing line).
#[derive(Debug, Default, Clone, Copy)]
pub struct Steps {
    /// Building the desired table.
    pub desired: Duration,
    /// Comparing it with the model.
    pub diff: Duration,
    /// The kernel's batch.
    pub apply: Duration,
    /// Updating the model.
    pub model: Duration,
}

/// The kernel's table could not be read for the status document.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the IPVS table: {0}")]
pub struct LiveTableError(ipvs::Error);

/// The running configuration, nanny's reports and the kernel, and the one
/// path from them to the kernel's table.
pub struct Reconciler {
    config: Config,
    /// Whether nanny's reports count (false: every active server is up).
    monitor: bool,
    health: Health,
    kernel: Kernel,
    /// Services lvsd owns: those lvs.cf describes, and those it could not
    /// delete.
    owned: BTreeSet<ServiceKey>,
    /// Warnings of the last desired table (each is logged once).
    warned: Vec<String>,
    last: Desired,
    sorry_on: BTreeMap<String, IpAddr>,
    steps: Steps,
    /// Real servers being drained (weight 0 whatever their health).
    drains: Drains,
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

impl Reconciler {
    /// Before the kernel is read (the model is stale).
    pub fn new(config: Config, ipvs: Ipvs, monitor: bool) -> Reconciler {
        Reconciler {
            owned: configured_keys(&config),
            config,
            monitor,
            health: Health::new(),
            kernel: Kernel::new(ipvs),
            warned: Vec::new(),
            last: Desired::default(),
            sorry_on: BTreeMap::new(),
            steps: Steps::default(),
            drains: Drains::new(),
        }
    }

    /// The running configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether nanny's reports count.
    pub fn monitoring(&self) -> bool {
        self.monitor
    }

    /// nanny's reports.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// nanny's reports, to mark a first round of checks over.
    pub fn health_mut(&mut self) -> &mut Health {
        &mut self.health
    }

    /// Applies one report of the nanny watching `watched` (the virtual
    /// names of its job); the table follows at the next reconcile.
    pub fn apply_report(&mut self, report: &Report, watched: &[String]) -> Applied {
        self.health.apply(report, watched, &self.config)
    }

    /// lvsd's model of the kernel's owned services.
    pub fn model(&self) -> &Table {
        self.kernel.model()
    }

    /// The drains in progress.
    pub fn drains(&self) -> &Drains {
        &self.drains
    }

    /// The drains in progress, to end one or mark it written (the table
    /// follows at the next reconcile).
    pub fn drains_mut(&mut self) -> &mut Drains {
        &mut self.drains
    }

    /// Begins draining `server` of `virtual_name` in the running
    /// configuration ([`Drains::start`]).
    pub fn start_drain(
        &mut self,
        virtual_name: &str,
        server: &str,
        now: Instant,
    ) -> Result<bool, crate::drain::DrainError> {
        self.drains.start(&self.config, virtual_name, server, now)
    }

    /// Where the last full reconcile spent its time.
    pub fn steps(&self) -> Steps {
        self.steps
    }

    fn monitor(&self) -> Monitor<'_> {
        if self.monitor {
            Monitor::Reports(&self.health)
        } else {
            Monitor::AssumeUp
        }
    }

    /// Replaces the configuration (the old one is freed off the reload's
    /// path).
    pub fn set_config(&mut self, config: Config) {
        drop_later(std::mem::replace(&mut self.config, config));
    }

    /// Forgets reports about servers the configuration no longer has
    /// (after [`Reconciler::set_config`] or [`Reconciler::set_virtual`];
    /// not inside them, so that the fast path of a reload sends its block
    /// before it scans every report).
    pub fn forget_unconfigured(&mut self) {
        self.health.retain_configured(&self.config);
        for ((v, s), lasted) in self.drains.retain_configured(&self.config, Instant::now()) {
            info!(
                "virtual {v}: drain of server {s} over after {} s: lvs.cf no longer has it active",
                lasted.as_secs()
            );
        }
    }

    /// Puts a re-read `virtual` block in place of the one at `index` (and
    /// the global `serial_no` the same edit changed). False, and nothing
    /// changed, when there is no such block.
    pub fn set_virtual(&mut self, index: usize, v: VirtualServer, serial_no: Option<u64>) -> bool {
        let Some(slot) = self.config.virtuals.get_mut(index) else {
            return false;
        };
        *slot = v;
        if let Some(serial) = serial_no {
            self.config.serial_no = serial;
        }
        true
    }

    fn owned_or_configured(&self) -> BTreeSet<ServiceKey> {
        self.owned
            .union(&configured_keys(&self.config))
            .copied()
            .collect()
    }

    /// Re-reads the kernel's owned services (fully, or services only with
    /// destinations from the model). False when it could not be read.
    pub fn refresh(&mut self, full: bool) -> bool {
        let owned = self.owned_or_configured();
        self.kernel.refresh(&owned, full)
    }

    /// Sets the timeouts lvs.cf asks for, if they differ from the kernel's.
    pub fn timeouts(&mut self) {
        self.kernel.set_timeouts(&self.config);
    }

    /// Desired table of `scope` -> diff against the model -> one batch.
    /// Returns the number of operations applied successfully.
    ///
    /// [`Scope::Virtual`] is a SIGHUP's first, fast step: it sends nothing
    /// when the model must be read again first, and leaves the logs of the
    /// whole table (warnings, sorry servers) and the status socket's view
    /// to the full comparison that follows it.
    pub fn reconcile(&mut self, scope: Scope) -> usize {
        let whole = scope == Scope::All;
        if self.kernel.is_stale() && (!whole || !self.refresh(true)) {
            return 0;
        }
        let t0 = Instant::now();
        let Some(mut d) = plan::wanted(&self.config, self.monitor(), self.kernel.model(), scope)
        else {
            return 0;
        };
        self.drains.apply(&mut d);
        let t_desired = Instant::now();
        if whole && d.warnings != self.warned {
            for w in &d.warnings {
                if !self.warned.contains(w) {
                    warn!("{w}");
                }
            }
            self.warned = d.warnings.clone();
        }
        let ops = plan::operations(self.kernel.model(), &d, scope);
        let t_diff = Instant::now();
        let (applied, apply_time) = self.kernel.send(&ops, !whole);
        if !whole {
            return applied;
        }
        let t_apply = t_diff + apply_time;
        let t_model = Instant::now();
        self.steps = Steps {
            desired: t_desired - t0,
            diff: t_diff - t_desired,
            apply: t_apply - t_diff,
            model: t_model - t_apply,
        };
        let (sorry_on, lines) = plan::sorry_changes(&self.sorry_on, &d);
        for l in lines {
            info!("{l}");
        }
        self.sorry_on = sorry_on;
        // Services we could not delete stay ours.
        let mut owned = configured_keys(&self.config);
        owned.extend(self.kernel.model().services.keys().copied());
        self.owned = owned;
        let old = std::mem::replace(&mut self.last, d);
        // reconcile also runs for every batch of nanny reports: a thread
        // only for a table worth it.
        if old.table.services.len() > 100 {
            drop_later(old);
        }
        applied
    }

    /// Full resync (periodic): the whole kernel table read again and
    /// repaired.
    pub fn resync(&mut self) {
        if self.refresh(true) {
            let n = self.reconcile(Scope::All);
            if n > 0 {
                warn!("periodic check: repaired {n} difference(s) made behind lvsd's back");
            }
        }
    }

    /// Removes the owned services (lvsd is ending), with Piranha's line
    /// for each active virtual server.
    pub fn shutdown(&mut self) {
        for v in self.config.active_virtuals() {
            info!("shutting down virtual service {}", v.name);
        }
        let owned = self.owned_or_configured();
        self.kernel.remove_services(&owned);
    }

    /// The live table (counters included) with the names and states of
    /// what was last wanted: the status socket's document.
    pub fn live_status(&mut self) -> Result<lvs_status::LvsdStatus, LiveTableError> {
        let owned: BTreeSet<ServiceKey> = self.last.info.keys().copied().collect();
        let live = self.kernel.live(&owned).map_err(LiveTableError)?;
        let order: Vec<String> = self
            .config
            .virtuals
            .iter()
            .map(|v| v.name.clone())
            .collect();
        let health = self.monitor.then_some(&self.health);
        Ok(crate::status::status(
            &live,
            &self.last,
            health,
            &order,
            Instant::now(),
        ))
    }

    /// The status socket's answer ([`Reconciler::live_status`]) as one
    /// JSON line.
    pub fn status_line(&mut self) -> String {
        match self.live_status() {
            Ok(out) => serde_json::to_string(&out)
                .unwrap_or_else(|e| lvs_status::ErrorAnswer::new(e.to_string()).line()),
            Err(e) => lvs_status::ErrorAnswer::new(e.to_string()).line(),
        }
    }
}
