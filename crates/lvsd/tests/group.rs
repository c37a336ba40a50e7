//! Which virtual servers share a nanny: connected components of identical
//! real-server checks, and how a reload's groups keep the running nannies.

use std::collections::{BTreeMap, BTreeSet};

use lvsd::group::{assign, groups, Group};
use proptest::prelude::*;

fn load(text: &str) -> lvscf_parser::Config {
    match lvscf_parser::parse("lvs.cf", text.as_bytes()) {
        Ok(l) => l.config,
        Err(e) => panic!("{e}\n{text}"),
    }
}

/// A virtual server of a generated lvs.cf.
#[derive(Debug, Clone)]
struct V {
    port: u16,
    timeout: u32,
    expect: Option<&'static str>,
    fwmark: Option<u32>,
    /// (index into the server pool, port override)
    servers: Vec<(u8, Option<u16>)>,
    weight: u32,
}

fn server_addr(i: u8) -> String {
    format!("10.0.1.{}", i + 1)
}

fn render(vs: &[V]) -> String {
    let mut t = String::from("serial_no = 1\nservice = lvs\nnetwork = direct\n");
    for (i, v) in vs.iter().enumerate() {
        t += &format!("virtual v{i} {{\n    active = 1\n");
        t += &format!("    address = 10.0.0.{} eth0:1\n", 100 + i);
        if let Some(m) = v.fwmark {
            t += &format!("    fwmark = {m}\n");
        }
        t += &format!("    port = {}\n    timeout = {}\n", v.port, v.timeout);
        if let Some(e) = v.expect {
            t += &format!("    expect = \"{e}\"\n");
        }
        for (j, (s, port)) in v.servers.iter().enumerate() {
            t += &format!(
                "    server s{j} {{\n        address = {}\n        active = 1\n        weight = {}\n",
                server_addr(*s),
                v.weight
            );
            if let Some(p) = port {
                t += &format!("        port = {p}\n");
            }
            t += "    }\n";
        }
        t += "}\n";
    }
    t
}

/// The check a server of `v` gets, computed from the generator's
/// parameters (not through nanny): address, port checked, timeout and what
/// is sent and expected (port 80 without expect is Piranha's HTTP check).
fn oracle_key(v: &V, s: &(u8, Option<u16>)) -> String {
    let port = s.1.unwrap_or(v.port);
    let what = match (v.expect, v.port) {
        (Some(e), _) => format!("expect {e}"),
        (None, 80) => "http default".to_string(),
        (None, _) => "connect".to_string(),
    };
    format!("{}:{port} t{} {what}", server_addr(s.0), v.timeout)
}

/// Connected components by repeated merging: obviously right, slow.
fn oracle_groups(vs: &[V]) -> Vec<Vec<String>> {
    let mut parts: Vec<(BTreeSet<String>, Vec<usize>)> = vs
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.servers.is_empty())
        .map(|(i, v)| {
            (
                v.servers.iter().map(|s| oracle_key(v, s)).collect(),
                vec![i],
            )
        })
        .collect();
    loop {
        let mut merged = false;
        'outer: for a in 0..parts.len() {
            for b in a + 1..parts.len() {
                if !parts[a].0.is_disjoint(&parts[b].0) {
                    let (keys, members) = parts.remove(b);
                    parts[a].0.extend(keys);
                    parts[a].1.extend(members);
                    merged = true;
                    break 'outer;
                }
            }
        }
        if !merged {
            break;
        }
    }
    let out: Vec<Vec<usize>> = parts
        .into_iter()
        .map(|(_, mut m)| {
            m.sort();
            m
        })
        .collect();
    // Compared with the sorted result as names.
    let mut named: Vec<Vec<String>> = out
        .into_iter()
        .map(|m| m.into_iter().map(|i| format!("v{i}")).collect())
        .collect();
    named.sort();
    named
}

fn names(g: &[Group]) -> Vec<Vec<String>> {
    g.iter().map(|g| g.virtuals.clone()).collect()
}

fn v(port: u16, servers: &[(u8, Option<u16>)]) -> V {
    V {
        port,
        timeout: 6,
        expect: None,
        fwmark: None,
        servers: servers.to_vec(),
        weight: 1,
    }
}

#[test]
fn two_vips_over_the_same_servers_share_one_nanny() {
    let vs = [
        v(80, &[(0, None), (1, None)]),
        v(80, &[(0, None), (1, None)]),
    ];
    let g = groups(&load(&render(&vs)));
    assert_eq!(names(&g), vec![vec!["v0", "v1"]]);
    // Both virtuals are in the one job, in lvs.cf order, each with its
    // servers (reports name the virtual).
    let job = &g[0].job;
    assert_eq!(job.virtuals.len(), 2);
    assert_eq!(job.virtuals[0].name, "v0");
    assert_eq!(job.virtuals[1].name, "v1");
    assert_eq!(job.virtuals[1].servers.len(), 2);
}

#[test]
fn a_fwmark_and_a_vip_over_the_same_check_share_one_nanny() {
    let mut mark = v(80, &[(0, None)]);
    mark.fwmark = Some(7);
    let vs = [v(80, &[(0, None)]), mark];
    assert_eq!(names(&groups(&load(&render(&vs)))), vec![vec!["v0", "v1"]]);
}

#[test]
fn a_different_check_of_the_same_server_is_not_shared() {
    // Same real server and port, but another timeout, another expect, or
    // Piranha's port-80 HTTP default against a plain connect.
    let mut other_timeout = v(80, &[(0, None)]);
    other_timeout.timeout = 3;
    let mut other_expect = v(80, &[(0, None)]);
    other_expect.expect = Some("OK");
    let plain = v(8080, &[(0, Some(80))]);
    let vs = [v(80, &[(0, None)]), other_timeout, other_expect, plain];
    assert_eq!(
        names(&groups(&load(&render(&vs)))),
        vec![vec!["v0"], vec!["v1"], vec!["v2"], vec!["v3"]]
    );
}

#[test]
fn sharing_is_transitive_and_unrelated_virtuals_keep_their_own() {
    // v0 and v2 share s0, v2 and v3 share s1 (v1 is unrelated), v4 has no
    // real server and gets no nanny.
    let vs = [
        v(80, &[(0, None)]),
        v(80, &[(3, None)]),
        v(80, &[(0, None), (1, None)]),
        v(80, &[(1, None), (2, None)]),
        v(80, &[]),
    ];
    assert_eq!(
        names(&groups(&load(&render(&vs)))),
        vec![vec!["v0", "v2", "v3"], vec!["v1"]]
    );
}

#[test]
fn a_reload_touching_an_unrelated_virtual_keeps_every_other_slot_and_job() {
    let before = [
        v(80, &[(0, None), (1, None)]),
        v(80, &[(0, None), (1, None)]),
        v(80, &[(2, None)]),
    ];
    let mut after = before.clone();
    after[2].weight = 5;
    after[2].timeout = 2;
    let g0 = groups(&load(&render(&before)));
    let g1 = groups(&load(&render(&after)));
    let slots: Vec<(u64, BTreeSet<String>)> = g0
        .iter()
        .enumerate()
        .map(|(i, g)| (10 + i as u64, g.virtuals.iter().cloned().collect()))
        .collect();
    let new: Vec<BTreeSet<String>> = g1
        .iter()
        .map(|g| g.virtuals.iter().cloned().collect())
        .collect();
    assert_eq!(assign(&slots, &new), vec![Some(10), Some(11)]);
    // The shared group's job line is byte for byte the same: its nanny is
    // sent nothing.
    assert_eq!(g0[0].job.to_line(), g1[0].job.to_line());
    assert_ne!(g0[1].job.to_line(), g1[1].job.to_line());
}

#[test]
fn merge_and_split_keep_the_nanny_with_the_largest_overlap() {
    let set = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<BTreeSet<_>>();
    let old = vec![
        (1, set(&["a", "b"])),
        (2, set(&["c"])),
        (3, set(&["d", "e"])),
    ];
    // a,b,c merge (keeps slot 1); d and e split (d's group is first, so it
    // keeps slot 3 on the tie); f is new.
    let new = vec![set(&["a", "b", "c"]), set(&["d"]), set(&["e"]), set(&["f"])];
    assert_eq!(assign(&old, &new), vec![Some(1), Some(3), None, None]);
}

fn arb_v() -> impl Strategy<Value = V> {
    (
        prop::sample::select(vec![80u16, 8080]),
        prop::sample::select(vec![1u32, 2]),
        prop::option::of(prop::sample::select(vec!["HTTP", "OK"])),
        prop::collection::btree_map(0u8..6, prop::option::of(Just(80u16)), 0..4),
        1u32..3,
    )
        .prop_map(|(port, timeout, expect, servers, weight)| V {
            port,
            timeout,
            expect,
            fwmark: None,
            servers: servers.into_iter().collect(),
            weight,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The groups are exactly the connected components of shared checks:
    /// every check is in one group only, every checkable virtual in
    /// exactly one group, and no group could be split.
    #[test]
    fn groups_are_the_components_of_shared_checks(vs in prop::collection::vec(arb_v(), 0..12)) {
        let g = groups(&load(&render(&vs)));
        let mut got = names(&g);
        got.sort();
        prop_assert_eq!(got, oracle_groups(&vs));
        // Each group lists its members in lvs.cf order and the groups come
        // in order of their first member.
        let idx = |n: &str| n[1..].parse::<usize>().unwrap_or(usize::MAX);
        for grp in &g {
            prop_assert!(grp.virtuals.windows(2).all(|w| idx(&w[0]) < idx(&w[1])));
            let in_job: Vec<String> = grp.job.virtuals.iter().map(|c| c.name.clone()).collect();
            prop_assert_eq!(&in_job, &grp.virtuals);
        }
        prop_assert!(g.windows(2).all(|w| idx(&w[0].virtuals[0]) < idx(&w[1].virtuals[0])));
        // One nanny per check: no oracle key is in two groups.
        let mut owner: BTreeMap<String, usize> = BTreeMap::new();
        for (gi, grp) in g.iter().enumerate() {
            for name in &grp.virtuals {
                let v = &vs[idx(name)];
                for s in &v.servers {
                    let k = oracle_key(v, s);
                    prop_assert_eq!(*owner.entry(k).or_insert(gi), gi);
                }
            }
        }
    }

    /// Slots go to groups one to one; a group identical to a slot keeps it;
    /// a group that shares nothing with any slot gets a new nanny.
    #[test]
    fn assign_is_one_to_one_and_keeps_unchanged_groups(
        old_of in prop::collection::vec(0usize..5, 0..10),
        new_of in prop::collection::vec(0usize..5, 0..10),
    ) {
        let partition = |of: &[usize]| {
            let mut p: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
            for (i, part) in of.iter().enumerate() {
                p.entry(*part).or_default().insert(format!("v{i}"));
            }
            p.into_values().collect::<Vec<_>>()
        };
        let old: Vec<(u64, BTreeSet<String>)> = partition(&old_of)
            .into_iter()
            .enumerate()
            .map(|(i, s)| (100 + i as u64, s))
            .collect();
        let new = partition(&new_of);
        let a = assign(&old, &new);
        prop_assert_eq!(a.len(), new.len());
        let used: Vec<u64> = a.iter().flatten().copied().collect();
        let distinct: BTreeSet<u64> = used.iter().copied().collect();
        prop_assert_eq!(used.len(), distinct.len());
        for (g, slot) in new.iter().zip(&a) {
            if let Some((id, _)) = old.iter().find(|(_, s)| s == g) {
                prop_assert_eq!(*slot, Some(*id));
            }
            if old.iter().all(|(_, s)| s.is_disjoint(g)) {
                prop_assert_eq!(*slot, None);
            }
            if let Some(id) = slot {
                let Some((_, s)) = old.iter().find(|(i, _)| i == id) else {
                    return Err(TestCaseError::fail("unknown slot"));
                };
                prop_assert!(!s.is_disjoint(g));
            }
        }
    }
}

/// A random nanny check: few addresses, ports and check texts so that
/// sharing happens, with `send_program` (`%h`/`%p` make its check depend on
/// the server), regexes (one invalid) and UDP.
fn arb_check(name: usize) -> impl Strategy<Value = nanny::protocol::VirtualCheck> {
    let text = || prop::option::of(prop::sample::select(vec!["HTTP", "OK", "", "(", "\\r\\n"]));
    (
        prop::sample::select(vec![80u16, 8080]),
        prop::bool::ANY,
        1u32..3,
        text(),
        text(),
        prop::bool::ANY,
        prop::option::of(prop::sample::select(vec![
            "/bin/check %h %p",
            "/bin/check",
            "",
            "/bin/other %h",
        ])),
        prop::collection::btree_map(0u8..4, prop::option::of(Just(80u16)), 0..3),
    )
        .prop_map(
            move |(port, udp, timeout, send, expect, use_regex, program, servers)| {
                nanny::protocol::VirtualCheck {
                    name: format!("v{name}"),
                    vip: None,
                    port,
                    protocol: if udp {
                        nanny::protocol::Protocol::Udp
                    } else {
                        nanny::protocol::Protocol::Tcp
                    },
                    fwmark: None,
                    timeout,
                    reentry: 180,
                    quiesce: false,
                    load_monitor: "none".into(),
                    rsh_command: "rsh".into(),
                    scale: 10,
                    send: send.map(str::to_string),
                    expect: expect.map(str::to_string),
                    use_regex,
                    suppress_escapes: false,
                    send_program: program.map(str::to_string),
                    check: None,
                    servers: servers
                        .into_iter()
                        .enumerate()
                        .map(|(j, (a, port))| nanny::protocol::ServerCheck {
                            name: format!("s{j}"),
                            address: server_addr(a).parse().unwrap_or_else(|e| panic!("{e}")),
                            port,
                            weight: 1,
                            kernel_weight: None,
                        })
                        .collect(),
                }
            },
        )
}

fn arb_checks() -> impl Strategy<Value = Vec<nanny::protocol::VirtualCheck>> {
    (0usize..10).prop_flat_map(|n| (0..n).map(arb_check).collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// lvsd's cheap check keys group exactly as nanny's own check
    /// definitions (`nanny::check::resolve`, per server) do.
    #[test]
    fn grouping_matches_nanny_check_specs(checks in arb_checks()) {
        let checks: Vec<_> = checks.into_iter().filter(|c| !c.servers.is_empty()).collect();
        // The oracle: merge virtuals while two share a resolved spec.
        let specs: Vec<BTreeSet<String>> = checks
            .iter()
            .map(|vc| {
                vc.servers
                    .iter()
                    .map(|s| format!("{:?}", nanny::check::resolve(vc, s, &mut |t: &str| Ok::<_, String>(std::path::PathBuf::from(t))).spec))
                    .collect()
            })
            .collect();
        let mut parts: Vec<(BTreeSet<String>, BTreeSet<String>)> = checks
            .iter()
            .zip(specs)
            .map(|(vc, sp)| (sp, BTreeSet::from([vc.name.clone()])))
            .collect();
        let mut merged = true;
        while merged {
            merged = false;
            'outer: for a in 0..parts.len() {
                for b in a + 1..parts.len() {
                    if !parts[a].0.is_disjoint(&parts[b].0) {
                        let (sp, names) = parts.remove(b);
                        parts[a].0.extend(sp);
                        parts[a].1.extend(names);
                        merged = true;
                        break 'outer;
                    }
                }
            }
        }
        let want: BTreeSet<BTreeSet<String>> = parts.into_iter().map(|(_, n)| n).collect();
        let got: BTreeSet<BTreeSet<String>> = lvsd::group::group_checks(checks)
            .into_iter()
            .map(|g| g.virtuals.into_iter().collect())
            .collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn send_program_checks_are_per_server() {
    // x checks s0 and s1 with a program that names the server; y checks s1
    // with the same program: they share s1's check (same argv), so one
    // nanny. z runs it for s0 alone with another timeout: its own nanny.
    let prog = |name: &str, servers: &[u8], timeout: u32| {
        let mut t = format!(
            "virtual {name} {{\n    active = 1\n    address = 10.0.0.{} eth0:1\n    port = 80\n    timeout = {timeout}\n    send_program = \"/bin/check %h %p\"\n    expect = \"OK\"\n",
            100 + name.as_bytes()[0] - b'x'
        );
        for (j, s) in servers.iter().enumerate() {
            t += &format!(
                "    server s{j} {{\n        address = {}\n        active = 1\n    }}\n",
                server_addr(*s)
            );
        }
        t + "}\n"
    };
    let text = format!(
        "serial_no = 1\nservice = lvs\nnetwork = direct\n{}{}{}",
        prog("x", &[0, 1], 6),
        prog("y", &[1], 6),
        prog("z", &[0], 3)
    );
    assert_eq!(
        names(&groups(&load(&text))),
        vec![vec!["x", "y"], vec!["z"]]
    );
}
