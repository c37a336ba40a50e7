//! lvs.cf + nanny reports -> desired table; sorry server; quiesce; servers
//! nanny has not decided on; nanny jobs; the status JSON shape; ipvsadm
//! lines.

use std::net::IpAddr;

use ipvs::{Destination, Forward, Operation, ServiceKey};
use lvs_status::Request;
use lvsd::desired::{desired, timeouts_change, Monitor};
use lvsd::diff::diff;
use lvsd::group::groups;
use lvsd::health::{Applied, Health};
use lvsd::ipvsadm::format_op;
use lvsd::jobs::with_kernel_weights;
use lvsd::status::status;
use lvsd::table::Table;
use nanny::protocol::{EventReport, Report, ServerReport, State};

const CF: &str = r#"
serial_no = 1
service = lvs
network = nat
tcp_timeout = 900
virtual web {
    active = 1
    address = 10.0.0.100 eth0:1
    port = 80
    scheduler = wlc
    persistent = 300
    pmask = 255.255.255.0
    sorry_server = 10.0.9.9
    server r1 {
        address = 10.0.1.11
        active = 1
        weight = 4
    }
    server r2 {
        address = 10.0.1.12
        active = 1
        port = 8080
    }
    server r3 {
        address = 10.0.1.13
        active = 0
    }
}
virtual q {
    active = 1
    address = 10.0.0.101 eth0:2
    port = 443
    quiesce_server = 1
    server a {
        address = 10.0.2.1
        active = 1
    }
}
virtual six {
    active = 1
    address = fd00::1 eth0
    protocol = udp
    port = 53
    scheduler = rr
    server s {
        address = fd01::2
        active = 1
    }
}
virtual mark {
    active = 1
    address = 10.0.0.102 eth0:3
    fwmark = 5
    server m {
        address = 10.0.3.1
        active = 1
    }
}
virtual off {
    active = 0
    address = 10.0.0.103 eth0:4
    server o {
        address = 10.0.4.1
        active = 1
    }
}
"#;

fn cfg() -> lvscf_parser::Config {
    match lvscf_parser::parse("lvs.cf", CF.as_bytes()) {
        Ok(l) => l.config,
        Err(e) => panic!("{e}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|_| panic!("{s}"))
}

fn web() -> ServiceKey {
    ServiceKey::Tcp(ip("10.0.0.100"), 80)
}

fn up(v: &str, s: &str, a: &str, port: u16, w: u32) -> Report {
    Report::Server(ServerReport {
        virtual_name: v.into(),
        server: s.into(),
        address: ip(a),
        port,
        state: State::Up,
        weight: w,
        reason: None,
    })
}

fn down(v: &str, s: &str, a: &str, port: u16) -> Report {
    Report::Server(ServerReport {
        virtual_name: v.into(),
        server: s.into(),
        address: ip(a),
        port,
        state: State::Down,
        weight: 0,
        reason: Some("connection refused".into()),
    })
}

fn done() -> Report {
    Report::Event(EventReport {
        event: "initial-round-done".into(),
        job: Some(1),
        error: None,
    })
}

#[test]
fn without_monitor_every_active_server_is_up() {
    let c = cfg();
    let d = desired(&c, Monitor::AssumeUp, &Table::new());
    let plan: Vec<String> = diff(&Table::new(), &d.table, |_| true)
        .iter()
        .map(format_op)
        .collect();
    let want = [
        "-A -t 10.0.0.100:80 -s wlc -p 300 -M 255.255.255.0",
        "-a -t 10.0.0.100:80 -r 10.0.1.11:80 -m -w 4",
        "-a -t 10.0.0.100:80 -r 10.0.1.12:8080 -m -w 1",
        "-A -t 10.0.0.101:443 -s wlc",
        "-a -t 10.0.0.101:443 -r 10.0.2.1:443 -m -w 1",
        "-A -u [fd00::1]:53 -s rr",
        "-a -u [fd00::1]:53 -r [fd01::2]:53 -m -w 1",
        "-A -f 5 -s wlc",
        "-a -f 5 -r 10.0.3.1:80 -m -w 1",
    ];
    let mut plan_sorted = plan.clone();
    plan_sorted.sort();
    let mut want_sorted: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want_sorted.sort();
    assert_eq!(plan_sorted, want_sorted, "{plan:#?}");
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}

/// `pmask = 64` on a persistent IPv6 virtual is the service's netmask as a
/// prefix length, printed as ipvsadm does (`-M 64`); a changed pmask from
/// lvs.cf is one -E.
#[test]
fn ipv6_pmask_is_a_prefix_length_and_a_change_is_one_edit() {
    let text = |pmask: &str| {
        format!(
            "serial_no = 1\nservice = lvs\nnetwork = direct\nvirtual v6 {{\n    active = 1\n    \
             address = fd00::101 eth0\n    port = 80\n    persistent = 600\n{pmask}    \
             server p {{\n        address = fd01::3\n        active = 1\n    }}\n}}\n"
        )
    };
    let load = |t: String| match lvscf_parser::parse("lvs.cf", t.as_bytes()) {
        Ok(l) => l.config,
        Err(e) => panic!("{e}\n{t}"),
    };
    let k = ServiceKey::Tcp(ip("fd00::101"), 80);
    let plan = |c: &lvscf_parser::Config, current: &Table| {
        let d = desired(c, Monitor::AssumeUp, current);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        (diff(current, &d.table, |_| true), d.table)
    };
    let (ops, t64) = plan(&load(text("    pmask = 64\n")), &Table::new());
    assert_eq!(t64.services[&k].service.netmask, ipvs::Netmask::V6(64));
    assert_eq!(
        format_op(&ops[0]),
        "-A -t [fd00::101]:80 -s wlc -p 600 -M 64"
    );
    // No pmask: the host mask, which ipvsadm does not print.
    let (ops, _) = plan(&load(text("")), &Table::new());
    assert_eq!(format_op(&ops[0]), "-A -t [fd00::101]:80 -s wlc -p 600");
    // 64 -> 48 against the table with 64: one edit.
    let (ops, _) = plan(&load(text("    pmask = 48\n")), &t64);
    let shown: Vec<String> = ops.iter().map(format_op).collect();
    assert_eq!(shown, vec!["-E -t [fd00::101]:80 -s wlc -p 600 -M 48"]);
}

#[test]
fn nanny_reports_drive_the_table_and_the_sorry_server() {
    let c = cfg();
    let mut h = Health::new();
    let watched = vec!["web".to_string()];
    // Before any report: nothing added, and no sorry server yet (the first
    // round is not over).
    let d = desired(&c, Monitor::Reports(&h), &Table::new());
    assert!(d.table.services[&web()].dests.is_empty());
    // r1 up at weight 1 (ramp start), r2 down, round done.
    assert!(matches!(
        h.apply(&up("web", "r1", "10.0.1.11", 80, 1), &watched, &c),
        Applied::Changed { .. }
    ));
    assert_eq!(
        h.apply(&up("web", "r1", "10.0.1.11", 80, 1), &watched, &c),
        Applied::Unchanged
    );
    h.apply(&down("web", "r2", "10.0.1.12", 8080), &watched, &c);
    assert_eq!(
        h.apply(&done(), &watched, &c),
        Applied::InitialRoundDone(vec!["web".into()])
    );
    let d = desired(&c, Monitor::Reports(&h), &Table::new());
    let dests: Vec<_> = d.table.services[&web()]
        .dests
        .values()
        .map(|d| (d.addr, d.port, d.weight))
        .collect();
    assert_eq!(dests, vec![(ip("10.0.1.11"), 80, 1)]);
    // r1 goes down too: the sorry server comes in (port = virtual port, weight 1).
    h.apply(&down("web", "r1", "10.0.1.11", 80), &watched, &c);
    let d2 = desired(&c, Monitor::Reports(&h), &d.table);
    let dests: Vec<_> = d2.table.services[&web()]
        .dests
        .values()
        .map(|d| (d.addr, d.port, d.weight))
        .collect();
    assert_eq!(dests, vec![(ip("10.0.9.9"), 80, 1)]);
    assert_eq!(d2.info[&web()].sorry_active, Some(ip("10.0.9.9")));
    let ops: Vec<String> = diff(&d.table, &d2.table, |_| true)
        .iter()
        .map(format_op)
        .collect();
    assert_eq!(
        ops,
        vec![
            "-d -t 10.0.0.100:80 -r 10.0.1.11:80",
            "-a -t 10.0.0.100:80 -r 10.0.9.9:80 -m -w 1"
        ]
    );
    // r2 back: the sorry server leaves.
    h.apply(&up("web", "r2", "10.0.1.12", 8080, 1), &watched, &c);
    let d3 = desired(&c, Monitor::Reports(&h), &d2.table);
    let ops: Vec<String> = diff(&d2.table, &d3.table, |_| true)
        .iter()
        .map(format_op)
        .collect();
    assert_eq!(
        ops,
        vec![
            "-d -t 10.0.0.100:80 -r 10.0.9.9:80",
            "-a -t 10.0.0.100:80 -r 10.0.1.12:8080 -m -w 1"
        ]
    );
}

#[test]
fn reports_that_do_not_match_the_configuration_are_ignored() {
    let c = cfg();
    let mut h = Health::new();
    let watched = vec!["web".to_string()];
    // Wrong address for r1 (a reload changed it), unknown server, inactive
    // server, and a virtual this nanny does not watch.
    for r in [
        up("web", "r1", "10.0.1.99", 80, 1),
        up("web", "nope", "10.0.1.11", 80, 1),
        up("web", "r3", "10.0.1.13", 80, 1),
        up("q", "a", "10.0.2.1", 443, 1),
    ] {
        assert!(
            matches!(h.apply(&r, &watched, &c), Applied::Ignored(_)),
            "{r:?}"
        );
    }
}

#[test]
fn undecided_servers_keep_their_kernel_entry() {
    // lvsd restarted (or nanny restarted): the kernel has r1 at weight 3;
    // nanny has not reported yet; r1 stays as it is, r2 is not added.
    let c = cfg();
    let h = Health::new();
    let mut current = desired(&c, Monitor::AssumeUp, &Table::new()).table;
    if let Some(e) = current.services.get_mut(&web()) {
        e.dests.retain(|(a, _), _| *a == ip("10.0.1.11"));
        e.dests.insert(
            (ip("10.0.1.11"), 80),
            Destination::new(ip("10.0.1.11"), 80, Forward::Masq).weight(3),
        );
    }
    let d = desired(&c, Monitor::Reports(&h), &current);
    let ops = diff(&current, &d.table, |_| true);
    let web_ops: Vec<&Operation> = ops
        .iter()
        .filter(|o| matches!(o, Operation::AddDest(k, _) | Operation::EditDest(k, _) | Operation::DelDest { service: k, .. } if *k == web()))
        .collect();
    assert!(web_ops.is_empty(), "{web_ops:?}");
    // And a restarted nanny is told the weight it should resume at.
    let g = groups(&c);
    let Some(web_group) = g.iter().find(|g| g.virtuals == ["web"]) else {
        panic!("no group of web alone: {g:?}");
    };
    let j = with_kernel_weights(&web_group.job, &c, &current);
    let r1 = j.virtuals[0]
        .servers
        .iter()
        .find(|s| s.name == "r1")
        .map(|s| s.kernel_weight);
    assert_eq!(r1, Some(Some(3)));
}

#[test]
fn quiesce_keeps_a_down_server_at_weight_zero() {
    let c = cfg();
    let mut h = Health::new();
    let watched = vec!["q".to_string()];
    h.apply(&down("q", "a", "10.0.2.1", 443), &watched, &c);
    let d = desired(&c, Monitor::Reports(&h), &Table::new());
    let k = ServiceKey::Tcp(ip("10.0.0.101"), 443);
    let w: Vec<i32> = d.table.services[&k]
        .dests
        .values()
        .map(|d| d.weight)
        .collect();
    assert_eq!(w, vec![0]);
}

#[test]
fn one_job_per_active_virtual_when_no_check_is_shared() {
    let c = cfg();
    let g = groups(&c);
    // lvs.cf order; "off" is inactive.
    assert_eq!(
        g.iter().map(|g| g.virtuals.clone()).collect::<Vec<_>>(),
        vec![vec!["web"], vec!["q"], vec!["six"], vec!["mark"]]
    );
    let web = &g[0].job.virtuals[0];
    assert_eq!(web.servers.len(), 2);
    assert_eq!(web.servers[1].port, Some(8080));
    assert_eq!(web.timeout, 10);
    assert_eq!(web.reentry, 180);
    // The job line is what nanny parses.
    let line = g[0].job.to_line();
    assert!(nanny::protocol::Job::from_line(&line).is_ok());
}

#[test]
fn timeouts_only_when_configured_and_changed() {
    let c = cfg();
    let t = timeouts_change(
        &c,
        ipvs::Timeouts {
            tcp: 60,
            tcpfin: 120,
            udp: 300,
        },
    );
    assert_eq!(
        t,
        Some(ipvs::Timeouts {
            tcp: 900,
            tcpfin: 0,
            udp: 0
        })
    );
    assert_eq!(
        timeouts_change(
            &c,
            ipvs::Timeouts {
                tcp: 900,
                tcpfin: 1,
                udp: 1
            }
        ),
        None
    );
}

#[test]
fn status_has_the_documented_shape() {
    let c = cfg();
    let d = desired(&c, Monitor::AssumeUp, &Table::new());
    let order: Vec<String> = c.virtuals.iter().map(|v| v.name.clone()).collect();
    let s = status(&d.table, &d, None, &order, std::time::Instant::now());
    let json = match serde_json::to_value(&s) {
        Ok(j) => j,
        Err(e) => panic!("{e}"),
    };
    let first = &json["services"][0];
    assert_eq!(first["virtual"], "web");
    assert_eq!(first["protocol"], "tcp");
    assert_eq!(first["address"], "10.0.0.100");
    assert_eq!(first["port"], 80);
    assert!(first["fwmark"].is_null());
    assert_eq!(first["scheduler"], "wlc");
    assert_eq!(first["persistent"], 300);
    for k in [
        "conns", "inpkts", "outpkts", "inbytes", "outbytes", "cps", "inpps", "outpps", "inbps",
        "outbps",
    ] {
        assert_eq!(first["stats"][k], 0, "{k}");
    }
    let r1 = &first["servers"][0];
    assert_eq!(r1["server"], "r1");
    assert_eq!(r1["address"], "10.0.1.11");
    assert_eq!(r1["port"], 80);
    assert_eq!(r1["state"], "up");
    assert_eq!(r1["weight"], 4);
    assert_eq!(r1["active_conns"], 0);
    assert_eq!(r1["inactive_conns"], 0);
    assert_eq!(r1["in_kernel"], true);
    // Without health checks there is no report to date.
    assert!(r1["since_ms"].is_null() && r1["report_age_ms"].is_null());
    assert!(r1["reason"].is_null());
    assert_eq!(json["services"][3]["fwmark"], 5);
    assert!(Request::parse("{\"cmd\":\"status\"}\n").is_ok());
    assert!(Request::parse("{\"cmd\":\"flush\"}").is_err());
    assert!(Request::parse("garbage").is_err());
}

/// The status says why a server is down, how long it has been in its
/// state, how old nanny's latest report is, and whether the kernel has it
/// (a quiesced server stays at weight 0).
#[test]
fn status_tells_reason_time_in_state_and_kernel_presence() {
    use std::time::{Duration, Instant};
    let c = cfg();
    let mut h = Health::new();
    let (web_v, q_v) = (vec!["web".to_string()], vec!["q".to_string()]);
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    h.apply_at(&up("web", "r1", "10.0.1.11", 80, 1), &web_v, &c, at(0));
    // The ramp (a new weight, still up) is a newer report, not a new state.
    h.apply_at(&up("web", "r1", "10.0.1.11", 80, 2), &web_v, &c, at(10));
    h.apply_at(&down("web", "r2", "10.0.1.12", 8080), &web_v, &c, at(5));
    h.apply_at(&down("q", "a", "10.0.2.1", 443), &q_v, &c, at(20));
    h.apply_at(&done(), &web_v, &c, at(20));
    h.apply_at(&done(), &q_v, &c, at(20));
    let d = desired(&c, Monitor::Reports(&h), &Table::new());
    let order: Vec<String> = c.virtuals.iter().map(|v| v.name.clone()).collect();
    let s = status(&d.table, &d, Some(&h), &order, at(30));
    let web = &s.services[0];
    let (r1, r2) = (&web.servers[0], &web.servers[1]);
    assert_eq!(
        (r1.since_ms, r1.report_age_ms),
        (Some(30_000), Some(20_000))
    );
    assert_eq!(
        (r1.in_kernel, r1.weight, r1.reason.as_deref()),
        (true, 2, None)
    );
    assert_eq!(r2.reason.as_deref(), Some("connection refused"));
    assert_eq!((r2.since_ms, r2.in_kernel), (Some(25_000), false));
    let q = &s.services[1].servers[0];
    assert_eq!(q.state, lvs_status::lvsd::ServerState::Down);
    assert_eq!(
        (q.in_kernel, q.weight),
        (true, 0),
        "quiesced: kept at weight 0"
    );
    // Back up: the reason goes, the time in state starts again.
    h.apply_at(&up("web", "r2", "10.0.1.12", 8080, 1), &web_v, &c, at(40));
    let d = desired(&c, Monitor::Reports(&h), &Table::new());
    let s = status(&d.table, &d, Some(&h), &order, at(41));
    let r2 = &s.services[0].servers[1];
    assert_eq!((r2.reason.as_deref(), r2.since_ms), (None, Some(1_000)));
    // A server the configuration no longer has is forgotten with its note.
    let text = CF.replace("address = 10.0.1.12", "address = 10.0.1.99");
    let c2 = match lvscf_parser::parse("lvs.cf", text.as_bytes()) {
        Ok(l) => l.config,
        Err(e) => panic!("{e}"),
    };
    h.retain_configured(&c2);
    let id = lvsd::health::ServerId {
        virtual_name: "web".into(),
        server: "r2".into(),
        addr: ip("10.0.1.12"),
        port: 8080,
    };
    assert!(h.note(&id).is_none());
}

#[test]
fn a_reload_forgets_exactly_the_servers_it_removed_or_changed() {
    let c = cfg();
    let mut h = Health::new();
    let web = vec!["web".to_string()];
    let q = vec!["q".to_string()];
    h.apply(&up("web", "r1", "10.0.1.11", 80, 4), &web, &c);
    h.apply(&up("web", "r2", "10.0.1.12", 8080, 1), &web, &c);
    h.apply(&up("q", "a", "10.0.2.1", 443, 1), &q, &c);
    h.apply(&done(), &web, &c);
    h.apply(&done(), &q, &c);
    // r2 gets another address, r1 stays, virtual q is removed.
    let text = CF
        .replace("address = 10.0.1.12", "address = 10.0.1.99")
        .replace("virtual q {\n    active = 1", "virtual q {\n    active = 0");
    let c2 = match lvscf_parser::parse("lvs.cf", text.as_bytes()) {
        Ok(l) => l.config,
        Err(e) => panic!("{e}"),
    };
    h.retain_configured(&c2);
    let id = |v: &str, s: &str, a: &str, port: u16| lvsd::health::ServerId {
        virtual_name: v.into(),
        server: s.into(),
        addr: ip(a),
        port,
    };
    assert_eq!(
        h.state(&id("web", "r1", "10.0.1.11", 80)),
        Some(lvsd::health::ServerState::Up(4))
    );
    assert_eq!(h.state(&id("web", "r2", "10.0.1.12", 8080)), None);
    assert_eq!(h.state(&id("q", "a", "10.0.2.1", 443)), None);
    assert!(h.initial_done("web"));
    assert!(!h.initial_done("q"));
}
