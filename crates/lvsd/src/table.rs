//! The IPVS table as plain data, and a small in-memory model of how the
//! kernel applies [`Operation`]s to it.
//!
//! [`Table`] is what the diff (`diff.rs`) compares. [`Table::apply`] mirrors
//! the kernel's rules (adding what exists or editing what does not is an
//! error), so tests can check that `apply(diff(a, b), a) == b`, and lvsd uses
//! it to keep its model of the kernel up to date after each batch without
//! dumping the kernel again.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipvs::{Destination, Forward, Operation, Service, ServiceKey};

/// An operation the model refused although the kernel accepted it: a sign
/// that lvsd's model and the kernel's table disagree (the table is then
/// read again).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {errno}")]
pub struct ModelError {
    /// The operation, as it displays.
    pub operation: String,
    /// The errno the kernel would have returned (`EEXIST`, `ESRCH`,
    /// `ENOENT`).
    pub errno: &'static str,
}

/// A destination inside a service: address and port.
pub type DestKey = (IpAddr, u16);

/// One virtual service and its real servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The service (scheduler, persistence, ...).
    pub service: Service,
    /// Its destinations by (address, port).
    pub dests: BTreeMap<DestKey, Destination>,
}

impl Entry {
    /// A service without destinations.
    pub fn new(service: Service) -> Entry {
        Entry {
            service,
            dests: BTreeMap::new(),
        }
    }
}

/// Services by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// The services.
    pub services: BTreeMap<ServiceKey, Entry>,
}

/// Whether two services differ in anything lvsd programs (scheduler,
/// flags, persistence timeout, netmask, persistence engine). Counters are
/// ignored.
pub fn service_differs(a: &Service, b: &Service) -> bool {
    a.scheduler != b.scheduler
        || a.flags != b.flags
        || a.timeout != b.timeout
        || a.netmask != b.netmask
        || a.pe_name != b.pe_name
}

/// Whether two forwarding methods are the same for lvsd. The kernel
/// reports `Local` for a real server whose address is on this host, whatever
/// method was asked for, so `Local` matches any method.
pub fn same_forward(a: Forward, b: Forward) -> bool {
    a == b || a == Forward::Local || b == Forward::Local
}

/// Whether two destinations differ in anything lvsd programs (forwarding
/// method, weight, thresholds). Counters are ignored.
pub fn dest_differs(a: &Destination, b: &Destination) -> bool {
    !same_forward(a.forward, b.forward)
        || a.weight != b.weight
        || a.upper_threshold != b.upper_threshold
        || a.lower_threshold != b.lower_threshold
}

impl Table {
    /// An empty table.
    pub fn new() -> Table {
        Table::default()
    }

    /// Inserts a service (replacing one with the same key).
    pub fn insert_service(&mut self, service: Service) -> &mut Entry {
        let key = service.key;
        self.services.insert(key, Entry::new(service));
        self.services
            .get_mut(&key)
            .unwrap_or_else(|| unreachable!("just inserted"))
    }

    /// Number of destinations over all services.
    pub fn dest_count(&self) -> usize {
        self.services.values().map(|e| e.dests.len()).sum()
    }

    /// Whether both tables program the same thing (counters ignored).
    pub fn same_as(&self, other: &Table) -> bool {
        self.services.len() == other.services.len()
            && self.services.iter().all(|(k, a)| {
                other.services.get(k).is_some_and(|b| {
                    !service_differs(&a.service, &b.service)
                        && a.dests.len() == b.dests.len()
                        && a.dests
                            .iter()
                            .all(|(dk, da)| b.dests.get(dk).is_some_and(|db| !dest_differs(da, db)))
                })
            })
    }

    /// Applies one operation as the kernel would. Errors name the errno the
    /// kernel would return (`EEXIST`, `ESRCH`, `ENOENT`).
    pub fn apply(&mut self, op: &Operation) -> Result<(), &'static str> {
        match op {
            Operation::AddService(s) => {
                if self.services.contains_key(&s.key) {
                    return Err("EEXIST");
                }
                self.insert_service(s.clone());
            }
            Operation::EditService(s) => {
                let e = self.services.get_mut(&s.key).ok_or("ESRCH")?;
                let stats = e.service.stats;
                e.service = s.clone();
                e.service.stats = stats;
            }
            Operation::DelService(k) => {
                self.services.remove(k).ok_or("ESRCH")?;
            }
            Operation::AddDest(k, d) => {
                let e = self.services.get_mut(k).ok_or("ESRCH")?;
                if e.dests.contains_key(&(d.addr, d.port)) {
                    return Err("EEXIST");
                }
                e.dests.insert((d.addr, d.port), d.clone());
            }
            Operation::EditDest(k, d) => {
                let e = self.services.get_mut(k).ok_or("ESRCH")?;
                let cur = e.dests.get_mut(&(d.addr, d.port)).ok_or("ENOENT")?;
                cur.forward = d.forward;
                cur.weight = d.weight;
                cur.upper_threshold = d.upper_threshold;
                cur.lower_threshold = d.lower_threshold;
            }
            Operation::DelDest {
                service,
                addr,
                port,
            } => {
                let e = self.services.get_mut(service).ok_or("ESRCH")?;
                e.dests.remove(&(*addr, *port)).ok_or("ENOENT")?;
            }
            Operation::Flush => self.services.clear(),
            // Not part of the service table.
            Operation::SetTimeouts(_)
            | Operation::StartDaemon(_)
            | Operation::StopDaemon(_)
            | Operation::Zero(_) => {}
        }
        Ok(())
    }

    /// Applies operations in order, skipping the indexes in `failed` (the
    /// ones the kernel refused). Returns the first model error, if any: a
    /// sign that the model and the kernel disagree.
    pub fn apply_all(&mut self, ops: &[Operation], failed: &[usize]) -> Result<(), ModelError> {
        let mut first = None;
        for (i, op) in ops.iter().enumerate() {
            if failed.contains(&i) {
                continue;
            }
            if let Err(errno) = self.apply(op) {
                first.get_or_insert_with(|| ModelError {
                    operation: op.to_string(),
                    errno,
                });
            }
        }
        match first {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }
}
