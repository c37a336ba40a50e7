//! What a reconcile sends and says, for the whole table or for one
//! re-read `virtual` block. Pure.
//!
//! Both the full comparison and the fast path of a SIGHUP (an edit inside
//! one block, sent before anything else is read) go through the same two
//! steps: [`wanted`] (the desired table of the scope) and [`operations`]
//! (its difference against lvsd's model of the kernel). The fast path's
//! scope is the one service of the block; the model's other services are
//! not looked at, so its cost does not grow with the file.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipvs::{Operation, ServiceKey};
use lvscf_parser::Config;

use crate::desired::{desired, desired_service, forward_of, service_key, Desired, Monitor};
use crate::diff::diff;
use crate::table::Table;

/// Which part of the table a reconcile compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every service lvsd owns.
    All,
    /// The service of the `virtual` block at this index of the
    /// configuration's virtuals (a block re-read alone).
    Virtual(usize),
}

/// The desired table of `scope`. `None` for a block whose service the
/// full comparison must decide: an inactive block, one the kernel cannot
/// take, one without a usable address, one whose service an earlier
/// active block already programs
/// (lvsd programs the first and reports the later one), or one that
/// raises a warning (the full comparison logs it).
pub fn wanted(
    config: &Config,
    monitor: Monitor<'_>,
    model: &Table,
    scope: Scope,
) -> Option<Desired> {
    let index = match scope {
        Scope::All => return Some(desired(config, monitor, model)),
        Scope::Virtual(i) => i,
    };
    let v = config
        .virtuals
        .get(index)
        .filter(|v| v.active && v.kernel_refusal().is_none())?;
    let key = service_key(v)?;
    let claimed = config
        .virtuals
        .iter()
        .take(index)
        .any(|o| o.active && service_key(o) == Some(key));
    if claimed {
        return None;
    }
    let mut warnings = Vec::new();
    let (entry, info) = desired_service(
        v,
        key,
        forward_of(config.network),
        monitor,
        model.services.get(&key),
        &mut warnings,
    );
    if !warnings.is_empty() {
        return None;
    }
    let mut d = Desired::default();
    d.table.services.insert(key, entry);
    d.info.insert(key, info);
    Some(d)
}

/// The operations that bring the model's services of `scope` to `wanted`.
/// The model holds only services lvsd owns, so with [`Scope::All`] every
/// service it has and `wanted` lacks is deleted; with [`Scope::Virtual`]
/// only the block's service is compared.
pub fn operations(model: &Table, wanted: &Desired, scope: Scope) -> Vec<Operation> {
    match scope {
        Scope::All => diff(model, &wanted.table, |_| true),
        Scope::Virtual(_) => {
            let mut have = Table::new();
            for key in wanted.table.services.keys() {
                if let Some(e) = model.services.get(key) {
                    have.services.insert(*key, e.clone());
                }
            }
            diff(&have, &wanted.table, |k| {
                wanted.table.services.contains_key(k)
            })
        }
    }
}

/// The sorry servers in the table after `d` (by virtual name), and
/// Piranha's lines for those that come and go against `before`.
pub fn sorry_changes(
    before: &BTreeMap<String, IpAddr>,
    d: &Desired,
) -> (BTreeMap<String, IpAddr>, Vec<String>) {
    let mut now = BTreeMap::new();
    for info in d.info.values() {
        if let Some(ip) = info.sorry_active {
            now.insert(info.name.clone(), ip);
        }
    }
    let mut lines = Vec::new();
    for (name, ip) in &now {
        if !before.contains_key(name) {
            lines.push(format!(
                "Virtual Server {name}: No real servers; activate sorry_server {ip}"
            ));
        }
    }
    for (name, ip) in before {
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
            lines.push(format!(
                "Virtual Server {name}: {n} real servers; deactivate sorry_server {ip}"
            ));
        }
    }
    (now, lines)
}

/// Piranha's lines for the virtual servers a new configuration stops and
/// starts: an active virtual that keeps its name and service is neither.
pub fn virtual_changes(old: &Config, new: &Config) -> Vec<String> {
    fn pairs(c: &Config) -> BTreeSet<(&str, Option<ServiceKey>)> {
        c.active_virtuals()
            .map(|v| (v.name.as_str(), service_key(v)))
            .collect()
    }
    let (before, after) = (pairs(old), pairs(new));
    let mut lines = Vec::new();
    for v in old.active_virtuals() {
        if !after.contains(&(v.name.as_str(), service_key(v))) {
            lines.push(format!("shutting down virtual service {}", v.name));
        }
    }
    for v in new.active_virtuals() {
        if !before.contains(&(v.name.as_str(), service_key(v))) {
            lines.push(format!(
                "starting virtual service {} active: {}",
                v.name, v.port
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Health;

    fn config(text: &str) -> Config {
        match lvscf_parser::parse("lvs.cf", text.as_bytes()) {
            Ok(l) => l.config,
            Err(e) => panic!("test file does not parse: {e}"),
        }
    }

    const TWO: &str = "serial_no = 1
service = lvs
network = direct
virtual first {
    active = 1
    address = 10.0.0.1 eth0:1
    port = 80
    server a {
        address = 10.0.1.1
        active = 1
        weight = 1
    }
}
virtual second {
    active = 1
    address = 10.0.0.3 eth0:1
    port = 80
    server b {
        address = 10.0.1.2
        active = 1
        weight = 5
    }
}
virtual other {
    active = 1
    address = 10.0.0.2 eth0:1
    port = 80
    server c {
        address = 10.0.1.3
        active = 1
        weight = 2
    }
}
";

    /// The plan of one block is the whole plan's for its service, also
    /// for a configuration where a later block has the service of an
    /// earlier one (the first is programmed, the later one reported).
    /// The parser refuses such a file (same address and port, or same
    /// fwmark), so this holds for configurations built or changed through
    /// the API; lvsd's own rule does not depend on the parser's.
    #[test]
    fn a_block_whose_service_an_earlier_block_programs_sends_nothing_alone() {
        let mut c = config(TWO);
        c.virtuals[1].address = c.virtuals[0].address.clone();
        let health = Health::new();
        let full = desired(&c, Monitor::AssumeUp, &Table::new());
        assert_eq!(full.warnings.len(), 1, "{:?}", full.warnings);
        let mut model = Table::new();
        model
            .apply_all(&operations(&Table::new(), &full, Scope::All), &[])
            .unwrap_or_else(|e| panic!("{e}"));
        for monitor in [Monitor::AssumeUp, Monitor::Reports(&health)] {
            assert!(wanted(&c, monitor, &model, Scope::Virtual(1)).is_none());
        }
        // The first block and an unrelated one are still sent alone, and
        // find the model as the full comparison left it.
        for i in [0, 2] {
            let d = wanted(&c, Monitor::AssumeUp, &model, Scope::Virtual(i))
                .unwrap_or_else(|| panic!("block {i} is sent alone"));
            assert!(operations(&model, &d, Scope::Virtual(i)).is_empty());
        }
    }

    #[test]
    fn one_block_is_compared_alone_and_the_rest_is_left() {
        let c = config(TWO);
        let full = wanted(&c, Monitor::AssumeUp, &Table::new(), Scope::All)
            .unwrap_or_else(|| panic!("whole table"));
        let mut model = Table::new();
        model
            .apply_all(&operations(&Table::new(), &full, Scope::All), &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let edited = config(&TWO.replace("weight = 2", "weight = 7"));
        let d = wanted(&edited, Monitor::AssumeUp, &model, Scope::Virtual(2))
            .unwrap_or_else(|| panic!("block 2 alone"));
        let ops = operations(&model, &d, Scope::Virtual(2));
        assert_eq!(ops.len(), 1, "{ops:?}");
        assert!(matches!(&ops[0], Operation::EditDest(_, dest) if dest.weight == 7));
        // The full comparison agrees, and deletes nothing else.
        let full = wanted(&edited, Monitor::AssumeUp, &model, Scope::All)
            .unwrap_or_else(|| panic!("whole table"));
        assert_eq!(operations(&model, &full, Scope::All), ops);
    }

    #[test]
    fn an_inactive_or_missing_block_is_left_to_the_full_comparison() {
        let c = config(&TWO.replacen(
            "active = 1\n    address = 10.0.0.2",
            "active = 0\n    address = 10.0.0.2",
            1,
        ));
        assert!(wanted(&c, Monitor::AssumeUp, &Table::new(), Scope::Virtual(2)).is_none());
        assert!(wanted(&c, Monitor::AssumeUp, &Table::new(), Scope::Virtual(9)).is_none());
    }

    #[test]
    fn virtual_changes_name_what_stops_and_starts() {
        let old = config(TWO);
        let new = config(&TWO.replace("virtual other", "virtual renamed"));
        assert_eq!(
            virtual_changes(&old, &new),
            [
                "shutting down virtual service other",
                "starting virtual service renamed active: 80"
            ]
        );
        assert!(virtual_changes(&old, &old).is_empty());
    }
}
