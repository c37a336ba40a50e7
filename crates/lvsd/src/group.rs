//! Which virtual servers share a nanny process. Pure.
//!
//! Piranha ran one nanny per real server; lvsd runs one per active virtual
//! server, except that virtual servers which share an identical check of a
//! real server (same address, port, protocol, timeout and check, as
//! [`nanny::check::CheckSpec`] defines it, i.e. what nanny itself probes
//! only once inside one process) go to the same nanny. Grouping is
//! transitive: the groups are the connected components of the graph whose
//! nodes are virtual servers and whose edges are shared checks. So every
//! distinct check is probed by exactly one nanny process, once per
//! interval, and virtual servers that share nothing keep a nanny each.
//!
//! `hard_shutdown` for a group: the death of a group's nanny is the death of
//! the nanny of every virtual server in it. With `hard_shutdown = 1` any
//! nanny death already shut Piranha's lvs down completely (all services
//! removed, lvs exits so pulse fails over), so that is unchanged. With
//! `hard_shutdown = 0` the group's nanny is restarted with backoff and the
//! table entries of all its virtual servers are kept meanwhile.
//!
//! On reload, [`assign`] matches the new groups to the running nannies, so
//! that a nanny whose group is unchanged is not touched (same process, a new
//! job line only if one of its checks changed), and a group that merged or
//! split keeps the nanny it overlaps most (nanny keeps the state of every
//! check that is unchanged in a new job line) instead of a restart.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use lvscf_parser::Config;
use nanny::check::CheckKind;
use nanny::protocol::{Job, Protocol, VirtualCheck};

use crate::jobs::virtual_check;

/// Virtual servers watched by one nanny process.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Their names, in lvs.cf order.
    pub virtuals: Vec<String>,
    /// The job line for the nanny (the virtuals' checks, in lvs.cf order).
    pub job: Job,
}

/// The checkable active virtual servers, in lvs.cf order: one check per
/// name (a repeated block name keeps the first, as reports name virtuals),
/// none for a virtual that is not programmed (see
/// [`crate::desired::programmed`]) or has no checkable real server.
pub fn checks(config: &Config) -> Vec<VirtualCheck> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (v, _) in crate::desired::programmed(config).0 {
        if !seen.insert(v.name.as_str()) {
            continue;
        }
        let check = virtual_check(config, v);
        if !check.servers.is_empty() {
            out.push(check);
        }
    }
    out
}

/// Groups checks that share an identical real-server check (connected
/// components), each group in order of its first member, members in input
/// order.
pub fn group_checks(checks: Vec<VirtualCheck>) -> Vec<Group> {
    let n = checks.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let mut kinds = Kinds::default();
    // Which virtual first used each check.
    let mut first: HashMap<CheckKey, usize> = HashMap::new();
    for (i, vc) in checks.iter().enumerate() {
        for key in check_keys(vc, &mut kinds) {
            match first.get(&key) {
                Some(&j) => union(&mut parent, i, j),
                None => {
                    first.insert(key, i);
                }
            }
        }
    }
    let mut order: Vec<usize> = Vec::new();
    let mut members: HashMap<usize, Vec<VirtualCheck>> = HashMap::new();
    for (i, vc) in checks.into_iter().enumerate() {
        let root = find(&mut parent, i);
        let m = members.entry(root).or_default();
        if m.is_empty() {
            order.push(root);
        }
        m.push(vc);
    }
    order
        .into_iter()
        .filter_map(|root| members.remove(&root))
        .map(|virtuals| Group {
            virtuals: virtuals.iter().map(|v| v.name.clone()).collect(),
            job: Job { virtuals },
        })
        .collect()
}

/// A server's [`nanny::check::CheckSpec`] in a cheaper form: protocol, address, timeout
/// and the check kind as an index into [`Kinds`]. Two keys are equal
/// exactly when the specs are.
type CheckKey = (Protocol, SocketAddr, Duration, usize);

/// Interned check kinds (what is sent and expected, or the program).
#[derive(Default)]
struct Kinds(HashMap<CheckKind, usize>);

impl Kinds {
    fn id(&mut self, kind: CheckKind) -> usize {
        let next = self.0.len();
        *self.0.entry(kind).or_insert(next)
    }
}

/// The check key of each server of a virtual. nanny resolves a check per
/// server, but only `send_program` (its `%h` and `%p`) makes the kind
/// depend on the server: other virtuals are resolved once and their kind
/// shared, which keeps a reload of thousands of servers cheap.
fn check_keys(vc: &VirtualCheck, kinds: &mut Kinds) -> Vec<CheckKey> {
    let Some(s0) = vc.servers.first() else {
        return Vec::new();
    };
    let per_server = vc.send_program.as_deref().is_some_and(|p| !p.is_empty());
    // Grouping needs only which checks are equal, not whether their
    // programs may run (nanny asks the exec policy): every program line is
    // taken as approved, which keeps equal lines equal.
    let mut same_line = |t: &str| Ok::<_, std::convert::Infallible>(std::path::PathBuf::from(t));
    let shared = (!per_server).then(|| {
        let spec = nanny::check::resolve(vc, s0, &mut same_line).spec;
        (spec.protocol, spec.timeout, kinds.id(spec.kind))
    });
    vc.servers
        .iter()
        .map(|s| match shared {
            Some((protocol, timeout, kind)) => (
                protocol,
                SocketAddr::new(s.address, s.check_port(vc)),
                timeout,
                kind,
            ),
            None => {
                let spec = nanny::check::resolve(vc, s, &mut same_line).spec;
                (spec.protocol, spec.addr, spec.timeout, kinds.id(spec.kind))
            }
        })
        .collect()
}

/// The nanny groups of a configuration.
pub fn groups(config: &Config) -> Vec<Group> {
    group_checks(checks(config))
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        // Path halving keeps the trees flat.
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        // The smaller index is the root, so roots are stable and the
        // result does not depend on the order of unions.
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi] = lo;
    }
}

/// Matches new groups (their member names) to running nannies (slot id and
/// the names they watch). Returns, for each new group, the slot it keeps, or
/// `None` when it needs a new nanny. Slots that no group keeps are to be
/// stopped.
///
/// Pairs are taken by decreasing overlap (ties: earlier group, then lower
/// slot id), each slot and each group at most once. A group whose members
/// are exactly a slot's always keeps that slot: the groups are disjoint and
/// so are the slots, so that pair is the only one either of them has.
pub fn assign(old: &[(u64, BTreeSet<String>)], new: &[BTreeSet<String>]) -> Vec<Option<u64>> {
    let mut pairs: Vec<(usize, usize, u64)> = Vec::new();
    for (gi, g) in new.iter().enumerate() {
        for (id, members) in old {
            let overlap = g.intersection(members).count();
            if overlap > 0 {
                pairs.push((overlap, gi, *id));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut out = vec![None; new.len()];
    let mut used = BTreeSet::new();
    for (_, gi, id) in pairs {
        if out[gi].is_none() && !used.contains(&id) {
            out[gi] = Some(id);
            used.insert(id);
        }
    }
    out
}
