//! The kernel's IPVS table as lvsd reads and writes it (netlink through the
//! `ipvs` crate), and lvsd's model of the owned part of it.
//!
//! The model is what every diff starts from: after each batch it is
//! updated with the operations the kernel accepted ([`Table::apply_all`]),
//! so that a nanny report or a reload costs no dump. It is marked stale,
//! and read again before the next diff, whenever it may be wrong: a batch
//! that failed in transport, an operation the kernel refused (it may have
//! half happened), or an operation the model itself refused.
//!
//! Reading: [`read_kernel`] dumps the service list, then the destinations
//! of each owned service, except (with a cache) those of services whose
//! attributes did not change, which come from the model.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ipvs::{Ipvs, Operation, ServiceKey};
use lvscf_parser::Config;

use crate::desired::timeouts_change;
use crate::ipvsadm::format_op;
use crate::table::{service_differs, Entry, Table};
use crate::{debug, error, info};

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

/// The netlink socket and the model of the owned services.
pub struct Kernel {
    ipvs: Ipvs,
    model: Table,
    stale: bool,
    foreign_logged: BTreeSet<ServiceKey>,
}

impl Kernel {
    /// A kernel not read yet (the model is stale).
    pub fn new(ipvs: Ipvs) -> Kernel {
        Kernel {
            ipvs,
            model: Table::new(),
            stale: true,
            foreign_logged: BTreeSet::new(),
        }
    }

    /// The model of the owned services.
    pub fn model(&self) -> &Table {
        &self.model
    }

    /// Whether the model must be read again before it is diffed.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// Re-reads the kernel's `owned` services: fully, or (`full` false and
    /// a model that is not stale) the service list only, with the
    /// destinations of unchanged services from the model. Services not
    /// owned are logged once each. False when the kernel could not be read.
    pub fn refresh(&mut self, owned: &BTreeSet<ServiceKey>, full: bool) -> bool {
        let cache = if full || self.stale {
            None
        } else {
            Some(&self.model)
        };
        match read_kernel(&mut self.ipvs, owned, cache) {
            Ok((t, foreign)) => {
                self.model = t;
                self.stale = false;
                for k in foreign {
                    if self.foreign_logged.insert(k) {
                        info!("leaving service {k} alone: lvs.cf does not describe it");
                    }
                }
                true
            }
            Err(e) => {
                error!("cannot read the IPVS table: {e}");
                self.stale = true;
                false
            }
        }
    }

    /// Sets the timeouts lvs.cf asks for, if they differ from the kernel's.
    pub fn set_timeouts(&mut self, config: &Config) {
        match self.ipvs.timeouts() {
            Ok(t) => {
                if let Some(t) = timeouts_change(config, t) {
                    let op = Operation::SetTimeouts(t);
                    if let Err(e) = self.ipvs.execute(&op) {
                        error!(
                            "failed to set timeouts ({} {} {}): {e}",
                            config.tcp_timeout, config.tcpfin_timeout, config.udp_timeout
                        );
                    } else {
                        debug!("ipvsadm {}", format_op(&op));
                    }
                }
            }
            Err(e) => error!("cannot read the IPVS timeouts: {e}"),
        }
    }

    /// Sends one batch and updates the model with what succeeded. Returns
    /// the number of operations applied and the time the kernel took.
    /// `early`: a re-read block's batch, ahead of the full comparison,
    /// which retries what the kernel refused and logs it then.
    pub fn send(&mut self, ops: &[Operation], early: bool) -> (usize, Duration) {
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
                self.stale = true;
            }
        }
        let took = t0.elapsed();
        if !self.stale {
            if let Err(e) = self.model.apply_all(ops, &failed) {
                debug!("model of the kernel table out of step ({e}); re-reading it");
                self.stale = true;
            }
        }
        if !failed.is_empty() {
            // What the kernel refused may have half happened (a service
            // added, its destination not): read it back next time.
            self.stale = true;
        }
        (ops.len() - failed.len(), took)
    }

    /// Deletes every `owned` service the kernel has (as listed now; every
    /// owned key when the list cannot be read). A service already gone is
    /// not an error.
    pub fn remove_services(&mut self, owned: &BTreeSet<ServiceKey>) {
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
        self.model = Table::new();
    }

    /// The live table of the `owned` services, counters included (for the
    /// status socket; the model is left as it is).
    pub fn live(&mut self, owned: &BTreeSet<ServiceKey>) -> Result<Table, ipvs::Error> {
        read_kernel(&mut self.ipvs, owned, None).map(|(t, _)| t)
    }
}
