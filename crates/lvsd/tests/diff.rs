//! The diff against an in-memory model of the IPVS table (`Table::apply`
//! follows the kernel's rules: adding what exists or editing what does not
//! fails). Properties: apply(diff(A, B), A) == B; diff(A, A) is empty; an
//! entry present in both is never deleted; services not owned are never
//! touched; a changed scheduler or persistence is one EditService; CFG-P04
//! reload equivalence from lvs.cf text to lvs.cf text.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use ipvs::{Destination, Family, Forward, Netmask, Operation, Service, ServiceKey};
use lvsd::desired::{desired, Monitor};
use lvsd::diff::{diff, remove_owned};
use lvsd::ipvsadm::format_op;
use lvsd::table::Table;
use proptest::prelude::*;

fn ip(a: u8, b: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, a, 0, b))
}

fn key_strategy() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        (1u8..4, prop::sample::select(vec![80u16, 443]))
            .prop_map(|(b, p)| ServiceKey::Tcp(ip(0, b), p)),
        (1u8..3).prop_map(|b| ServiceKey::Udp(ip(0, b), 53)),
        (1u32..3).prop_map(|mark| ServiceKey::Fwmark {
            mark,
            family: Family::Inet
        }),
        Just(ServiceKey::Tcp("fd00::1".parse().unwrap_or(ip(9, 9)), 80)),
    ]
}

fn service_strategy(key: ServiceKey) -> impl Strategy<Value = Service> {
    (
        prop::sample::select(vec!["rr", "wlc", "sh", "wrr"]),
        prop::option::of(prop::sample::select(vec![60u32, 300])),
        any::<bool>(),
    )
        .prop_map(move |(sched, persist, mask)| {
            let mut s = Service::new(key, sched);
            if let Some(t) = persist {
                s = s.persistent(t);
                if mask && key.family() == Family::Inet {
                    s = s.netmask(Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)));
                }
            }
            s
        })
}

fn dest_strategy(v6: bool) -> impl Strategy<Value = Destination> {
    (
        1u8..6,
        prop::sample::select(vec![80u16, 8080]),
        prop::sample::select(vec![Forward::Masq, Forward::Route, Forward::Tunnel]),
        0i32..4,
    )
        .prop_map(move |(b, port, fwd, w)| {
            let addr = if v6 {
                format!("fd01::{b}").parse().unwrap_or(ip(1, b))
            } else {
                ip(1, b)
            };
            Destination::new(addr, port, fwd).weight(w)
        })
}

fn table_strategy() -> impl Strategy<Value = Table> {
    prop::collection::vec(
        key_strategy().prop_flat_map(|k| {
            let v6 = k.family() == Family::Inet6;
            (
                service_strategy(k),
                prop::collection::vec(dest_strategy(v6), 0..5),
            )
        }),
        0..7,
    )
    .prop_map(|entries| {
        let mut t = Table::new();
        for (s, dests) in entries {
            let e = t.insert_service(s);
            for d in dests {
                e.dests.insert((d.addr, d.port), d);
            }
        }
        t
    })
}

fn applied(a: &Table, ops: &[Operation]) -> Table {
    let mut t = a.clone();
    for op in ops {
        if let Err(e) = t.apply(op) {
            panic!("{} refused by the model: {e}", format_op(op));
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn apply_diff_gives_the_desired_table(a in table_strategy(), b in table_strategy()) {
        let ops = diff(&a, &b, |_| true);
        let got = applied(&a, &ops);
        prop_assert!(got.same_as(&b), "ops: {:?}", ops.iter().map(format_op).collect::<Vec<_>>());
    }

    #[test]
    fn diff_of_a_table_with_itself_is_empty(a in table_strategy()) {
        prop_assert!(diff(&a, &a, |_| true).is_empty());
    }

    #[test]
    fn entries_in_both_are_never_deleted(a in table_strategy(), b in table_strategy()) {
        for op in diff(&a, &b, |_| true) {
            match op {
                Operation::DelService(k) => prop_assert!(!b.services.contains_key(&k)),
                Operation::DelDest { service, addr, port } => {
                    let in_b = b.services.get(&service).is_some_and(|e| e.dests.contains_key(&(addr, port)));
                    prop_assert!(!in_b);
                }
                _ => {}
            }
        }
    }

    #[test]
    fn at_most_one_operation_per_entry(a in table_strategy(), b in table_strategy()) {
        let ops = diff(&a, &b, |_| true);
        let mut svc = BTreeSet::new();
        let mut dst = BTreeSet::new();
        for op in &ops {
            match op {
                Operation::AddService(s) | Operation::EditService(s) => prop_assert!(svc.insert(s.key)),
                Operation::DelService(k) => prop_assert!(svc.insert(*k)),
                Operation::AddDest(k, d) | Operation::EditDest(k, d) => prop_assert!(dst.insert((*k, d.addr, d.port))),
                Operation::DelDest { service, addr, port } => prop_assert!(dst.insert((*service, *addr, *port))),
                _ => {}
            }
        }
    }

    #[test]
    fn services_not_owned_are_untouched(a in table_strategy(), b in table_strategy(), foreign in table_strategy()) {
        // `foreign` holds services added by hand: not owned, not desired.
        let mut current = a.clone();
        let owned: BTreeSet<ServiceKey> = a.services.keys().chain(b.services.keys()).copied().collect();
        for (k, e) in foreign.services {
            if !owned.contains(&k) {
                current.services.insert(k, e);
            }
        }
        let ops = diff(&current, &b, |k| owned.contains(k));
        let got = applied(&current, &ops);
        for (k, e) in &current.services {
            if !owned.contains(k) {
                prop_assert_eq!(got.services.get(k), Some(e));
            }
        }
        let mut mine = got.clone();
        mine.services.retain(|k, _| owned.contains(k));
        prop_assert!(mine.same_as(&b));
        // Shutdown removes exactly the owned ones.
        let after = applied(&got, &remove_owned(&got, |k| owned.contains(k)));
        prop_assert!(after.services.keys().all(|k| !owned.contains(k)));
        prop_assert_eq!(after.services.len(), got.services.len() - mine.services.len());
    }
}

fn one_service(s: Service, dests: &[Destination]) -> Table {
    let mut t = Table::new();
    let e = t.insert_service(s);
    for d in dests {
        e.dests.insert((d.addr, d.port), d.clone());
    }
    t
}

#[test]
fn scheduler_or_persistence_change_is_one_edit() {
    let k = ServiceKey::Tcp(ip(0, 1), 80);
    let d = [Destination::new(ip(1, 1), 80, Forward::Masq)];
    let a = one_service(Service::new(k, "wlc"), &d);
    for b in [
        Service::new(k, "rr"),
        Service::new(k, "wlc").persistent(300),
        Service::new(k, "wlc")
            .persistent(300)
            .netmask(Netmask::V4(Ipv4Addr::new(255, 255, 0, 0))),
    ] {
        let ops = diff(&a, &one_service(b.clone(), &d), |_| true);
        assert_eq!(ops, vec![Operation::EditService(b)]);
    }
}

#[test]
fn weight_and_forwarding_changes_are_one_edit_dest() {
    let k = ServiceKey::Tcp(ip(0, 1), 80);
    let s = Service::new(k, "wlc");
    let a = one_service(s.clone(), &[Destination::new(ip(1, 1), 80, Forward::Masq)]);
    for d in [
        Destination::new(ip(1, 1), 80, Forward::Masq).weight(5),
        Destination::new(ip(1, 1), 80, Forward::Route),
        Destination::new(ip(1, 1), 80, Forward::Tunnel).weight(0),
    ] {
        let ops = diff(
            &a,
            &one_service(s.clone(), std::slice::from_ref(&d)),
            |_| true,
        );
        assert_eq!(ops, vec![Operation::EditDest(k, d)]);
    }
}

#[test]
fn a_local_real_server_is_not_edited_forever() {
    // The kernel reports "Local" for a real server on this host.
    let k = ServiceKey::Tcp(ip(0, 1), 80);
    let s = Service::new(k, "wlc");
    let a = one_service(s.clone(), &[Destination::new(ip(1, 1), 80, Forward::Local)]);
    let b = one_service(s, &[Destination::new(ip(1, 1), 80, Forward::Masq)]);
    assert!(diff(&a, &b, |_| true).is_empty());
}

#[test]
fn ops_are_ordered_deletes_first_and_adds_after_their_service() {
    let k1 = ServiceKey::Tcp(ip(0, 1), 80);
    let k2 = ServiceKey::Tcp(ip(0, 2), 80);
    let a = one_service(Service::new(k1, "wlc"), &[]);
    let b = one_service(
        Service::new(k2, "rr"),
        &[Destination::new(ip(1, 1), 80, Forward::Masq)],
    );
    let ops: Vec<String> = diff(&a, &b, |_| true).iter().map(format_op).collect();
    assert_eq!(
        ops,
        vec![
            "-D -t 10.0.0.1:80",
            "-A -t 10.0.0.2:80 -s rr",
            "-a -t 10.0.0.2:80 -r 10.1.0.1:80 -m -w 1",
        ]
    );
}

// ---- CFG-P04: reload equivalence, from lvs.cf text to lvs.cf text ----

#[derive(Debug, Clone)]
struct V {
    name: usize,
    active: bool,
    vip: u8,
    port: u16,
    udp: bool,
    fwmark: Option<u32>,
    sched: &'static str,
    persistent: u32,
    servers: Vec<(u8, u16, u32, bool)>,
}

fn v_strategy() -> impl Strategy<Value = V> {
    (
        0usize..6,
        prop::bool::weighted(0.85),
        1u8..4,
        prop::sample::select(vec![80u16, 443]),
        any::<bool>(),
        prop::option::weighted(0.2, 1u32..3),
        prop::sample::select(vec!["rr", "wlc", "lc", "sh"]),
        prop::sample::select(vec![0u32, 0, 300]),
        prop::collection::vec(
            (
                1u8..6,
                prop::sample::select(vec![80u16, 8080]),
                0u32..4,
                prop::bool::weighted(0.8),
            ),
            0..5,
        ),
    )
        .prop_map(
            |(name, active, vip, port, udp, fwmark, sched, persistent, servers)| V {
                name,
                active,
                vip,
                port,
                udp,
                fwmark,
                sched,
                persistent,
                servers,
            },
        )
}

fn lvs_cf(network: &str, vs: &[V]) -> String {
    let mut s = format!("serial_no = 1\nservice = lvs\nnetwork = {network}\n");
    let mut names = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for v in vs {
        // Names and services are unique in a valid file.
        let key = match v.fwmark {
            Some(m) => (0, m, 0, false),
            None => (v.vip, 0, v.port, v.udp),
        };
        if !names.insert(v.name) || !keys.insert(key) {
            continue;
        }
        s += &format!(
            "virtual v{} {{\n    active = {}\n    address = 10.0.0.{} eth0:1\n    port = {}\n    protocol = {}\n    scheduler = {}\n    persistent = {}\n",
            v.name,
            u8::from(v.active),
            v.vip,
            v.port,
            if v.udp { "udp" } else { "tcp" },
            v.sched,
            v.persistent
        );
        if let Some(m) = v.fwmark {
            s += &format!("    fwmark = {m}\n");
        }
        let mut seen = BTreeSet::new();
        for (i, (b, port, w, active)) in v.servers.iter().enumerate() {
            if !seen.insert((b, port)) {
                continue;
            }
            s += &format!(
                "    server r{i} {{\n        address = 10.1.0.{b}\n        active = {}\n        port = {port}\n        weight = {w}\n    }}\n",
                u8::from(*active)
            );
        }
        s += "}\n";
    }
    s
}

fn table_of(text: &str, current: &Table) -> (Table, BTreeSet<ServiceKey>) {
    let loaded = match lvscf_parser::parse("lvs.cf", text.as_bytes()) {
        Ok(l) => l,
        Err(e) => panic!("generated file does not load: {e}\n{text}"),
    };
    let d = desired(&loaded.config, Monitor::AssumeUp, current);
    (d.table, lvsd::desired::configured_keys(&loaded.config))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn cfg_p04_reload_equivalence(
        a in prop::collection::vec(v_strategy(), 0..6),
        b in prop::collection::vec(v_strategy(), 0..6),
        net_a in prop::sample::select(vec!["nat", "direct", "tunnel"]),
        net_b in prop::sample::select(vec!["nat", "direct", "tunnel"]),
    ) {
        let text_a = lvs_cf(net_a, &a);
        let text_b = lvs_cf(net_b, &b);
        let (state_a, owned_a) = table_of(&text_a, &Table::new());
        let (want_b, owned_b) = table_of(&text_b, &state_a);
        let owned: BTreeSet<ServiceKey> = owned_a.union(&owned_b).copied().collect();
        let ops = diff(&state_a, &want_b, |k| owned.contains(k));
        let got = applied(&state_a, &ops);
        prop_assert!(got.same_as(&want_b));
        // The same as building B from scratch.
        let (fresh_b, _) = table_of(&text_b, &Table::new());
        prop_assert!(got.same_as(&fresh_b));
        // Reloading B again changes nothing.
        let (again, _) = table_of(&text_b, &got);
        prop_assert!(diff(&got, &again, |k| owned.contains(k)).is_empty());
    }
}

#[test]
fn a_changed_pmask_is_one_edit_ipv4_and_ipv6() {
    let v4 = ServiceKey::Tcp(ip(0, 1), 80);
    let v6 = ServiceKey::Tcp(
        IpAddr::V6("fd00::1".parse().unwrap_or_else(|e| panic!("{e}"))),
        80,
    );
    let cases = [
        (
            v4,
            Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)),
            Netmask::V4(Ipv4Addr::new(255, 255, 0, 0)),
        ),
        (v6, Netmask::V6(64), Netmask::V6(48)),
        // From the host mask (no pmask) to a prefix, and back.
        (v6, Netmask::V6(128), Netmask::V6(64)),
        (v6, Netmask::V6(64), Netmask::V6(128)),
    ];
    for (k, from, to) in cases {
        let d = [Destination::new(ip(1, 1), 80, Forward::Masq)];
        let a = one_service(Service::new(k, "wlc").persistent(600).netmask(from), &d);
        let b = Service::new(k, "wlc").persistent(600).netmask(to);
        let ops = diff(&a, &one_service(b.clone(), &d), |_| true);
        assert_eq!(ops, vec![Operation::EditService(b)], "{from:?} -> {to:?}");
    }
}
