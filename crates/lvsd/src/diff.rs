//! The difference between the kernel's table and the desired one, as the
//! fewest IPVS operations.
//!
//! Rules (each one is tested in `tests/diff.rs`):
//! - a service the caller does not own is never touched;
//! - an owned service that is not desired is deleted (one `DelService`,
//!   which takes its destinations with it);
//! - a desired service that is missing is added, then its destinations;
//! - a service present in both is never deleted: a changed scheduler,
//!   persistence timeout, flag or netmask is one `EditService`;
//! - a destination present in both is never deleted: a changed weight,
//!   forwarding method or threshold is one `EditDest`;
//! - order: service deletions first, then per service (in key order)
//!   `EditService`, `DelDest`, `EditDest`, `AddDest`, with `AddService`
//!   before its destinations.

use ipvs::{Operation, ServiceKey};

use crate::table::{dest_differs, service_differs, Table};

/// The operations that turn `current` into `desired`, touching only the
/// services for which `owned` says true (and those in `desired`, which the
/// caller owns by definition).
pub fn diff(
    current: &Table,
    desired: &Table,
    owned: impl Fn(&ServiceKey) -> bool,
) -> Vec<Operation> {
    let mut ops = Vec::new();
    for key in current.services.keys() {
        if !desired.services.contains_key(key) && owned(key) {
            ops.push(Operation::DelService(*key));
        }
    }
    for (key, want) in &desired.services {
        match current.services.get(key) {
            None => {
                ops.push(Operation::AddService(want.service.clone()));
                for d in want.dests.values() {
                    ops.push(Operation::AddDest(*key, d.clone()));
                }
            }
            Some(have) => {
                if service_differs(&have.service, &want.service) {
                    ops.push(Operation::EditService(want.service.clone()));
                }
                for (dk, _) in have.dests.iter() {
                    if !want.dests.contains_key(dk) {
                        ops.push(Operation::DelDest {
                            service: *key,
                            addr: dk.0,
                            port: dk.1,
                        });
                    }
                }
                for (dk, d) in want.dests.iter() {
                    if let Some(h) = have.dests.get(dk) {
                        if dest_differs(h, d) {
                            ops.push(Operation::EditDest(*key, d.clone()));
                        }
                    }
                }
                for (dk, d) in want.dests.iter() {
                    if !have.dests.contains_key(dk) {
                        ops.push(Operation::AddDest(*key, d.clone()));
                    }
                }
            }
        }
    }
    ops
}

/// The operations that remove every owned service of `current` (shutdown).
pub fn remove_owned(current: &Table, owned: impl Fn(&ServiceKey) -> bool) -> Vec<Operation> {
    current
        .services
        .keys()
        .filter(|k| owned(k))
        .map(|k| Operation::DelService(*k))
        .collect()
}
